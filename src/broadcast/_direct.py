"""The direct path: a request on broadcast's own client, sent without httpx's machinery.

``broadcast.http.request`` sends through ``httpx.AsyncClient.send`` unless the client's
transport for the URL is exactly broadcast's ``AiohttpTransport`` (what ``new_client``
makes) and the request needs nothing httpx adds: no ``auth``, ``params`` or form
``data``, no event hooks, no cookies, an absolute URL. Then it hands the request to the
transport's aiohttp session itself. httpx's client builds a request, a response, a
bound stream, a cookie extraction and a log line around every call: about a quarter
of the client's CPU per message in an SMS fan-out (``benchmarks/PROFILE.md``).

What stays the same: the client's default headers go out (the user-agent), its
timeouts apply, the answer is an ``httpx.Response`` whose ``.request`` has the method
and URL, a compressed or chunked answer is read through httpx (decoded, capped as
before), errors are httpx's, and the ``httpx`` logger still gets its INFO line (only
built when that level is on). respx keeps working: its ``httpx`` mocker replaces the
client's transport lookup, so a mocked client never takes this path. A client given
by the user with any other transport is sent through httpx as before.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from .channels._aiohttp import AiohttpTransport

__all__ = ["direct_transport", "log_answer", "request_for"]

_httpx_log = logging.getLogger("httpx")
_transport_type: type[AiohttpTransport] | None = None
"""``AiohttpTransport`` once something imported it (no client can hold one before)."""


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
    global _transport_type  # noqa: PLW0603 - set once, on first use
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
    if _transport_type is None:
        from .channels._aiohttp import AiohttpTransport  # noqa: PLC0415 - aiohttp, lazily

        _transport_type = AiohttpTransport
    return transport if type(transport) is _transport_type else None


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
