"""The update's flags, its body (argument, ``--body-file`` or stdin), and input errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from pydantic import ValidationError

    from .._update import Update

__all__ = ["FLAGS", "build_update", "explain", "parse_when", "update_options"]

F = TypeVar("F", bound=Callable[..., Any])

FLAGS = {
    "title": "--title",
    "body": "BODY",
    "status": "--status",
    "severity": "--severity",
    "incident": "--incident",
    "url": "--url",
    "author": "--author",
    "next_update_at": "--next-update",
    "components": "--component",
}
"""Each Update field and the flag (or argument) that sets it, for error messages."""
STATUSES = ("investigating", "identified", "monitoring", "resolved")
SEVERITIES = ("minor", "major", "critical")
COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)


def update_options(command: F) -> F:
    """The flags for every Update field, and the body argument."""
    options = [
        click.argument("body", required=False),
        click.option("-b", "--body", "body_text", metavar="TEXT",
                     help="The body (instead of the BODY argument)."),
        click.option("--body-file", type=click.File("r", encoding="utf-8"),
                     help="Read the body from FILE ('-' for stdin)."),
        click.option("-t", "--title", help="One line; defaults to the body's first line "
                     "(which then leaves the body). A title alone is a whole update."),
        click.option("--status", type=click.Choice(STATUSES), help="Default: investigating."),
        click.option("--severity", type=click.Choice(SEVERITIES), help="Default: major."),
        click.option("--incident",
                     help="Incident id shared by all its updates (follow-ups thread under it)."),
        click.option("--url", help="Link to the status page or post-mortem."),
        click.option("--author", help="Who speaks: a name or a role."),
        click.option("--next-update", metavar="WHEN",
                     help="When the next update will come: 30m, 2h, 1d, 15:00 or ISO 8601."),
        click.option("--component", "components", metavar="NAME=STATUS", multiple=True,
                     help="A component and its status (repeatable): Sign-in=major_outage. "
                     f"STATUS: {', '.join(COMPONENT_STATUSES)}."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def build_update(
    body: str | None,
    body_file: Any,
    *,
    now: datetime | None = None,
    stdin: Any = None,
    body_text: str | None = None,
    components: tuple[str, ...] = (),
    **flags: str | None,
) -> Update:
    """The Update from the flags; the body from the argument, ``-b``, ``--body-file`` or stdin."""
    from ..api._calls import make_update  # noqa: PLC0415 - keep --help fast

    stdin = stdin if stdin is not None else sys.stdin
    if sum(given is not None for given in (body, body_text, body_file)) > 1:
        raise click.UsageError("give the body once: as an argument, with -b, or with --body-file")
    body = body if body is not None else body_text
    if body is None and body_file is not None:
        body = body_file.read()
    if body is None and not stdin.isatty():
        body = stdin.read()
    if (not body or not body.strip()) and flags.get("title"):
        body = ""  # a title alone is a whole update: every channel renders it
    elif not body or not body.strip():
        raise click.UsageError(
            "no body: give it as an argument, with --body-file FILE, or on stdin "
            "(echo 'We are investigating.' | broadcast send --title ...)"
        )
    fields: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    if (when := fields.pop("next_update", None)) is not None:
        fields["next_update_at"] = parse_when(when, now=now)
    if components:
        fields["components"] = parse_components(components)
    return make_update(body.strip("\n"), **fields)


def parse_components(given: tuple[str, ...]) -> dict[str, str]:
    """``--component Sign-in=major_outage`` (repeatable) as ``{"Sign-in": "major_outage"}``."""
    found: dict[str, str] = {}
    for item in given:
        name, equals, status = item.rpartition("=")
        name, status = name.strip(), status.strip().lower().replace("-", "_").replace(" ", "_")
        if not equals or not name:
            raise click.BadParameter(
                f"{item!r} is not NAME=STATUS (e.g. Sign-in=major_outage)", param_hint="--component"
            )
        if status not in COMPONENT_STATUSES:
            raise click.BadParameter(
                f"{name}: {status!r} is not a component status; use one of "
                f"{', '.join(COMPONENT_STATUSES)}",
                param_hint="--component",
            )
        if name in found and found[name] != status:
            raise click.BadParameter(
                f"{name} is given twice, as {found[name]} and {status}", param_hint="--component"
            )
        found[name] = status
    return found


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``--next-update``: see ``broadcast._update.parse_when`` (shared with the API)."""
    from .._update import parse_when as parse  # noqa: PLC0415 - keep --help fast

    try:
        return parse(text, now=now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--next-update") from None


def explain(error: ValidationError) -> str:
    """A pydantic error as one line per field, each named by its flag."""
    from ..config._explain import explain as in_words  # noqa: PLC0415 - keep --help fast

    return in_words(error, FLAGS)
