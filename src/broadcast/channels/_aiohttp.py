"""An httpx transport that sends over aiohttp: httpx's API, aiohttp's connection pool.

httpx's default transport (httpcore) does work per request that grows with the
requests in flight and the connections it holds: at 50 concurrent requests a fan-out
ran at a fifth of its rate at 1 (see benchmarks/sms_fanout.py). aiohttp's pool does
not. Users and tests still see ``httpx.AsyncClient``, ``httpx.Response`` and httpx's
exceptions; respx mocks it with ``respx.mock(using="httpx")``.

Only what broadcast needs: HTTP/1.1, bodies streamed (``request`` in ``_http`` reads at
most ``MAX_RESPONSE_BYTES`` and hangs up on a longer answer), no proxies of its own
(httpx mounts its proxy transports ahead of this one), redirects left to httpx (which
broadcast never follows). aiohttp's errors become httpx's (``_ERRORS``), so ``post``
classifies and words them as it does httpcore's.

Why not the ``httpx-aiohttp`` package, which does the same job: it is as fast (SMS
fan-out, C=50, N=2,000, 7 alternating rounds in one run, ``benchmarks/transport_choice.py``:
median 3,230 msg/s here, 3,383 over httpx-aiohttp 0.2.0, within the machine's noise),
but it cannot tell broadcast whether a failed request went out. It passes no
per-request trace context, so ``SendProgress`` is never told the headers were written
(``_Request`` below), and it maps every ``aiohttp.ClientConnectionError`` to
``httpx.ConnectTimeout``: a server that read the request and hung up would be reported
as ``NotSent`` and retried as if nothing had gone out. This module reports it as
``Unconfirmed``. docs/architecture.md gives the figures in full.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import aiohttp
import httpx
import yarl
from aiohttp.connector import Connection

__all__ = ["AiohttpTransport", "direct_transport", "log_answer", "request_for", "timeout_for"]

_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    # Most specific first: the first match wins.
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.NetworkError),
)


def _translate(exc: Exception) -> httpx.TransportError | None:
    """The httpx error for an aiohttp one; its text never holds the URL (paths hold tokens)."""
    for theirs, ours in _ERRORS:
        if isinstance(exc, theirs):
            if isinstance(exc, aiohttp.ClientResponseError):
                text = exc.message  # str(exc) appends the whole URL
            elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
                text = "not an http(s) URL"  # str(exc) is the URL
            else:
                text = str(exc)
            return ours(text or type(exc).__name__)
    return None


_CHUNK = 65_536
"""Most bytes handed on per read: bounds what one gzip chunk can inflate to at once."""


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as httpx's stream; closing it frees the connection."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except aiohttp.ClientError as exc:
            if (translated := _translate(exc)) is None:
                raise
            raise translated from exc

    async def aclose(self) -> None:
        """Back to the pool if the body was read to its end, else hang up."""
        if self._response.content.is_eof():
            self._response.release()
        else:
            self._response.close()


class _Read(httpx.AsyncByteStream):
    """A body already read whole (the response also holds it as its content)."""

    def __init__(self, body: bytes) -> None:
        self._bytes = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._bytes


_progress: ContextVar[Any] = ContextVar("broadcast_send_progress", default=None)
"""The ``SendProgress`` of the request this task is sending, for ``_Request.send``."""


class _Request(aiohttp.ClientRequest):
    """aiohttp's request, telling the send's progress once its headers are written.

    Cheaper than an ``aiohttp.TraceConfig``: a session with one fires half a dozen
    signals per request, which came to about 20 µs a message here.
    """

    async def send(self, conn: Connection) -> aiohttp.ClientResponse:
        """Write the request; from now on the provider may act on it."""
        response = await super().send(conn)
        progress = _progress.get()
        if progress is not None:
            progress.written = True
        return response


@lru_cache(maxsize=16)
def timeout_for(
    connect: float | None, read: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """The aiohttp timeouts for httpx's ``connect``, ``read`` and ``pool`` (None: unbounded)."""
    # aiohttp's ``connect`` covers waiting for a pooled connection and opening one.
    waited = None if pool is None or connect is None else pool + connect
    return aiohttp.ClientTimeout(total=None, connect=waited, sock_connect=connect, sock_read=read)


@lru_cache(maxsize=256)
def _url(url: str) -> yarl.URL:
    """``url`` parsed once (aiohttp would parse the string on every request)."""
    return yarl.URL(url)


def _extensions(response: aiohttp.ClientResponse) -> dict[str, Any]:
    return {
        "http_version": b"HTTP/1.1",
        "reason_phrase": (response.reason or "").encode("latin-1"),
    }


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send httpx requests through one aiohttp session, made on first use."""

    def __init__(
        self,
        *,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),  # noqa: B008 - immutable
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._limits = limits
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._base_raw: list[tuple[bytes, bytes]] = []
        self._base: dict[str, str] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 0,
            ssl=self._ssl if self._ssl is not None else httpx.create_ssl_context(),
        )
        # httpx keeps the cookies and decodes the content; aiohttp passes both through.
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            request_class=_Request,
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the answer's body streams (httpx reads it, or the caller)."""
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        response = await self.start(
            request.method,
            str(request.url),
            headers=request.headers.multi_items(),
            body=body or None,
            limits=timeout_for(timeout.get("connect"), timeout.get("read"), timeout.get("pool")),
            progress=request.extensions.get("broadcast.progress"),
        )
        return self.streamed(response, request)

    def headers_for(
        self, client: httpx.AsyncClient, headers: Mapping[str, str] | None
    ) -> dict[str, str]:
        """The client's default headers, overridden by ``headers`` (names are case-blind)."""
        raw = client.headers.raw
        if raw != self._base_raw:  # the client's headers changed (or first use)
            self._base_raw = raw
            self._base = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
        if not headers:
            return dict(self._base)
        return {**self._base, **{k.lower(): v for k, v in headers.items()}}

    @staticmethod
    def limits_for(
        client: httpx.AsyncClient, seconds: float | None, *, connect: float
    ) -> aiohttp.ClientTimeout:
        """One attempt's timeouts, as ``broadcast.http.request`` gives them to httpx."""
        if seconds is not None:
            return timeout_for(min(seconds, connect), None, seconds)
        limits = client.timeout
        return timeout_for(limits.connect, limits.read, limits.pool)

    async def start(
        self,
        method: str,
        url: str,
        *,
        headers: Any,
        body: bytes | None,
        limits: aiohttp.ClientTimeout,
        progress: Any,
    ) -> aiohttp.ClientResponse:
        """Send one request; return once the answer's head is in (errors are httpx's).

        ``progress`` (a ``broadcast.http.SendProgress``, or None) is told when the
        request is written, so a failure before that is known to have sent nothing.
        ``broadcast.http.request`` calls this directly for a client whose transport this
        is, skipping httpx's request and response machinery (``http.direct_transport``).
        """
        session = self._session if self._session is not None else self._open()
        if progress is not None:
            progress.tracked = True
        token = _progress.set(progress)
        try:
            return await session.request(
                method,
                _url(url),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=limits,
            )
        except aiohttp.ClientError as exc:
            if (translated := _translate(exc)) is None:
                raise
            raise translated from exc
        finally:
            _progress.reset(token)

    @staticmethod
    def streamed(response: aiohttp.ClientResponse, request: httpx.Request) -> httpx.Response:
        """``response`` as an httpx answer whose body is still to be read."""
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=_extensions(response),
        )

    @staticmethod
    async def read(
        response: aiohttp.ClientResponse, request: httpx.Request, *, limit: int
    ) -> httpx.Response | None:
        """``response`` read whole, if its body is plain and declared within ``limit``.

        None for any other body (chunked, compressed, or longer): the caller streams it
        through ``streamed``, so httpx decodes it and the cap is counted as it does.
        """
        length = response.content_length
        if request.method != "HEAD" and (
            length is None or length > limit or "Content-Encoding" in response.headers
        ):
            return None
        try:
            body = await response.read()
        except aiohttp.ClientError as exc:
            response.close()
            if (translated := _translate(exc)) is None:
                raise
            raise translated from exc
        except BaseException:  # cancelled or timed out mid-body: hang up, as _Body does
            response.close()
            raise
        response.release()
        answer = httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Read(body),
            request=request,
            extensions=_extensions(response),
        )
        # What ``Response(content=body)`` ends with, without its 30 µs of stream plumbing
        # (content, text, json and aiter_bytes all read this).
        answer._content = body
        return answer

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


# --- the direct path --------------------------------------------------------------
#
# The direct path: a request on broadcast's own client, sent without httpx's machinery.
#
# ``broadcast.http.request`` sends through ``httpx.AsyncClient.send`` unless the client's
# transport for the URL is exactly broadcast's ``AiohttpTransport`` (what ``new_client``
# makes) and the request needs nothing httpx adds: no ``auth``, ``params`` or form
# ``data``, no event hooks, no cookies, an absolute URL. Then it hands the request to the
# transport's aiohttp session itself. httpx's client builds a request, a response, a
# bound stream, a cookie extraction and a log line around every call: about a quarter
# of the client's CPU per message in an SMS fan-out (``benchmarks/PROFILE.md``).
#
# What stays the same: the client's default headers go out (the user-agent), its
# timeouts apply, the answer is an ``httpx.Response`` whose ``.request`` has the method
# and URL, a compressed or chunked answer is read through httpx (decoded, capped as
# before), errors are httpx's, and the ``httpx`` logger still gets its INFO line (only
# built when that level is on). respx keeps working: its ``httpx`` mocker replaces the
# client's transport lookup, so a mocked client never takes this path. A client given
# by the user with any other transport is sent through httpx as before.


_httpx_log = logging.getLogger("httpx")


@lru_cache(maxsize=256)
def _parsed(url: str) -> httpx.URL | None:
    """``url`` parsed, or None if it is not absolute (httpx would join it to a base)."""
    parsed = httpx.URL(url)
    return parsed if parsed.is_absolute_url else None


@lru_cache(maxsize=256)
def request_for(method: str, url: str) -> httpx.Request:
    """What a direct answer's ``.request`` says: the method and URL, built once for each."""
    return httpx.Request(method, url)


def direct_transport(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: object,
    data: object,
    auth: object,
) -> AiohttpTransport | None:
    """The transport to send ``url`` through directly; None: send it through httpx."""
    if params is not None or data is not None or auth is not None or client.is_closed:
        return None
    if client.auth is not None or client.cookies:
        return None
    hooks = client.event_hooks
    if hooks["request"] or hooks["response"] or (target := _parsed(url)) is None:
        return None
    # Private, but what respx's httpx mocker replaces: a mocked client answers a
    # TryTransport here, so it is sent through httpx and mocked as usual. An httpx
    # without it sends everything through httpx: slower, never wrong.
    lookup = getattr(client, "_transport_for_url", None)
    if lookup is None:
        return None
    transport = lookup(target)
    return transport if type(transport) is AiohttpTransport else None


def log_answer(response: httpx.Response) -> None:
    """The INFO line httpx logs for a request, built only when someone listens."""
    if _httpx_log.isEnabledFor(logging.INFO):
        request = response.request
        _httpx_log.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            "HTTP/1.1",
            response.status_code,
            response.reason_phrase,
        )
