"""One-call entry points: ``await broadcast.asend(...)`` and ``broadcast.send(...)``."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Collection
from typing import Any, Literal

from ._channel import Channel
from ._config import broadcaster_from_env
from ._env import Env
from ._journal import Journal
from ._report import Report
from ._update import Update

__all__ = ["asend", "make_update", "send"]


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:48].strip("-") or "incident"


def make_update(update_or_text: Update | str, /, **fields: Any) -> Update:
    """An Update from an Update (with ``fields`` replaced) or from text.

    From text, the text is the body; ``title`` defaults to its first line and
    ``incident`` to a slug of the title. Pass ``incident=`` explicitly on follow-ups so
    every update of one incident shares it.
    """
    if isinstance(update_or_text, Update):
        if not fields:
            return update_or_text
        return Update.model_validate({**update_or_text.model_dump(), **fields})
    if not isinstance(update_or_text, str):
        raise TypeError(f"expected an Update or text, got {type(update_or_text).__name__}")
    fields.setdefault("body", update_or_text)
    if "title" not in fields:
        first_line = update_or_text.strip().splitlines()[0] if update_or_text.strip() else ""
        fields["title"] = first_line[:200]
    fields.setdefault("incident", _slug(str(fields["title"])))
    return Update.model_validate(fields)


async def asend(
    update_or_text: Update | str,
    /,
    *,
    channels: list[Channel[Any]] | None = None,
    only: Collection[str] | str | None = None,
    dry_run: bool = False,
    env_file: str | os.PathLike[str] | None = ".env",
    journal: Journal | Literal["env"] | None = "env",
    **fields: Any,
) -> Report:
    """Send one update to every channel configured in the environment (or ``channels``).

    What was sent is recorded in the journal (``BROADCAST_JOURNAL``, else
    ``./broadcast.db``; or ``journal=``, None for none), so sending the same update again
    sends only what is missing, and follow-ups thread under the incident's first posts.

    ``fields`` are Update fields (``title=``, ``status=``, ``incident=``, ...). Bad
    input raises ``pydantic.ValidationError`` and bad configuration ``ConfigError``,
    both before anything is sent. Channel failures do not raise: they are in the
    Report; call ``report.raise_for_failures()`` to turn them into an exception.
    """
    update = make_update(update_or_text, **fields)
    env = Env.load(env_file)
    async with broadcaster_from_env(env, channels=channels, journal=journal) as broadcaster:
        return await broadcaster.send(update, only=only, dry_run=dry_run)


def send(
    update_or_text: Update | str,
    /,
    *,
    channels: list[Channel[Any]] | None = None,
    only: Collection[str] | str | None = None,
    dry_run: bool = False,
    env_file: str | os.PathLike[str] | None = ".env",
    journal: Journal | Literal["env"] | None = "env",
    **fields: Any,
) -> Report:
    """Blocking ``asend`` for scripts. Inside a running event loop, use ``await asend``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "broadcast.send() was called from a running event loop, where it would block "
            "it; use `await broadcast.asend(...)` instead"
        )
    return asyncio.run(
        asend(
            update_or_text,
            channels=channels,
            only=only,
            dry_run=dry_run,
            env_file=env_file,
            journal=journal,
            **fields,
        )
    )
