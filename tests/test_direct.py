"""The direct path: broadcast's own client sends without httpx's machinery, same answers."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
import respx

from broadcast import Broadcaster, NotSent, Unconfirmed, Update, make_update
from broadcast._scope import SendScope, entered, scoped_sleep
from broadcast.channels import Delivery
from broadcast.channels._aiohttp import AiohttpTransport, direct_transport
from broadcast.http import new_client, post
from broadcast.testing import LoopbackServer, Reply

URL = "http://127.0.0.1:9/hook"
GUARD = 30.0  # seconds; only a guard against a hang, never waited out when all is well


def _direct(client: httpx.AsyncClient, url: str = URL, **kwargs: object) -> object:
    options: dict[str, object] = {"params": None, "data": None, "auth": None} | kwargs
    return direct_transport(client, url, **options)  # type: ignore[arg-type]


async def test_broadcasts_own_client_is_sent_directly() -> None:
    """new_client() goes straight to its AiohttpTransport: no httpx request per message."""
    async with new_client() as client:
        assert isinstance(_direct(client), AiohttpTransport)


async def test_anything_httpx_must_do_goes_through_httpx() -> None:
    """Auth, params, form data, hooks, a relative URL or another transport: not direct."""
    async with new_client() as client:
        assert _direct(client, auth=httpx.BasicAuth("u", "p")) is None
        assert _direct(client, params={"a": "1"}) is None
        assert _direct(client, data={"a": "1"}) is None
        assert _direct(client, "/hook") is None
    async with httpx.AsyncClient(
        transport=AiohttpTransport(), event_hooks={"request": [print]}
    ) as hooked:
        assert _direct(hooked) is None
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200))
    ) as mocked:
        assert _direct(mocked) is None


async def test_respx_still_mocks_broadcasts_own_client() -> None:
    """Under respx's httpx mocker the client is sent through httpx, so the route answers."""
    async with new_client() as client:
        with respx.mock(using="httpx") as mock:
            route = mock.post(URL).respond(201, json={"id": "r-1"})
            assert _direct(client) is None
            response = await post(client, URL, content=b"{}")
    assert route.called
    assert response.json() == {"id": "r-1"}


async def test_a_direct_answer_reads_as_httpx_would(caplog: pytest.LogCaptureFixture) -> None:
    """Client headers go out; the answer has status, headers, JSON, its request and httpx's log."""
    with LoopbackServer() as server:
        server.script(Reply(201, body=b'{"sid": "SM1"}', headers={"x-request-id": "r-1"}))
        url = f"{server.url}/hook"
        async with new_client() as client:
            assert _direct(client, url) is not None
            with caplog.at_level(logging.INFO, logger="httpx"):
                response = await post(client, url, content=b"{}", headers={"X-One": "1"})
    assert (response.status_code, response.json()) == (201, {"sid": "SM1"})
    assert response.headers["x-request-id"] == "r-1"
    assert (response.request.method, str(response.request.url)) == ("POST", url)
    sent = server.requests[0].headers
    assert sent["user-agent"].startswith("broadcast/")
    assert sent["x-one"] == "1"
    assert f'HTTP Request: POST {url} "HTTP/1.1 201 Created"' in caplog.text


async def test_no_answer_after_writing_is_unconfirmed() -> None:
    """Headers written, no answer in time: it may have arrived (Unconfirmed, not NotSent)."""
    with LoopbackServer() as server:
        server.script(Reply(hang=True))
        async with new_client() as client:
            with pytest.raises(Unconfirmed, match="no answer came"):
                await asyncio.wait_for(
                    post(client, f"{server.url}/hook", content=b"{}", timeout=0.3), GUARD
                )


async def test_waiting_for_a_connection_past_the_timeout_is_not_sent() -> None:
    """A request that never got a connection (the pool is full) sent nothing: NotSent."""
    limits = httpx.Limits(max_connections=1)
    with LoopbackServer() as server:
        server.script(Reply(hang=True))
        url = f"{server.url}/hook"
        async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits)) as client:
            # Scheduled first, so it takes the only connection before the second asks.
            first = asyncio.create_task(post(client, url, content=b"{}", timeout=GUARD))
            with pytest.raises(NotSent, match="could not send"):
                await asyncio.wait_for(post(client, url, content=b"{}", timeout=0.3), GUARD)
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)


def test_an_updates_key_is_computed_once_and_a_changed_copy_gets_its_own(update: Update) -> None:
    """Update.key is kept (frozen model); model_copy(update=...) and make_update recompute."""
    key = update.key
    assert update.key is key
    assert update.to_document()["key"] == key
    changed = update.model_copy(update={"title": "PSN is back"})
    assert changed.key != key
    assert changed.key == make_update(update, title="PSN is back").key
    assert update.model_copy().key == key


async def test_a_lone_channel_runs_in_the_senders_task(update: Update) -> None:
    """With one channel there is no task per send: deliver runs in the caller's task."""
    seen: list[asyncio.Task[object] | None] = []

    class Here:
        name = "here"

        def render(self, update: Update, /) -> str:
            return update.title

        async def deliver(self, rendered: str, /) -> Delivery:
            seen.append(asyncio.current_task())
            return Delivery(ids=("1",))

        async def aclose(self) -> None:
            pass

    async with Broadcaster([Here()], journal=None) as b:
        report = await b.send(update)
    assert report.ok
    assert seen == [asyncio.current_task()]


async def test_a_scoped_sleep_ends_when_its_sends_scope_is_stopped() -> None:
    """The Broadcaster's one retry sleep is cut short by the stop of the scope it runs in."""
    forever = asyncio.Event()

    async def never(seconds: float) -> None:
        await forever.wait()

    sleep = scoped_sleep(never)
    scope = SendScope()
    with entered(scope):
        waiting = asyncio.create_task(sleep(60.0))
    await asyncio.sleep(0)
    assert not waiting.done()
    scope.request_stop("stopped by SIGTERM")
    await asyncio.wait_for(waiting, GUARD)
