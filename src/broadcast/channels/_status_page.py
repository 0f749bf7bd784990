"""The ``status-page`` pseudo-channel: after each send, rebuild the status page and publish it.

It sends nothing to anyone: its delivery is the site (``broadcast.page``) rebuilt from
the journal with this update on it, then written to a directory (what GitHub Pages or
any static host serves) and/or PUT file by file to a URL (a WebDAV share, an object
store's upload endpoint). Its Receipt is delivered only when every file was written
or accepted. Rebuilding is idempotent: a re-send just writes the same files again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import ConfigError, PermanentError
from .._redact import register_secret, safe_origin
from .._update import Update
from ..page._model import incident_path, read_site
from ..page._needs import require
from ..text import next_update_time, status_tag
from ._http import ClientSlot, check_response, request
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env
    from ..journal._protocol import Journal

__all__ = ["PagePublish", "StatusSite"]


@dataclass(frozen=True, slots=True)
class PagePublish:
    """A rendered status-page send: which update to put on the page, and where."""

    update_key: str
    incident: str
    lines: tuple[str, ...]
    """The update as its page shows it: headline, author, next update, link."""
    targets: tuple[str, ...]
    page: str

    def preview(self) -> str:
        """The update as the page shows it, and where the page goes."""
        where = " and ".join(self.targets)
        return "\n".join(
            [
                *self.lines,
                f"(the status page rebuilt from the journal with update {self.update_key}, "
                f"published to {where}; incident page: {self.page})",
            ]
        )


class StatusSite:
    """Rebuild the status page after each send; write it to ``directory``, PUT it to ``put_url``.

    At least one of the two. ``put_url`` is the site's root: each file goes to
    ``<put_url>/<path>`` with ``Authorization: Bearer <put_token>`` when a token is
    given (the token is a secret, masked everywhere). ``base_url`` is where the site is
    read by the public (absolute links in the feed and ``summary.json``); ``title`` heads
    every page. ``now`` (an aware datetime) is injectable for tests.
    """

    idempotent = True
    """Publishing the same site twice changes nothing."""

    def __init__(
        self,
        *,
        directory: str | os.PathLike[str] | None = None,
        put_url: str | None = None,
        put_token: str | SecretStr | None = None,
        base_url: str | None = None,
        title: str = "Status",
        name: str = "status-page",
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if directory is None and put_url is None:
            raise ValueError("status-page needs a directory to write to, or a put_url, or both")
        require()  # the page extra: its install hint now, not at the first send
        for label, url in (("put_url", put_url), ("base_url", base_url)):
            if url is not None:
                _check_url(label, url)
        self.name = name
        self._directory = Path(directory) if directory is not None else None
        self._put_url = put_url.rstrip("/") if put_url else None
        token = put_token.get_secret_value() if isinstance(put_token, SecretStr) else put_token
        register_secret(token)
        self._token = SecretStr(token) if token else None
        self._base_url = base_url
        self._title = title
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._now = now or (lambda: datetime.now(UTC))
        self._journal: Journal | None = None

    def __repr__(self) -> str:
        return f"StatusSite(name={self.name!r}, to={' and '.join(self._targets())!r})"

    def _targets(self) -> tuple[str, ...]:
        targets = []
        if self._directory is not None:
            targets.append(str(self._directory))
        if self._put_url is not None:
            targets.append(f"{safe_origin(self._put_url)}/…")
        return tuple(targets)

    def use_journal(self, journal: Journal, /) -> None:
        """Build the site from ``journal``: the Broadcaster's."""
        self._journal = journal

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """PUT through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def render(self, update: Update, /) -> PagePublish:
        """Which update goes on the page, and where it is published; pure."""
        path = incident_path(update.incident)
        page = f"{self._base_url.rstrip('/')}/{path}" if self._base_url else path
        lines = [f"{status_tag(update)} {update.title}"]
        if update.author:
            lines.append(f"By {update.author}")
        if when := next_update_time(update):
            lines.append(f"Next update by {when}")
        if update.url and update.url != page:
            lines.append(f"More: {update.url}")
        return PagePublish(update.key, update.incident, tuple(lines), self._targets(), page)

    async def deliver(self, rendered: PagePublish, /) -> Delivery:
        """Rebuild the site with this update on it, then write and/or PUT every file."""
        if self._journal is None:
            raise PermanentError(
                "status-page builds the site from the journal, and this send has none; "
                "give the Broadcaster a journal (the command has one unless "
                "BROADCAST_JOURNAL=off)"
            )
        from ..page._site import render_site, write_site  # noqa: PLC0415 - the page extra

        site = await read_site(
            self._journal,
            title=self._title,
            base_url=self._base_url,
            now=self._now(),
            include=(rendered.update_key,),
        )
        files = render_site(site)
        if self._directory is not None:
            try:
                await asyncio.to_thread(write_site, files, self._directory)
            except OSError as exc:
                raise PermanentError(
                    f"cannot write the status page to {self._directory}: {exc.strerror}"
                ) from None
        if self._put_url is not None:
            for path, data in files.items():
                await self._put(path, data)
        return Delivery(
            ids=(rendered.page,),
            details={"files": len(files), "incidents": len(site.incidents)},
        )

    async def _put(self, path: str, data: bytes) -> None:
        from ..page._site import CONTENT_TYPES  # noqa: PLC0415

        assert self._put_url is not None  # noqa: S101 - checked by the caller
        headers = {"content-type": CONTENT_TYPES[Path(path).suffix]}
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token.get_secret_value()}"
        response = await request(
            self._http.get(),
            "PUT",
            f"{self._put_url}/{path}",
            content=data,
            headers=headers,
            timeout=self._timeout,
        )
        check_response(response)

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


def _check_url(label: str, url: str) -> None:
    try:
        Update(title="x", incident="x", url=url)
    except ValueError:
        raise ValueError(
            f"status-page {label} must be an absolute http:// or https:// URL without "
            "user:password (use put_token for credentials)"
        ) from None


# --- its declaration: settings, capabilities, preview example ---------------------


class StatusPageSettings(BaseModel):
    """Rebuilds broadcast's own status page after each send and publishes it."""

    directory: str | None = setting(
        None, doc="Write the site here (e.g. the folder GitHub Pages serves)."
    )
    put_url: str | None = setting(None, doc="PUT each file of the site under this URL.")
    put_token: SecretStr | None = setting(
        None, doc="Bearer token for the PUTs.", shown_default="no auth"
    )
    base_url: str | None = setting(
        None,
        doc="Where the public reads the site; also every update's default `url`.",
        shown_default="relative links",
    )
    title: str = setting("Status", doc="The heading of every page and the feed's title.")


def _from_env(env: Env) -> StatusSite | None:
    directory = env.get("BROADCAST_STATUS_PAGE_DIRECTORY")
    put_url = env.url("BROADCAST_STATUS_PAGE_PUT_URL")
    token = env.get("BROADCAST_STATUS_PAGE_PUT_TOKEN")
    if directory is None and put_url is None:
        if token is not None:
            raise ConfigError(
                "BROADCAST_STATUS_PAGE_PUT_TOKEN is set but BROADCAST_STATUS_PAGE_PUT_URL "
                "is not; set the URL the site is PUT to"
            )
        return None  # BROADCAST_STATUS_PAGE_BASE_URL alone only sets the updates' url
    base_url = env.url("BROADCAST_STATUS_PAGE_BASE_URL")
    title = env.get("BROADCAST_STATUS_PAGE_TITLE") or "Status"
    channel: StatusSite = env.build(
        "BROADCAST_STATUS_PAGE_DIRECTORY",
        lambda: StatusSite(
            directory=directory, put_url=put_url, put_token=token, base_url=base_url, title=title
        ),
    )
    return channel


SPEC = ChannelSpec(
    name="status-page",
    channel=StatusSite,
    settings=StatusPageSettings,
    build=_from_env,
    example=lambda: StatusSite(
        directory="site", base_url="https://status.example.com/", title="Example status"
    ),
    label="status page",
)
