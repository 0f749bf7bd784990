"""The channel author's toolkit: send over HTTP the way the built-in channels do.

Every HTTP channel, built-in or plugin, sends through ``post`` (reads, such as
``check()`` probes, through ``get``; or calls ``check_response`` on what ``request``
returned), so status classification, Retry-After handling and safe error text are
written once. Provider channels (X, Graph, Twilio) may first look at their own error
bodies (``provider_errors=``) and fall back to this.

What a failed call becomes, so the Broadcaster retries only what is safe to retry:

- ``NotSent``: the request never left (DNS, connect refused, TLS): retried freely;
- ``Unconfirmed``: it was sent and no answer came: it may have arrived, and is
  retried only by a channel whose receivers drop repeats;
- ``TransientError`` with ``retry_after``: the server answered "try later"
  (408, 425, 429, 5xx but 501/505), honouring ``Retry-After`` or a rate-limit reset;
- ``AuthError`` (401, 403) and ``PermanentError`` (any other status): not retried.

``ClientSlot`` holds the client: the Broadcaster's shared one (``use_http_client``),
one given by the user, or one made on first use (``new_client``). ``register_secret``
masks a credential in every log line (httpx's request log included), repr, report,
journal and CLI output, as the built-ins' are; a ``SecretStr`` setting of a
``ChannelSpec`` is registered for you.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import httpx

from ._errors import (
    AuthError,
    ChannelError,
    NotSent,
    PermanentError,
    TransientError,
    Unconfirmed,
)
from ._redact import excerpt, redact, register_secret, safe_origin
from ._retry import TRANSIENT_STATUS, retry_after_from_headers
from ._version import __version__

if TYPE_CHECKING:
    from .channels._aiohttp import AiohttpTransport

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "PROGRESS",
    "TRANSIENT_STATUS",
    "AuthError",
    "ClientSlot",
    "NotSent",
    "PermanentError",
    "SendProgress",
    "TransientError",
    "Unconfirmed",
    "check_response",
    "get",
    "json_field",
    "new_client",
    "post",
    "provider_message",
    "register_secret",
    "request",
    "retry_after_from_headers",
]

_MAX_DETAIL = 200
CONNECT_TIMEOUT = 5.0
MAX_RESPONSE_BYTES = 1_048_576
"""Most bytes of an answer ``request`` reads (after content decoding); API answers are
small, and an endpoint sending more is hung up on rather than held in memory."""


def new_client() -> httpx.AsyncClient:
    """The client broadcast makes when none is given: bounded timeouts, no redirects.

    The Broadcaster shares one among its HTTP channels; a channel used on its own
    makes one. Redirects are never followed: a signed body must not move.

    It sends over aiohttp (``AiohttpTransport``), not httpx's default transport:
    httpcore's pool does work per request that grows with the requests in flight and
    the connections held, so a fan-out at 50 concurrent ran at about a fifth of the
    rate (see benchmarks/sms_fanout.py). The API is still httpx's; tests mock it with
    ``respx.mock(using="httpx")``, which works whatever the transport.
    """
    from .channels._aiohttp import AiohttpTransport  # noqa: PLC0415 - imports aiohttp, lazily

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits),
        timeout=httpx.Timeout(15.0, connect=CONNECT_TIMEOUT),
        limits=limits,
        follow_redirects=False,
        headers={"user-agent": f"broadcast/{__version__}"},
    )


class ClientSlot:
    """Which httpx client an HTTP channel sends through.

    The caller's own client if one was given; else the Broadcaster's shared client
    while it is open (a later Broadcaster's replaces a closed one); else one the
    channel makes on first use and closes in ``aclose``.
    """

    def __init__(self, given: httpx.AsyncClient | None = None) -> None:
        self._given = given
        self._shared: httpx.AsyncClient | None = None
        self._own: httpx.AsyncClient | None = None

    def share(self, client: httpx.AsyncClient) -> None:
        """Use the Broadcaster's client from now on."""
        self._shared = client

    def get(self) -> httpx.AsyncClient:
        """The client to send through now."""
        if self._given is not None:
            return self._given
        if self._shared is not None and not self._shared.is_closed:
            return self._shared
        if self._own is None or self._own.is_closed:
            self._own = new_client()
        return self._own

    async def aclose(self) -> None:
        """Close the client the channel made itself, if any."""
        if self._own is not None:
            await self._own.aclose()
            self._own = None


def json_field(response: httpx.Response, *path: str) -> str:
    """The string at ``path`` in a successful JSON answer, or a PermanentError saying so.

    A provider that answered 2xx without the id we need has done something we cannot
    build on; retrying could post twice, so it is permanent.
    """
    try:
        value: Any = response.json()
    except ValueError:
        value = None
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        where = safe_origin(str(response.request.url))
        raise PermanentError(
            f"HTTP {response.status_code} from {where} without {'.'.join(path)} in its answer "
            "(it may have been acted on, so it is not sent again)"
        )
    return value


def provider_message(response: httpx.Response) -> str:
    """A short, safe excerpt of what the provider said, or ``""``.

    Understands problem+json (``title``/``detail``), ``{"error": {"message"}}``,
    ``{"message"}`` and plain text.
    """
    text = ""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else None
        listed = first.get("message") if isinstance(first, dict) else None
        parts = [body.get("detail"), body.get("title"), error, body.get("message"), listed]
        text = next((p for p in parts if isinstance(p, str) and p.strip()), "")
    elif body is None and response.headers.get("content-type", "").startswith("text/"):
        text = response.text
    return excerpt(text, _MAX_DETAIL)  # masked before it is cut


ProviderErrors = Callable[[httpx.Response], ChannelError | None]
"""A provider's own reading of an error response, tried before the generic one."""


def check_response(
    response: httpx.Response,
    *,
    wall_clock: Callable[[], float] = time.time,
    provider_errors: ProviderErrors | None = None,
) -> None:
    """Return if ``response`` is 2xx, else raise the classified ``ChannelError``."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if provider_errors is not None and (error := provider_errors(response)) is not None:
        raise error
    where = safe_origin(str(response.request.url))
    said = provider_message(response)
    reason = f"HTTP {status} {response.reason_phrase or ''}".rstrip() + f" from {where}"
    if said:
        reason += f": {said}"
    # The HTTP status is the error's code: a fan-out then knows the server answered,
    # unlike a broken connection (code None), and records it against that recipient.
    if status in TRANSIENT_STATUS:
        retry_after = retry_after_from_headers(response.headers, now=wall_clock())
        raise TransientError(reason, retry_after=retry_after, code=status)
    if status == 401:
        raise AuthError(
            f"{reason} (credentials rejected; check the channel's secret or token)", code=status
        )
    if status == 403:
        raise AuthError(
            f"{reason} (forbidden: credentials rejected or not allowed to do this)", code=status
        )
    if status == 410:
        raise PermanentError(
            f"{reason} (the receiver says this endpoint is gone: remove it or update its URL)",
            code=status,
        )
    if 300 <= status < 400:
        raise PermanentError(
            f"{reason} (redirects are not followed: point the channel at the final URL)",
            code=status,
        )
    raise PermanentError(reason, code=status)


@lru_cache(maxsize=16)
def _attempt_timeout(seconds: float) -> httpx.Timeout:
    """One attempt's timeout; connecting gets at most ``CONNECT_TIMEOUT`` of it.

    No read timeout: ``request`` bounds the whole exchange by ``seconds`` itself.
    """
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT), read=None)


class SendProgress:
    """How far one request got, set by a transport that can tell (``AiohttpTransport``).

    ``tracked`` says the transport keeps it up to date; ``written`` that the request's
    headers were handed to the connection, after which the provider may act on it.
    """

    __slots__ = ("tracked", "written")

    def __init__(self) -> None:
        self.tracked = False
        self.written = False


PROGRESS = "broadcast.progress"
"""The request extension under which ``request`` hands the transport a ``SendProgress``."""
_BEFORE_WRITING = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.WriteError,
    httpx.WriteTimeout,
)
"""Failures that leave no whole request at the provider: nothing can have been acted on."""


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - httpx's per-request timeout
) -> httpx.Response:
    """Send one request and return whatever answer came; network failures are transient.

    ``timeout`` bounds the **whole exchange** in seconds, from asking for a connection
    to the last byte of the answer (a server trickling one byte at a time cannot stretch
    it); connecting gets at most ``CONNECT_TIMEOUT`` of it. Without ``timeout`` the
    client's read timeout is the bound (15 s for the client broadcast makes).

    A failure before the request was written is ``NotSent`` (nothing went out: always
    safe to retry). One after it went out (no whole answer in time, a reset, an answer
    that broke off) is ``Unconfirmed``: the provider may have acted on it.

    The status is not judged here: ``post`` and ``get`` pass the answer to
    ``check_response``. Redirects are never followed, whatever the client says.
    An answer longer than ``MAX_RESPONSE_BYTES`` is not read: ``PermanentError``.

    A client whose transport is broadcast's own ``AiohttpTransport`` (the one
    ``new_client`` makes) is sent through directly, skipping httpx's request and
    response machinery, when nothing of httpx's is needed (``direct_transport``).
    """
    progress = SendProgress()
    target = url if isinstance(url, str) else str(url)
    direct = _direct(client, target, params=params, data=data, auth=auth)
    deadline = timeout if timeout is not None else _client_deadline(client)
    answered = False
    timer = asyncio.timeout(deadline)
    response: httpx.Response | None = None
    try:
        async with timer:
            try:
                if direct is None:
                    built = client.build_request(
                        method,
                        url,
                        params=params,
                        content=content,
                        data=data,
                        headers=headers,
                        timeout=_attempt_timeout(timeout)
                        if timeout is not None
                        else httpx.USE_CLIENT_DEFAULT,
                        extensions={PROGRESS: progress},
                    )
                    response = await client.send(
                        built,
                        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                        follow_redirects=False,
                        stream=True,
                    )
                    status = response.status_code
                else:
                    transport = direct
                    built = _aiohttp().request_for(method, target)
                    head = await transport.start(
                        method,
                        target,
                        headers=transport.headers_for(client, headers),
                        body=content,
                        limits=transport.limits_for(client, timeout, connect=CONNECT_TIMEOUT),
                        progress=progress,
                    )
                    status = head.status
            except httpx.TransportError as exc:
                raise _transport_error(exc, url, progress) from exc
            answered = True
            try:
                if direct is not None:
                    response = await transport.read(head, built, limit=MAX_RESPONSE_BYTES)
                    if response is not None:
                        _aiohttp().log_answer(response)
                        return response
                    response = transport.streamed(head, built)
                    _aiohttp().log_answer(response)
                assert response is not None  # noqa: S101 - set by either branch above
                return await _read_capped(response)
            except httpx.TransportError as exc:
                where = safe_origin(str(url))
                raise Unconfirmed(
                    f"the answer from {where} broke off after HTTP {status} ({type(exc).__name__})"
                ) from exc
            finally:
                if response is not None:
                    await response.aclose()
    except TimeoutError as exc:
        if not timer.expired():
            raise
        where = safe_origin(str(url))
        if progress.tracked and not progress.written:
            raise NotSent(f"could not send to {where} within {deadline:g}s") from exc
        said = "its answer did not end" if answered else "no answer came"
        raise Unconfirmed(f"{said} within {deadline:g}s from {where}") from exc


_AIOHTTP = "broadcast.channels._aiohttp"


def _aiohttp() -> Any:
    """Broadcast's aiohttp module, loaded by now (a client with its transport exists)."""
    return sys.modules[_AIOHTTP]


def _direct(
    client: httpx.AsyncClient, url: str, *, params: object, data: object, auth: object
) -> AiohttpTransport | None:
    """The transport to send ``url`` through directly (``channels/_aiohttp.py``), or None.

    Until something made an ``AiohttpTransport`` its module is not loaded, and then
    no client can hold one: every request goes through httpx.
    """
    module = sys.modules.get(_AIOHTTP)
    if module is None:
        return None
    transport: AiohttpTransport | None = module.direct_transport(
        client, url, params=params, data=data, auth=auth
    )
    return transport


def _client_deadline(client: httpx.AsyncClient) -> float:
    """The client's read timeout as a whole-exchange bound (15 s if it sets none)."""
    read = client.timeout.read
    return float(read) if read else 15.0


def _transport_error(
    exc: httpx.TransportError, url: str | httpx.URL, progress: SendProgress
) -> ChannelError:
    """A failure before any answer: ``NotSent`` if nothing went out, else ``Unconfirmed``.

    A certificate that does not verify is permanent: it will not verify next time.
    """
    where = safe_origin(str(url))
    if (refused := _certificate_error(exc)) is not None:
        return PermanentError(
            redact(f"TLS certificate of {where} not trusted: {refused} (nothing was sent)")
        )
    detail = "" if isinstance(exc, httpx.TimeoutException) or not str(exc) else f": {exc}"
    text = redact(f"{type(exc).__name__} talking to {where}{detail}")
    if isinstance(exc, _BEFORE_WRITING) or (progress.tracked and not progress.written):
        return NotSent(f"{text} (nothing was sent)")
    return Unconfirmed(text)


def _certificate_error(exc: BaseException) -> str | None:
    """The verification failure behind ``exc`` (through its causes), if there is one."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain, not a cycle: a few links at most
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            inner = getattr(seen, "certificate_error", None)  # aiohttp wraps the original
            if isinstance(inner, ssl.SSLCertVerificationError):
                seen = inner
            return str(getattr(seen, "verify_message", None) or seen)
        seen = seen.__cause__ or seen.__context__
    return None


async def _read_capped(response: httpx.Response) -> httpx.Response:
    """``response`` with its body read, or ``PermanentError`` past ``MAX_RESPONSE_BYTES``.

    A plain body with a Content-Length within the cap is read as httpx reads it: the
    length bounds it. A declared length over the cap fails before anything is read
    (HEAD aside: its Content-Length describes a body never sent). Any other body
    (chunked, or compressed, which can inflate far past its length) is counted as it
    is decoded and reading stops one chunk past the cap. A provider sending that much
    will not send less on retry, hence permanent.
    """
    headers = response.headers
    declared = headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    if response.request.method == "HEAD" or (
        length is not None and length <= MAX_RESPONSE_BYTES and "content-encoding" not in headers
    ):
        await response.aread()
        return response
    chunks: list[bytes] = []
    size = length if length is not None and length > MAX_RESPONSE_BYTES else 0
    if size <= MAX_RESPONSE_BYTES:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                break
            chunks.append(chunk)
    if size > MAX_RESPONSE_BYTES:
        where = safe_origin(str(response.request.url))
        raise PermanentError(
            f"response from {where} larger than {MAX_RESPONSE_BYTES // 1_048_576} MiB; not read",
            code=response.status_code,
        )
    if "content-encoding" in headers:  # decoded already: the answer handed on must not say so
        headers = httpx.Headers(
            [(k, v) for k, v in headers.raw if k.lower() != b"content-encoding"]
        )
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=response.request,
        extensions=response.extensions,
        default_encoding=response.default_encoding,
    )


async def post(
    client: httpx.AsyncClient,
    url: str | httpx.URL,
    *,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - httpx's per-request timeout
    wall_clock: Callable[[], float] = time.time,
    provider_errors: ProviderErrors | None = None,
) -> httpx.Response:
    """POST and classify: network failures are transient, statuses per ``check_response``.

    ``timeout`` bounds one attempt in seconds, as in ``request``. On broadcast's own
    client a ``str`` URL is parsed once and remembered (``channels/_aiohttp.py``).
    """
    response = await request(
        client, "POST", url, content=content, data=data, headers=headers, auth=auth, timeout=timeout
    )
    check_response(response, wall_clock=wall_clock, provider_errors=provider_errors)
    return response


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - httpx's per-request timeout
    wall_clock: Callable[[], float] = time.time,
    provider_errors: ProviderErrors | None = None,
) -> httpx.Response:
    """GET and classify exactly as ``post`` does; for reads such as a ``check()`` probe."""
    response = await request(
        client, "GET", url, params=params, headers=headers, auth=auth, timeout=timeout
    )
    check_response(response, wall_clock=wall_clock, provider_errors=provider_errors)
    return response
