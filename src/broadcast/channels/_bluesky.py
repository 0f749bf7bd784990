"""Bluesky (AT Protocol): each update as a post or a numbered thread, replying down the incident.

Plain httpx against the account's PDS (``https://bsky.social`` by default), no SDK:
``com.atproto.repo.createRecord`` with an ``app.bsky.feed.post`` record. A post holds
at most 300 grapheme clusters and 3,000 UTF-8 bytes; a longer update becomes a
numbered thread, cut as X's is. Links are made clickable with ``facets`` whose offsets
are UTF-8 bytes. A follow-up carries ``reply: {root, parent}``, the incident's first
post and its last, each as ``uri`` and ``cid``, kept in the journal's incident state
(a post's id is ``<uri>#<cid>``), so a later process threads too.

Sessions are made once and refreshed (``broadcast.channels._bluesky_session``). Each
post has a record key derived from the update and the part: after a request that got
no answer, the retry first reads that record (``getRecord``) and posts only if it is
not there, so a lost answer cannot post twice. Errors are XRPC's
``{"error", "message"}``; a 429's ``RateLimit-Reset`` (epoch seconds) or
``Retry-After`` says how long to wait.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import AlreadyDelivered, ChannelError, PermanentError, Unconfirmed
from .._redact import register_secret, safe_origin
from .._update import Update
from ..journal._protocol import Journal
from ..journal._threads import ThreadSlot, ThreadStore, post_part
from ..text._social import (
    BLUESKY_BYTES,
    BLUESKY_COUNTER,
    BLUESKY_GRAPHEMES,
    BLUESKY_LIMIT,
    graphemes,
    links,
)
from ..text._thread import render_thread
from ._bluesky_record import COLLECTION, bluesky_errors, post_record, record_key
from ._bluesky_session import ExpiredToken, Session, SessionCache, default_session_file
from ._http import ClientSlot, get, json_field, post
from ._spec import ChannelSpec, setting

__all__ = ["Bluesky", "BlueskyThread"]

DEFAULT_SERVICE = "https://bsky.social"
MAX_POSTS = 10
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BlueskyThread:
    """A rendered update: its posts in order, and the update they came from."""

    posts: tuple[str, ...]
    update: Update

    @property
    def incident(self) -> str:
        """The incident the posts belong to."""
        return self.update.incident

    @property
    def update_key(self) -> str:
        """The update's key."""
        return self.update.key

    def preview(self) -> str:
        """Each post with its grapheme clusters and bytes against Bluesky's limits."""
        return "\n\n".join(
            f"--- post {i}/{len(self.posts)} ({graphemes(text)}/{BLUESKY_GRAPHEMES} graphemes, "
            f"{len(text.encode())}/{BLUESKY_BYTES} bytes, link facets: {len(links(text))}) ---\n"
            f"{text}"
            for i, text in enumerate(self.posts, 1)
        )


class Bluesky:
    """Posts updates as the Bluesky account ``handle``, signing in with an app password.

    ``service`` is the account's PDS. ``session_file`` keeps the session across
    processes (default: the per-user state directory; ``"off"``: memory only).
    ``threads`` remembers each incident's posts (the journal by default).
    """

    threaded = True
    """Follow-ups reply under the incident's first post, to its last."""

    def __init__(
        self,
        handle: str,
        app_password: str | SecretStr,
        *,
        service: str = DEFAULT_SERVICE,
        session_file: str | os.PathLike[str] | None = None,
        max_posts: int | None = MAX_POSTS,
        name: str = "bluesky",
        threads: ThreadStore | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        handle = handle.strip().lstrip("@")
        if not handle or " " in handle:
            raise ValueError("handle must be the account's handle, such as status.bsky.social")
        secret = app_password if isinstance(app_password, SecretStr) else SecretStr(app_password)
        if not secret.get_secret_value():
            raise ValueError("app_password is empty: make one in Settings > App passwords")
        register_secret(secret.get_secret_value())
        if max_posts is not None and max_posts < 1:
            raise ValueError(
                f"max_posts must be at least 1 (or None for no limit), not {max_posts}"
            )
        self.name = name
        self._handle = handle
        self._password = secret
        self._service = service.rstrip("/")
        if session_file is None:
            path: Path | None = default_session_file()
        else:
            path = None if str(session_file) == "off" else Path(session_file).expanduser()
        self._sessions = SessionCache(self._service, handle, path)
        self._max_posts = max_posts
        self._threads = ThreadSlot(threads)
        self._http = ClientSlot(client)
        self._timeout = timeout
        self._clock = clock
        self._unanswered: set[tuple[str, int]] = set()
        self.sessions_created = 0
        """createSession calls made by this channel (it should stay at one or none)."""

    def __repr__(self) -> str:
        where = safe_origin(self._service)
        return (
            f"Bluesky(name={self.name!r}, handle={self._handle!r}, service='{where}', password=***)"
        )

    def render(self, update: Update, /) -> BlueskyThread:
        """The posts for ``update``; pure."""
        posts = render_thread(
            update,
            limit=BLUESKY_LIMIT,
            max_posts=self._max_posts,
            counter=BLUESKY_COUNTER,
            outlet="Bluesky",
        )
        return BlueskyThread(tuple(posts), update)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep the incident's thread in ``journal`` (unless ``threads`` was given)."""
        self._threads.share(journal)

    async def deliver(self, rendered: BlueskyThread, /) -> Delivery:
        """Post the parts not yet posted, each replying under the incident's first post."""
        threads, key = self._threads.get(), rendered.update_key
        posted = await threads.posted_parts(self.name, key)
        if posted and len(posted) >= len(rendered.posts):
            raise AlreadyDelivered(f"already posted as {', '.join(posted)}", ids=tuple(posted))
        state = await threads.thread(self.name, rendered.incident)
        root = state.first or (posted[0] if posted else None)
        parent = posted[-1] if posted else state.last
        total = len(rendered.posts)
        for index in range(len(posted), total):
            reply = None if root is None or parent is None else _reply(root, parent)
            record = post_record(rendered.posts[index], rendered.update, index, reply=reply)
            rkey = record_key(rendered.update, index)

            async def send(
                record: dict[str, Any] = record, rkey: str = rkey, index: int = index
            ) -> str:
                return await self._post(record, rkey, (key, index))

            try:
                post_id = await post_part(
                    threads, self.name, rendered.incident, key, index, send=send
                )
            except ChannelError as exc:
                if total > 1:
                    exc.args = (f"{exc}; posted {len(posted)} of {total} parts",)
                exc.ids = tuple(posted)
                raise
            posted.append(post_id)
            root = root or post_id
            parent = post_id
        return Delivery(ids=tuple(posted), details={"parts": total})

    async def _post(self, record: dict[str, Any], rkey: str, part: tuple[str, int]) -> str:
        if part in self._unanswered and (found := await self._existing(rkey)) is not None:
            self._unanswered.discard(part)
            return found  # the lost answer's post is up: not posted again

        async def create(session: Session) -> str:
            body = {"repo": session.did, "collection": COLLECTION, "rkey": rkey, "record": record}
            try:
                response = await self._xrpc_post(
                    "com.atproto.repo.createRecord", body, session.accessJwt
                )
            except Unconfirmed:
                self._unanswered.add(part)
                raise
            return f"{json_field(response, 'uri')}#{json_field(response, 'cid')}"

        return await self._authorized(create)

    async def _existing(self, rkey: str) -> str | None:
        """The post at ``rkey`` as ``uri#cid``, or None if there is none."""

        async def read(session: Session) -> str | None:
            params = {"repo": session.did, "collection": COLLECTION, "rkey": rkey}
            try:
                response = await self._xrpc_get(
                    "com.atproto.repo.getRecord", session.accessJwt, params
                )
            except PermanentError as exc:
                if exc.code == 400 and "RecordNotFound" in str(exc):
                    return None
                raise
            return f"{json_field(response, 'uri')}#{json_field(response, 'cid')}"

        return await self._authorized(read)

    async def check(self) -> str:
        """The session's account (``com.atproto.server.getSession``); posts nothing."""

        async def whoami(session: Session) -> str:
            response = await self._xrpc_get("com.atproto.server.getSession", session.accessJwt)
            handle, did = json_field(response, "handle"), json_field(response, "did")
            return f"authenticated as @{handle} ({did})"

        return await self._authorized(whoami)

    async def _authorized(self, call: Callable[[Session], Awaitable[T]]) -> T:
        """``call`` with the kept session; on ExpiredToken, refreshed, once more."""
        session = self._sessions.load() or await self._create_session()
        try:
            return await call(session)
        except ExpiredToken:
            session = await self._refresh(session)
        return await call(session)

    async def _create_session(self) -> Session:
        body = {"identifier": self._handle, "password": self._password.get_secret_value()}
        self.sessions_created += 1
        response = await self._xrpc_post("com.atproto.server.createSession", body, None)
        session = _session(response)
        self._sessions.save(session)
        return session

    async def _refresh(self, session: Session) -> Session:
        try:
            response = await self._xrpc_post(
                "com.atproto.server.refreshSession", None, session.refreshJwt
            )
        except ExpiredToken:
            self._sessions.forget()
            return await self._create_session()
        fresh = _session(response)
        self._sessions.save(fresh)
        return fresh

    async def _xrpc_post(
        self, method: str, body: dict[str, Any] | None, token: str | None
    ) -> httpx.Response:
        headers = {"content-type": "application/json"} if body is not None else {}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        return await post(
            self._http.get(),
            f"{self._service}/xrpc/{method}",
            content=json.dumps(body, ensure_ascii=False).encode() if body is not None else None,
            headers=headers,
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=bluesky_errors,
        )

    async def _xrpc_get(
        self, method: str, token: str, params: dict[str, str] | None = None
    ) -> httpx.Response:
        return await get(
            self._http.get(),
            f"{self._service}/xrpc/{method}",
            params=params,
            headers={"authorization": f"Bearer {token}"},
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=bluesky_errors,
        )

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


def _reply(root: str, parent: str) -> dict[str, Any]:
    def ref(post_id: str) -> dict[str, str]:
        uri, _, cid = post_id.rpartition("#")
        return {"uri": uri, "cid": cid}

    return {"root": ref(root), "parent": ref(parent)}


def _session(response: httpx.Response) -> Session:
    return Session(
        did=json_field(response, "did"),
        handle=json_field(response, "handle"),
        accessJwt=json_field(response, "accessJwt"),
        refreshJwt=json_field(response, "refreshJwt"),
    ).register()


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class BlueskySettings(BaseModel):
    """Posts each update to a Bluesky account as a post or a thread; follow-ups reply."""

    handle: str = setting(
        doc="Enables Bluesky: the account's handle, such as `status.bsky.social`."
    )
    app_password: SecretStr = setting(doc="An app password (Settings > Privacy and security).")
    service: str = setting(DEFAULT_SERVICE, doc="The account's PDS.")
    session_file: str | None = setting(
        None,
        doc="Where the session is kept across runs (mode 0600), or `off` for memory only.",
        shown_default="state dir",
    )
    max_posts: int = setting(MAX_POSTS, doc="Most posts in one update's thread.")


SPEC = ChannelSpec(
    name="bluesky",
    channel=Bluesky,
    settings=BlueskySettings,
    label="Bluesky",
    enabled_by="BROADCAST_BLUESKY_HANDLE",
    example=lambda: Bluesky("status.example.com", "example-only", session_file="off"),
    standin="broadcast.testing:BlueskyFake",
)
