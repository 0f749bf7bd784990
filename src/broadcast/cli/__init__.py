"""The ``broadcast`` command: a thin layer over the library.

Each subcommand lives in its own module and imports the library only when it runs,
so ``broadcast --help`` loads click and nothing else of weight.
"""

from __future__ import annotations

import click

from .._version import __version__
from ._check import check
from ._common import Settings, guarded, setup_logging
from ._distributed import status, worker
from ._journal import history, overdue, settle
from ._page import page
from ._send import preview, send

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="broadcast")
@click.option(
    "--config",
    metavar="FILE",
    envvar="BROADCAST_CONFIG",
    help="The broadcast.toml to read (default: ./broadcast.toml if present).",
)
@click.option(
    "--env-file",
    default=".env",
    show_default=True,
    help="Variables file read under the environment.",
)
@click.option("-v", "--verbose", count=True, help="Log what happens on stderr (-vv: debug).")
@click.option("--debug", is_flag=True, help="Log everything on stderr (same as -vv).")
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only errors (and --json output); same exit codes."
)
@click.pass_context
def main(
    ctx: click.Context,
    /,
    *,
    config: str | None,
    env_file: str,
    verbose: int,
    debug: bool,
    quiet: bool,
) -> None:
    """Send one crisis update to every outlet: email, X, Facebook, webhooks, SMS.

    Tell everyone, early and often, consistently, everywhere they are.

    Start with `broadcast demo`, then `broadcast preview "We are investigating."`.

    Exit status: 0 delivered, 1 a channel failed, 2 usage, configuration or input error,
    3 busy elsewhere, 4 answered no; see `broadcast send --help`.
    """
    if quiet and (verbose or debug):
        raise click.UsageError("give -q (quiet) or -v / --debug (verbose), not both")
    settings = ctx.ensure_object(Settings)
    settings.config = config
    settings.env_file = env_file
    settings.verbose = 2 if debug else verbose
    settings.quiet = quiet
    setup_logging(settings)


@main.command()
@guarded
def demo() -> None:
    """Replay the 2011 PSN outage against local stand-ins on 127.0.0.1."""
    from ..demo import main as run_demo  # noqa: PLC0415 - keep --help fast

    raise click.exceptions.Exit(run_demo())


for _command in (send, preview, check, history, overdue, settle, page, worker, status):
    main.add_command(_command)
