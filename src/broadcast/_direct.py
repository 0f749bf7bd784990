"""The direct path: a request on broadcast's own client, sent without httpx's machinery.

``broadcast.http.request`` sends through ``httpx.AsyncClient.send`` unless the client's
transport for the URL is exactly broadcast's ``AiohttpTransport`` (what ``new_client``
makes) and the request needs nothing httpx adds: no ``auth``, ``params`` or form
``data``, no event hooks, no cookies, an absolute URL. Then it hands the request to the
transport's aiohttp session itself. httpx's client builds a request, a response, a
bound stream, a cookie extraction and a log line around every call, and those came to
about a third of the client's CPU per message in an SMS fan-out
(``benchmarks/PROFILE.md``).

What stays the same: the client's default headers go out (the user-agent), its
timeouts apply, the answer is an ``httpx.Response`` whose ``.request`` has the method
and URL, a compressed or chunked answer is read through httpx (decoded, capped as
before), errors are httpx's, and the ``httpx`` logger still gets its INFO line (only
built when that level is on). respx keeps working: its ``httpx`` mocker replaces the
client's transport lookup, so a mocked client never takes this path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    import aiohttp

    from .channels._aiohttp import AiohttpTransport

__all__ = ["attempt_timeout", "direct_transport", "log_answer", "merged_headers", "request_for"]

_httpx_log = logging.getLogger("httpx")


@lru_cache(maxsize=256)
def _parsed(url: str) -> httpx.URL:
    return httpx.URL(url)


@lru_cache(maxsize=256)
def request_for(method: str, url: httpx.URL) -> httpx.Request:
    """What a direct answer's ``.request`` says: the method and URL, built once for each."""
    return httpx.Request(method, url)


def direct_transport(
    client: httpx.AsyncClient,
    url: str | httpx.URL,
    *,
    params: object,
    data: object,
    auth: object,
) -> tuple[AiohttpTransport, httpx.URL] | None:
    """The transport to send through directly, and the parsed URL; None: go through httpx."""
    if params is not None or data is not None or auth is not None or client.is_closed:
        return None
    if client.auth is not None or client.cookies:
        return None
    hooks = client.event_hooks
    if hooks["request"] or hooks["response"]:
        return None
    target = url if isinstance(url, httpx.URL) else _parsed(url)
    if not target.is_absolute_url:
        return None
    # Private, but what respx's httpx mocker replaces: a mocked client answers a
    # TryTransport here, so it is sent through httpx and mocked as usual.
    transport = client._transport_for_url(target)
    from .channels._aiohttp import AiohttpTransport  # noqa: PLC0415 - loaded with the transport

    return (transport, target) if type(transport) is AiohttpTransport else None


def merged_headers(client: httpx.AsyncClient, headers: Mapping[str, str] | None) -> dict[str, str]:
    """The client's default headers, overridden by ``headers`` (names are case-blind)."""
    merged = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in client.headers.raw}
    if headers:
        merged.update((k.lower(), v) for k, v in headers.items())
    return merged


def attempt_timeout(
    client: httpx.AsyncClient, seconds: float | None, connect: float
) -> aiohttp.ClientTimeout:
    """The timeouts of one attempt for aiohttp, as ``request`` gives them to httpx."""
    from .channels._aiohttp import timeout_for  # noqa: PLC0415 - loaded with the transport

    if seconds is not None:
        return timeout_for(min(seconds, connect), None, seconds)
    limits = client.timeout
    return timeout_for(limits.connect, limits.read, limits.pool)


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
