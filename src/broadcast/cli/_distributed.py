"""``broadcast worker`` and ``broadcast status``: the workers of a distributed send.

``broadcast send --distributed BROKER`` queues a send (``_send.py``); workers started
with the same configuration send it; ``status`` sums every shard into one Report.
"""

from __future__ import annotations

import asyncio
import json
import signal
from typing import TYPE_CHECKING, Any

import click

from ._common import EXIT_OK, Settings, fail, guarded, pass_settings
from ._output import exit_code, print_report

if TYPE_CHECKING:
    from ..distributed import Distributed

__all__ = ["distributed_for", "queue_send", "status", "worker"]

_BROKER_HELP = (
    "The task engine: zmq://HOST:PORT (taskiq's ZeroMQ broker, one machine), or "
    "package.module:attribute naming a taskiq broker (Redis streams, RabbitMQ, ...)."
)


def _needs_taskiq() -> None:
    try:
        import taskiq  # noqa: F401, PLC0415 - only to say what to install
    except ImportError:
        raise fail(
            "a distributed send needs taskiq: pip install 'broadcast-crisis[taskiq]'"
        ) from None


def distributed_for(broadcaster: Any, spec: str, shard_size: int) -> Distributed:
    """The ``Distributed`` that queues ``broadcaster``'s send on the broker ``spec`` names."""
    _needs_taskiq()
    from ..distributed import Distributed  # noqa: PLC0415 - keep --help fast
    from ..distributed._env import store_for  # noqa: PLC0415
    from ..distributed.tasks import TaskiqQueue, broker_from  # noqa: PLC0415

    store = store_for(broadcaster.journal)
    return Distributed(store, TaskiqQueue(broker_from(spec)), shard_size=shard_size)


def queue_send(
    settings: Settings, broadcaster: Any, update: Any, spec: str, size: int, *, as_json: bool
) -> None:
    """``send --distributed``: store the shards, enqueue them, print the queued Report."""

    async def run() -> Any:
        plan = distributed_for(broadcaster, spec, size)
        try:
            async with broadcaster:
                return await broadcaster.send(update, distributed=plan)
        finally:
            await plan.queue.aclose()  # type: ignore[attr-defined]
            await plan.store.aclose()

    report = asyncio.run(run())
    if as_json:
        click.echo(settings.mask(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)))
    elif not settings.quiet:
        print_report(report, settings.mask)
        click.echo(f"Queued. Follow it with: broadcast status {update.key}")
    queued = all(r.outcome.value in ("busy", "skipped") for r in report.receipts)
    raise click.exceptions.Exit(EXIT_OK if queued else exit_code(report))


@click.command()
@click.option("--broker", envvar="BROADCAST_BROKER", required=True, help=_BROKER_HELP)
@click.option(
    "--sweep-every",
    type=click.FloatRange(min=0.01),
    default=5.0,
    show_default=True,
    help="Seconds between looks at the journal for shards nobody holds.",
)
@click.option("--json", "as_json", is_flag=True, help="On exit, print what it did as JSON.")
@pass_settings
@guarded
def worker(settings: Settings, /, *, broker: str, sweep_every: float, as_json: bool) -> None:
    """Send shards of distributed sends, until SIGTERM or Ctrl-C.

    Give it the sender's configuration (the same channels and BROADCAST_JOURNAL). It
    takes the tasks `broadcast send --distributed` queues, claims each shard in the
    journal (a task delivered twice sends nothing twice), and also takes over shards
    whose worker died. Start as many as the provider's rate allows: they share it.
    """
    _needs_taskiq()
    from ..distributed._env import worker_from_env  # noqa: PLC0415 - keep --help fast
    from ..distributed.tasks import broker_from, serve  # noqa: PLC0415

    async def run() -> dict[str, int]:
        chosen = broker_from(broker)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        shard_worker, closing = await worker_from_env(settings.config, env_file=settings.env_file)
        async with closing:
            stats = await serve(
                chosen,
                shard_worker,
                stop=stop,
                sweep_every=sweep_every,
                ready=lambda: click.echo(f"ready: listening on {_shown(broker)}", err=True),
            )
        return {"tasks": stats.tasks, "sent": stats.sent, "skipped": stats.skipped}

    done = asyncio.run(run())
    if as_json:
        click.echo(json.dumps(done))
    elif not settings.quiet:
        click.echo(
            f"worker stopped: {done['tasks']} task(s) received, {done['sent']} shard(s) "
            f"sent, {done['skipped']} with nothing left to do"
        )
    raise click.exceptions.Exit(EXIT_OK)


def _shown(spec: str) -> str:
    """The broker without any credentials in its address."""
    if "@" in spec and "://" in spec:
        scheme, _, rest = spec.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return spec


@click.command()
@click.argument("update_key")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON on stdout.")
@pass_settings
@guarded
def status(settings: Settings, /, *, update_key: str, as_json: bool) -> None:
    """Where a distributed send stands: shards done, people reached, and its Report.

    Exit status: 0 done and everyone reached, 1 done and someone missed, 3 still running.
    """
    from ..distributed import status as read_status  # noqa: PLC0415 - keep --help fast
    from ..distributed._env import store_for  # noqa: PLC0415
    from ..journal._sqlite import journal_from_setting  # noqa: PLC0415

    setting = settings.load(require_secrets=False, allow_empty=True).env.get("BROADCAST_JOURNAL")
    journal = journal_from_setting(setting)
    if journal is None or not journal.path.exists():
        raise fail(f"no journal at {setting or 'the default place'}: nothing was sent from here")
    store = store_for(journal)

    async def run() -> Any:
        try:
            return await read_status(store, update_key)
        finally:
            await store.aclose()

    found = asyncio.run(run())
    if as_json:
        click.echo(settings.mask(json.dumps(found.to_dict(), indent=2, ensure_ascii=False)))
    elif not settings.quiet:
        state = "done" if found.finished else "running"
        click.echo(
            f"{update_key}: {state}: {found.done} of {found.shards} shard(s) done, "
            f"{found.running} running, {found.taken_over} taken over; "
            f"{found.accepted:,} reached, {found.rejected:,} not reached"
        )
        print_report(found.report, settings.mask)
    raise click.exceptions.Exit(exit_code(found.report))
