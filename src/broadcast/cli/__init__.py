"""The ``broadcast`` command: a thin layer over the library (stub, being built)."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group()
def main() -> None:
    """Send one crisis update to every outlet."""


@main.command()
def demo() -> None:
    """Replay the 2011 PSN outage against local stand-ins on 127.0.0.1."""
    from ..demo import main as run_demo  # noqa: PLC0415 - keep --help fast

    raise SystemExit(run_demo())
