"""What every command shares: options, error handling, exit codes, logging, output.

Exit codes: 0 everything delivered (or already delivered), 1 some channel failed
(or, for ``overdue``, some incident is late), 2 a usage, configuration or input error
(for ``send --dry-run``, an invalid recipient line too), 3 another process is sending
the update, 4 the question "Send this?" was answered no, 128 + N stopped by signal N.
Only click and the standard library are imported here, so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..config._load import Config

__all__ = [
    "EXIT_BUSY",
    "EXIT_DECLINED",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_SIGNALLED",
    "EXIT_USAGE",
    "Settings",
    "fail",
    "guarded",
    "only_option",
    "pass_settings",
    "to_option",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3
EXIT_DECLINED = 4
"""The person at the terminal answered no to "Send this?" (or Ctrl-D): nothing was sent."""
EXIT_SIGNALLED = 128
"""Plus the signal's number: 130 after Ctrl-C (SIGINT), 143 after SIGTERM."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    """The group's options, handed to every command."""

    config: str | None = None
    env_file: str = ".env"
    verbose: int = 0
    quiet: bool = False
    """``-q``: print only errors (and what ``--json`` asks for); exit codes unchanged."""

    def load(self, *, require_secrets: bool = True, allow_empty: bool = False) -> Config:
        """The configuration; its credentials are masked in everything printed from now on."""
        from .._redact import register_secret  # noqa: PLC0415
        from ..config._load import load_config  # noqa: PLC0415 - keep --help fast

        config = load_config(
            self.config,
            env_file=self.env_file,
            require_secrets=require_secrets,
            allow_empty=allow_empty,
        )
        register_secret(*config.secrets)
        return config

    @staticmethod
    def mask(text: str) -> str:
        """``text`` with every configured credential (and its encoded forms) masked."""
        from .._redact import redact  # noqa: PLC0415

        return redact(text)


pass_settings = click.make_pass_decorator(Settings, ensure=True)
only_option = click.option(
    "--only", metavar="NAMES", help="Only these channels, by name: --only twitter,email."
)
to_option = click.option(
    "--to", metavar="TAGS", help="Only channels with one of these tags: --to affected."
)


def fail(message: str, code: int = EXIT_USAGE) -> click.exceptions.Exit:
    """Print ``error: message`` to stderr; return the exit to raise."""
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(code)


def guarded(command: F) -> F:
    """Turn the library's errors into one clear line and the right exit code.

    Configuration, input and journal errors exit 2 (nothing was sent); a bug exits 1
    with a masked one-line reason (and the masked traceback under ``--debug``).
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError  # noqa: PLC0415

        from .._errors import ConfigError, JournalError  # noqa: PLC0415
        from ._inputs import explain  # noqa: PLC0415

        settings = click.get_current_context().find_object(Settings) or Settings()
        try:
            return command(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `broadcast preview | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_FAILED) from None
        except ValidationError as exc:
            raise fail(settings.mask(explain(exc))) from None
        except (ConfigError, JournalError) as exc:
            raise fail(settings.mask(str(exc))) from None
        except Exception as exc:  # noqa: BLE001 - never a raw traceback with secrets in it
            if settings.verbose > 1:
                click.echo(settings.mask("".join(traceback.format_exception(exc))), err=True)
            raise fail(settings.mask(f"{type(exc).__name__}: {exc}"), EXIT_FAILED) from None

    return run  # type: ignore[return-value]  # same signature as command


class _Masking(logging.Formatter):
    """Every line, traceback included, through ``redact`` (which knows the credentials)."""

    def format(self, record: logging.LogRecord) -> str:
        return Settings.mask(super().format(record))


TRANSPORTS = ("httpx", "httpcore", "aiohttp", "aiosmtplib", "oauthlib")
"""Libraries whose own logs ``--debug`` shows too (every request, every SMTP step)."""


def setup_logging(settings: Settings) -> None:
    """Logs on stderr, masked: warnings; ``-q`` errors; ``-v`` info; ``--debug`` debug.

    ``--debug`` shows the transport libraries' own debug logs as well.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(settings.verbose, logging.DEBUG)
    if settings.quiet:
        level = logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Masking("%(levelname)s %(name)s: %(message)s"))
    names = ("broadcast", *TRANSPORTS) if level == logging.DEBUG else ("broadcast",)
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
