"""One-call entry points: ``send``/``asend``, ``preview``, ``check``/``acheck``.

Each reads its channels with ``load_config`` (broadcast.toml, ``.env`` and the
environment) unless ``channels=`` is given; the ``broadcast`` command calls these.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
from collections.abc import Collection, Sequence
from typing import Any, Literal, Unpack

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from .._broadcaster import Broadcaster
from .._channel import Channel
from .._report import Report
from .._scope import ProgressCallback
from .._selection import select_given
from .._update import Update, UpdateFields, title_from_text
from ..config._env import Env, env_file_names
from ..config._from_env import broadcaster_from_env, masked_errors
from ..config._load import load_config
from ..config._names import check_names
from ..journal._protocol import Journal
from ._check import CheckResult, check_channels
from ._preview import Preview, channels_to_preview, render_previews

__all__ = ["acheck", "asend", "check", "make_update", "preview", "send"]

Selection = Collection[str] | str | None
PathLike = str | os.PathLike[str] | None
Channels = Sequence[Channel] | None
"""Any sequence of channels (``[webhook, email]``, a ``list[Webhook]``), or None."""


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:48].strip("-") or "incident"


def make_update(update_or_text: Update | str, /, **fields: Unpack[UpdateFields]) -> Update:
    """An Update from an Update (with ``fields`` replaced) or from text.

    From text, the text is the body; unless ``title`` is given, its first line is the
    title and leaves the body (one line of text is a title alone, see
    ``title_from_text``). ``incident`` defaults to a slug of the title. Pass
    ``incident=`` explicitly on follow-ups so every update of one incident shares it.
    A keyword that is not an Update field raises ``TypeError``.
    """
    _known_fields("make_update", fields)
    if isinstance(update_or_text, Update):
        if not fields:
            return update_or_text
        return Update.model_validate({**update_or_text.model_dump(), **fields})
    if not isinstance(update_or_text, str):
        raise TypeError(f"expected an Update or text, got {type(update_or_text).__name__}")
    values: dict[str, Any] = dict(fields)
    if "title" not in values:
        if not update_or_text.strip() and not values.get("body"):
            raise _blank_body(update_or_text)
        values["title"], body = title_from_text(update_or_text)
        values.setdefault("body", body)
    values.setdefault("body", update_or_text)
    values.setdefault("incident", _slug(str(values["title"])))
    return Update.model_validate(values)


def _known_fields(function: str, fields: UpdateFields) -> None:
    """``TypeError`` for a keyword that is not an Update field, with a did-you-mean."""
    known = UpdateFields.__annotations__
    for name in fields:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}{hint}")


def _blank_body(text: str) -> ValidationError:
    """The error for an update with neither a title nor a body, naming the body."""
    error = PydanticCustomError("blank", "must not be empty or blank: say what is happening")
    details: list[InitErrorDetails] = [{"type": error, "loc": ("body",), "input": text}]
    return ValidationError.from_exception_data("Update", details)


def _broadcaster(
    channels: Channels,
    *,
    config: PathLike,
    env_file: PathLike,
    only: Selection,
    to: Selection,
    journal: Journal | Literal["env"] | None,
) -> tuple[Broadcaster, list[str] | None]:
    """The Broadcaster, and the names ``only`` and ``to`` pick (as in check and the CLI)."""
    if channels is not None:
        picked = select_given(channels, only=only, to=to)
        env = Env.load(env_file)
        with masked_errors():
            check_names(env, in_env_file=env_file_names(env_file))
        broadcaster = broadcaster_from_env(env, channels=list(channels), journal=journal)
    else:
        loaded = load_config(config, env_file=env_file)
        picked = loaded.select(only=only, to=to)
        broadcaster = loaded.broadcaster(to=to, journal="config" if journal == "env" else journal)
    # The channels not picked by only= are in the Report, as skipped.
    return broadcaster, None if only is None else [c.name for c in picked]


async def asend(
    update_or_text: Update | str,
    /,
    *,
    channels: Channels = None,
    only: Selection = None,
    to: Selection = None,
    dry_run: bool = False,
    config: PathLike = None,
    env_file: PathLike = ".env",
    journal: Journal | Literal["env"] | None = "env",
    progress: ProgressCallback | None = None,
    **fields: Unpack[UpdateFields],
) -> Report:
    """Send one update to every configured channel (or to ``channels``).

    Channels come from ``load_config(config)``: broadcast.toml, ``.env`` and the
    ``BROADCAST_*`` variables. ``to`` keeps the channels carrying one of those tags;
    ``only`` names the channels to use (the others are reported as skipped).

    ``progress`` receives fan-out progress (see ``Broadcaster.send``).
    What was sent is recorded in the journal (``BROADCAST_JOURNAL``, else the per-user
    journal the command uses, ``default_journal_path()``; or ``journal=``, None for
    none), so sending the same update again, from any directory, sends only what is
    missing, and follow-ups thread under the incident's first posts.

    ``fields`` are Update fields (``title=``, ``status=``, ``incident=``, ...; see
    ``UpdateFields``); another keyword raises ``TypeError``. Bad
    input raises ``pydantic.ValidationError`` and bad configuration ``ConfigError``,
    both before anything is sent. Channel failures do not raise: they are in the
    Report; call ``report.raise_for_failures()`` to turn them into an exception.
    """
    _known_fields("asend", fields)
    update = make_update(update_or_text, **fields)
    broadcaster, picked = _broadcaster(
        channels, config=config, env_file=env_file, only=only, to=to, journal=journal
    )
    async with broadcaster:
        return await broadcaster.send(update, only=picked, dry_run=dry_run, progress=progress)


def send(
    update_or_text: Update | str,
    /,
    *,
    channels: Channels = None,
    only: Selection = None,
    to: Selection = None,
    dry_run: bool = False,
    config: PathLike = None,
    env_file: PathLike = ".env",
    journal: Journal | Literal["env"] | None = "env",
    **fields: Unpack[UpdateFields],
) -> Report:
    """Blocking ``asend`` for scripts. Inside a running event loop, use ``await asend``."""
    _known_fields("send", fields)
    _not_in_a_loop("send", "asend")
    return asyncio.run(
        asend(
            update_or_text,
            channels=channels,
            only=only,
            to=to,
            dry_run=dry_run,
            config=config,
            env_file=env_file,
            journal=journal,
            **fields,
        )
    )


def _not_in_a_loop(name: str, async_name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"broadcast.{name}() was called from a running event loop, where it would block "
        f"it; use `await broadcast.{async_name}(...)` instead"
    )


def preview(
    update_or_text: Update | str,
    /,
    *,
    channels: Channels = None,
    only: Selection = None,
    to: Selection = None,
    config: PathLike = None,
    env_file: PathLike = ".env",
    **fields: Unpack[UpdateFields],
) -> list[Preview]:
    """What each channel would send, rendered; needs no credentials and sends nothing.

    Uses ``channels``, else the configured channels (a missing credential reads as a
    placeholder), else, when nothing is configured, one example channel of each
    registered type. ``only`` and ``to`` pick channels as in ``send()``. Bad input
    raises ``pydantic.ValidationError`` naming the field.
    """
    _known_fields("preview", fields)
    update = make_update(update_or_text, **fields)
    if channels is None:
        loaded = load_config(config, env_file=env_file, require_secrets=False, allow_empty=True)
        channels = channels_to_preview(loaded, to, only=only)
    else:
        channels = select_given(channels, only=only, to=to)
    return render_previews(list(channels), update)


async def acheck(
    *,
    channels: Channels = None,
    only: Selection = None,
    to: Selection = None,
    config: PathLike = None,
    env_file: PathLike = ".env",
    timeout: float = 20.0,  # noqa: ASYNC109 - a limit per probe, not on the call
) -> list[CheckResult]:
    """Validate the configuration, then probe each channel's credentials without posting.

    Raises ``ConfigError`` for a configuration problem; each channel's probe result
    (``ok``, and what was confirmed or why not) is a ``CheckResult``, in order.
    """
    if channels is None:
        channels = load_config(config, env_file=env_file).select(only=only, to=to)
    else:
        channels = select_given(channels, only=only, to=to)
    try:
        return await check_channels(channels, timeout=timeout)
    finally:
        for channel in channels:
            await channel.aclose()


def check(
    *,
    channels: Channels = None,
    only: Selection = None,
    to: Selection = None,
    config: PathLike = None,
    env_file: PathLike = ".env",
    timeout: float = 20.0,
) -> list[CheckResult]:
    """Blocking ``acheck``."""
    _not_in_a_loop("check", "acheck")
    return asyncio.run(
        acheck(
            channels=channels, only=only, to=to, config=config, env_file=env_file, timeout=timeout
        )
    )
