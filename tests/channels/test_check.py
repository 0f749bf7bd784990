from __future__ import annotations

import asyncio
import base64
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx
import trustme

from broadcast import AuthError, ChannelError, PermanentError, TransientError
from broadcast._channel import Checkable, Delivery
from broadcast.api._check import NO_PROBE, CheckResult, check_channels
from broadcast.channels import Email, FacebookPage, TwilioSMS, Twitter, Webhook
from broadcast.testing import LoopbackServer, RecordingChannel, Reply, Text

from ..conftest import SECRET
from ..smtp_server import Recorder, authenticator, free_port, smtp_server, tls_contexts

# --- provider fixtures, shaped as the providers document them --------------------------

X_ME = "https://api.x.com/2/users/me"
X_CREDS = {
    "consumer_key": "ck-123",
    "consumer_secret": "cs-secret-456",
    "access_token": "370773112-at",
    "access_token_secret": "ats-secret-789",
}
X_ME_BODY = {"data": {"id": "2244994945", "name": "X Dev", "username": "XDevelopers"}}
X_UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}

PAGE_ID = "123456789012345"
PAGE_TOKEN = "EAAB-page-token"
GRAPH_PAGE = f"https://graph.facebook.com/v23.0/{PAGE_ID}"
PROOF = "2041874cf677f28474003d490c1294b18ddd048bffddbb9ccb7a200a19faf6f4"  # providers.md §2
GRAPH_EXPIRED = {
    "error": {
        "message": "Error validating access token: Session has expired on Tuesday, 19-Apr-11.",
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 463,
        "fbtrace_id": "EJplcsCHuLu",
    }
}

SID = "AC" + "a" * 32
TWILIO_TOKEN = "twilio-auth-token-123"
ACCOUNT = f"https://api.twilio.com/2010-04-01/Accounts/{SID}.json"
FROM = "+15005550006"
TWILIO_UNAUTHENTICATED = {
    "code": 20003,
    "message": "Authenticate",
    "more_info": "https://www.twilio.com/docs/errors/20003",
    "status": 401,
}


def twilio_account(status: str = "active") -> dict[str, Any]:
    """Twilio's documented Account resource."""
    return {
        "auth_token": "[Redacted]",
        "date_created": "Thu, 30 Jul 2015 20:00:00 +0000",
        "date_updated": "Thu, 30 Jul 2015 20:00:00 +0000",
        "friendly_name": "My first Twilio account",
        "owner_account_sid": SID,
        "sid": SID,
        "status": status,
        "subresource_uris": {},
        "type": "Full",
        "uri": f"/2010-04-01/Accounts/{SID}.json",
    }


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """respx for the provider APIs; an unmocked request (any POST included) fails the test."""
    with respx.mock(using="httpx", assert_all_called=False) as router:
        yield router


def _no_writes(router: respx.MockRouter) -> None:
    assert router.calls, "no request was made"
    assert {call.request.method for call in router.calls} == {"GET"}


def _twilio(**options: Any) -> TwilioSMS:
    if "messaging_service_sid" not in options:
        options["from_"] = FROM
    return TwilioSMS(SID, TWILIO_TOKEN, recipients=["+14155550100"], **options)


# --- X ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["oauth1", "bearer"])
async def test_twitter_check_names_the_account(api: respx.MockRouter, kind: str) -> None:
    """GET /2/users/me, signed as deliver signs, gives the @username and id; nothing posted."""
    route = api.get(X_ME).respond(200, json=X_ME_BODY)
    creds = X_CREDS if kind == "oauth1" else {"bearer_token": "user-access-token-1"}
    channel = Twitter(**creds)
    assert await channel.check() == "authenticated as @XDevelopers (id 2244994945)"
    await channel.aclose()
    [call] = route.calls
    authorization = call.request.headers["authorization"]
    if kind == "oauth1":
        assert authorization.startswith("OAuth ")
        assert 'oauth_consumer_key="ck-123"' in authorization
        assert "oauth_signature=" in authorization
    else:
        assert authorization == "Bearer user-access-token-1"
    assert call.request.content == b""
    _no_writes(api)


async def test_twitter_refused_credentials_are_an_auth_error(api: respx.MockRouter) -> None:
    """X's 401 problem+json is an AuthError; no credential is in its text."""
    api.get(X_ME).respond(
        401, json=X_UNAUTHORIZED, headers={"content-type": "application/problem+json"}
    )
    channel = Twitter(**X_CREDS)
    with pytest.raises(AuthError, match=r"HTTP 401 .*credentials rejected") as info:
        await channel.check()
    await channel.aclose()
    for secret in X_CREDS.values():
        assert secret not in str(info.value)
    _no_writes(api)


async def test_twitter_answer_without_username_is_a_failure(api: respx.MockRouter) -> None:
    """A 200 that does not name the account is not a pass."""
    api.get(X_ME).respond(200, json={"data": {"id": "2244994945"}})
    channel = Twitter(bearer_token="user-access-token-1")
    with pytest.raises(PermanentError, match=r"without data\.username"):
        await channel.check()
    await channel.aclose()


# --- Facebook --------------------------------------------------------------------------


async def test_facebook_check_reads_the_page_name(api: respx.MockRouter) -> None:
    """GET /{page-id}?fields=name with the token in a header and the appsecret_proof."""
    route = api.get(GRAPH_PAGE).respond(200, json={"name": "PlayStation", "id": PAGE_ID})
    channel = FacebookPage(PAGE_ID, PAGE_TOKEN, app_secret="app-secret")
    assert await channel.check() == f"page 'PlayStation' (id {PAGE_ID})"
    await channel.aclose()
    [call] = route.calls
    assert dict(call.request.url.params) == {"fields": "name", "appsecret_proof": PROOF}
    assert call.request.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    assert PAGE_TOKEN not in str(call.request.url)
    _no_writes(api)


async def test_facebook_without_app_secret_sends_no_proof(api: respx.MockRouter) -> None:
    """Without an app secret only fields=name is in the query."""
    route = api.get(GRAPH_PAGE).respond(200, json={"name": "PlayStation", "id": PAGE_ID})
    channel = FacebookPage(PAGE_ID, PAGE_TOKEN)
    await channel.check()
    await channel.aclose()
    assert dict(route.calls.last.request.url.params) == {"fields": "name"}


async def test_facebook_expired_token_is_an_auth_error(api: respx.MockRouter) -> None:
    """Graph code 190 goes through the channel's own classification: AuthError, no token."""
    api.get(GRAPH_PAGE).respond(400, json=GRAPH_EXPIRED)
    channel = FacebookPage(PAGE_ID, PAGE_TOKEN, app_secret="app-secret")
    with pytest.raises(AuthError, match=r"Page access token rejected.*the token expired") as info:
        await channel.check()
    await channel.aclose()
    assert info.value.code == 190
    assert PAGE_TOKEN not in str(info.value)
    assert PROOF not in str(info.value)
    _no_writes(api)


# --- Twilio ----------------------------------------------------------------------------


async def test_twilio_check_confirms_an_active_account(api: respx.MockRouter) -> None:
    """The account fetch, with Basic auth, says the account is active and who sends."""
    route = api.get(ACCOUNT).respond(200, json=twilio_account())
    channel = _twilio()
    detail = await channel.check()
    await channel.aclose()
    assert detail == f"account 'My first Twilio account' is active; sending from {FROM}"
    [call] = route.calls
    basic = base64.b64encode(f"{SID}:{TWILIO_TOKEN}".encode()).decode()
    assert call.request.headers["authorization"] == f"Basic {basic}"
    _no_writes(api)


async def test_twilio_check_names_the_messaging_service(api: respx.MockRouter) -> None:
    """With a Messaging Service instead of a number, the line names the service."""
    api.get(ACCOUNT).respond(200, json=twilio_account())
    channel = _twilio(messaging_service_sid="MG" + "b" * 32)
    assert (await channel.check()).endswith(f"sending from messaging service MG{'b' * 32}")
    await channel.aclose()


@pytest.mark.parametrize("status", ["suspended", "closed"])
async def test_twilio_inactive_account_fails(api: respx.MockRouter, status: str) -> None:
    """A suspended or closed account is a PermanentError saying so (not an auth error)."""
    api.get(ACCOUNT).respond(200, json=twilio_account(status))
    channel = _twilio()
    with pytest.raises(PermanentError, match=f"'My first Twilio account' is {status}") as info:
        await channel.check()
    await channel.aclose()
    assert not isinstance(info.value, AuthError)


async def test_twilio_refused_credentials_are_an_auth_error(api: respx.MockRouter) -> None:
    """Twilio's 401 with code 20003 is an AuthError; the token is not in its text."""
    api.get(ACCOUNT).respond(401, json=TWILIO_UNAUTHENTICATED)
    channel = _twilio()
    with pytest.raises(AuthError, match="Twilio 20003: Authenticate") as info:
        await channel.check()
    await channel.aclose()
    assert TWILIO_TOKEN not in str(info.value)
    _no_writes(api)


# --- Email -----------------------------------------------------------------------------


@dataclass
class Watcher(Recorder):
    """Recorder that also notes MAIL, RCPT, DATA and QUIT, and TLS and AUTH at QUIT."""

    commands: list[str] = field(default_factory=list)
    at_quit: list[tuple[bool, bool]] = field(default_factory=list)
    refuse_ehlo: bool = False

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.refuse_ehlo:
            return ["554 5.7.1 not talking to you"]
        return await super().handle_EHLO(server, session, envelope, hostname, responses)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.commands.append("MAIL")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.commands.append("RCPT")
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.commands.append("DATA")
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.commands.append("QUIT")
        self.at_quit.append((session.ssl is not None, bool(session.authenticated)))
        return "221 Bye"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _email(port: int, **options: Any) -> Email:
    return Email("127.0.0.1", port, sender="status@example.com", recipients=[], **options)


async def test_email_check_does_starttls_and_auth_then_quits(ca: trustme.CA) -> None:
    """STARTTLS (verified) and AUTH succeed, then QUIT; no MAIL, RCPT or DATA is sent."""
    server_ctx, client_ctx = tls_contexts(ca)
    watcher = Watcher()
    with smtp_server(
        watcher,
        tls_context=server_ctx,
        authenticator=authenticator("ops@example.com", "s3cret-pw"),
        auth_require_tls=True,
        auth_required=True,
    ) as port:
        channel = _email(
            port, username="ops@example.com", password="s3cret-pw", tls_context=client_ctx
        )
        detail = await channel.check()
    assert detail == f"127.0.0.1:{port} accepted STARTTLS and AUTH as ops@example.com"
    assert "s3cret-pw" not in detail
    assert watcher.commands == ["QUIT"]
    assert watcher.at_quit == [(True, True)]
    assert watcher.messages == []


async def test_email_check_wrong_password_is_an_auth_error(ca: trustme.CA) -> None:
    """Refused credentials raise AuthError; the password is not in its text; nothing sent."""
    server_ctx, client_ctx = tls_contexts(ca)
    watcher = Watcher()
    with smtp_server(
        watcher,
        tls_context=server_ctx,
        authenticator=authenticator("ops", "right"),
        auth_require_tls=True,
        auth_required=True,
    ) as port:
        channel = _email(port, username="ops", password="wrong-pw-123", tls_context=client_ctx)
        with pytest.raises(AuthError, match="credentials rejected") as info:
            await channel.check()
    assert "wrong-pw-123" not in str(info.value)
    assert base64.b64encode(b"\0ops\0wrong-pw-123").decode() not in str(info.value)
    assert watcher.connections >= 1  # it got as far as EHLO (counted again after STARTTLS)
    assert watcher.messages == []
    assert "MAIL" not in watcher.commands


async def test_email_check_nothing_listening_is_transient() -> None:
    """No server on the port: a TransientError saying it cannot reach the server."""
    port = free_port()
    reason = re.escape(f"cannot reach SMTP server 127.0.0.1:{port}")
    with pytest.raises(TransientError, match=reason):
        await _email(port, tls="none").check()


async def test_email_check_untrusted_certificate_fails(ca: trustme.CA) -> None:
    """Certificates are verified as deliver verifies them: an unknown CA is refused."""
    server_ctx, _ = tls_contexts(ca)
    with (
        smtp_server(Watcher(), tls_context=server_ctx) as port,
        pytest.raises(PermanentError, match=re.escape("TLS certificate of 127.0.0.1")),
    ):
        await _email(port).check()


async def test_email_check_without_tls_or_auth_still_says_ehlo() -> None:
    """tls='none' with no login: EHLO is still exchanged before QUIT, and the line says so."""
    watcher = Watcher()
    with smtp_server(watcher) as port:
        detail = await _email(port, tls="none").check()
    assert detail == f"127.0.0.1:{port} answered EHLO (no TLS: tls='none'); no AUTH configured"
    assert watcher.connections == 1  # counted on EHLO
    assert watcher.commands == ["QUIT"]
    assert watcher.at_quit == [(False, False)]


async def test_email_check_refused_ehlo_fails() -> None:
    """A server that refuses EHLO fails the check with its own reply; nothing else is sent."""
    watcher = Watcher(refuse_ehlo=True)
    with (
        smtp_server(watcher) as port,
        pytest.raises(PermanentError, match=re.escape("SMTP 554 5.7.1 not talking to you")),
    ):
        await _email(port, tls="none").check()
    assert watcher.commands == []


# --- Webhook ---------------------------------------------------------------------------


@pytest.fixture
def head_server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:  # it records and answers HEAD like any method
        yield srv


async def test_webhook_check_sends_one_unsigned_head(head_server: LoopbackServer) -> None:
    """A HEAD with the channel's headers and no body, signature or id; any status is reachable."""
    head_server.script(Reply(405))
    webhook = Webhook(
        f"{head_server.url}/hook/T0KEN", secret=SECRET, headers={"Authorization": "Bearer tk-1"}
    )
    detail = await webhook.check()
    await webhook.aclose()
    assert detail == f"{head_server.url} reachable (HTTP 405)"
    [request] = head_server.requests
    assert request.method == "HEAD"
    assert request.path == "/hook/T0KEN"
    assert request.body == b""
    assert request.headers["authorization"] == "Bearer tk-1"
    assert not {"webhook-signature", "webhook-id", "webhook-timestamp"} & set(request.headers)
    assert "content-length" not in request.headers


async def test_webhook_check_sends_url_credentials_as_basic_auth(
    head_server: LoopbackServer,
) -> None:
    """user:password in the URL goes as Basic auth, and is not in the answer."""
    host = head_server.url.removeprefix("http://")
    webhook = Webhook(f"http://ops:pa55word@{host}/hook")
    detail = await webhook.check()
    await webhook.aclose()
    assert detail == f"{head_server.url} reachable (HTTP 200)"
    basic = base64.b64encode(b"ops:pa55word").decode()
    assert head_server.requests[0].headers["authorization"] == f"Basic {basic}"


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, AuthError, "credentials rejected"),
        (403, AuthError, "credentials rejected"),
        (404, PermanentError, "HTTP 404"),
        (410, PermanentError, "endpoint is gone"),
    ],
)
async def test_webhook_check_refusals_fail(
    head_server: LoopbackServer, status: int, kind: type[Exception], words: str
) -> None:
    """401/403 are AuthError, 404/410 PermanentError; the URL's token is not in the text."""
    head_server.script(Reply(status))
    webhook = Webhook(f"{head_server.url}/hook/T0KEN")
    with pytest.raises(kind, match=words) as info:
        await webhook.check()
    await webhook.aclose()
    assert "T0KEN" not in str(info.value)
    assert len(head_server.requests) == 1
    if kind is PermanentError:
        assert not isinstance(info.value, AuthError)


async def test_webhook_check_does_not_follow_redirects(head_server: LoopbackServer) -> None:
    """A redirect is reachable, with a note that deliver will not follow it; it is not followed."""
    head_server.script(Reply(301, headers={"location": f"{head_server.url}/elsewhere"}))
    webhook = Webhook(f"{head_server.url}/hook")
    detail = await webhook.check()
    await webhook.aclose()
    assert detail == f"{head_server.url} reachable (HTTP 301; deliver will not follow redirects)"
    assert [r.path for r in head_server.requests] == ["/hook"]


async def test_webhook_check_closed_port_is_a_clear_failure() -> None:
    """Nothing listening: a ChannelError naming the origin, not the path's token."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    webhook = Webhook(f"http://127.0.0.1:{port}/hook/T0KEN")
    where = re.escape(f"talking to http://127.0.0.1:{port}")
    with pytest.raises(ChannelError, match=where) as info:
        await webhook.check()
    await webhook.aclose()
    assert "T0KEN" not in str(info.value)
    assert "\n" not in str(info.value)


# --- check_channels --------------------------------------------------------------------


class Probe:
    """A channel whose check() answers, raises or waits as told."""

    def __init__(
        self,
        name: str,
        *,
        answer: str = "fine",
        error: BaseException | None = None,
        wait_for: asyncio.Event | None = None,
        then_set: asyncio.Event | None = None,
    ) -> None:
        self.name = name
        self.closed = False
        self._answer = answer
        self._error = error
        self._wait_for = wait_for
        self._then_set = then_set

    def render(self, update: object, /) -> Text:
        return Text(self.name)

    async def deliver(self, rendered: Text, /) -> Delivery:
        raise AssertionError("check_channels must never deliver")

    async def check(self) -> str:
        if self._wait_for is not None:
            await self._wait_for.wait()
        if self._then_set is not None:
            self._then_set.set()
        if self._error is not None:
            raise self._error
        return self._answer

    async def aclose(self) -> None:
        self.closed = True


class HTTPProbe(Probe):
    """A Probe that takes the shared HTTP client and checks it is open while probing."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.clients: list[httpx.AsyncClient] = []

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        self.clients.append(client)

    async def check(self) -> str:
        return f"client open: {not self.clients[-1].is_closed}"


async def test_hanging_probe_times_out_without_delaying_others() -> None:
    """A check that never answers fails after the timeout; the others answer at once."""
    never = asyncio.Event()
    channels = [Probe("slow", wait_for=never), Probe("a"), Probe("b", answer="also fine")]
    async with asyncio.timeout(5):
        results = await check_channels(channels, timeout=0.2)
    slow, a, b = results
    assert slow == CheckResult("slow", False, "no answer within 0.2 s", slow.elapsed)
    assert slow.elapsed >= 0.2
    assert (a.ok, a.detail, b.ok, b.detail) == (True, "fine", True, "also fine")
    assert a.elapsed < 0.2
    assert b.elapsed < 0.2


async def test_results_keep_the_channels_order() -> None:
    """Results come in the channels' order, not the order the probes finish in."""
    second_done = asyncio.Event()
    channels = [
        Probe("first", answer="1", wait_for=second_done),
        Probe("second", answer="2", then_set=second_done),
    ]
    results = await check_channels(channels)
    assert [(r.channel, r.detail) for r in results] == [("first", "1"), ("second", "2")]


async def test_crashing_probe_is_a_failed_result() -> None:
    """An unexpected exception is ok=False with its type and message; the others pass."""
    channels = [Probe("bad", error=RuntimeError("boom\n  at line 3")), Probe("good")]
    bad, good = await check_channels(channels)
    assert (bad.ok, bad.detail) == (False, "RuntimeError: boom at line 3")
    assert good.ok


async def test_channel_error_keeps_its_own_reason() -> None:
    """A refused credential is reported with the channel's own reason, not a type name."""
    [result] = await check_channels([Probe("x", error=AuthError("HTTP 401 from https://x"))])
    assert (result.ok, result.detail) == (False, "HTTP 401 from https://x")


async def test_timeout_raised_by_a_check_is_not_mistaken_for_no_answer() -> None:
    """A TimeoutError of the check's own is reported as such, not as the probe's timeout."""
    [result] = await check_channels([Probe("x", error=TimeoutError("SMTP read timed out"))])
    assert (result.ok, result.detail) == (False, "TimeoutError: SMTP read timed out")


async def test_secrets_in_errors_and_answers_are_redacted() -> None:
    """A secret in an exception message, or in a check's own line, is masked."""
    channels = [
        Probe("leaky", error=ValueError("bad url https://ops:hunter2@x.example/?token=abc123")),
        Probe("chatty", answer="ok with Bearer abcdefghijklmnop"),
    ]
    leaky, chatty = await check_channels(channels)
    for result in (leaky, chatty):
        assert "hunter2" not in result.detail
        assert "abc123" not in result.detail
        assert "abcdefghijklmnop" not in result.detail
    assert leaky.detail.startswith("ValueError: bad url https://***@x.example/")
    assert chatty.ok


async def test_channel_without_check_passes_unprobed() -> None:
    """A channel with no check() passes, saying its credentials were not checked."""
    recording = RecordingChannel("plain")
    assert not isinstance(recording, Checkable)
    [result] = await check_channels([recording])
    assert result == CheckResult("plain", True, NO_PROBE, result.elapsed)
    assert "not checked" in result.detail
    assert recording.calls == 0


async def test_http_channels_share_one_client_closed_afterwards() -> None:
    """HTTP channels get one open client during the probes; it is closed after, channels not."""
    one, two, plain = HTTPProbe("one"), HTTPProbe("two"), Probe("plain")
    results = await check_channels([one, two, plain])
    assert [r.detail for r in results[:2]] == ["client open: True"] * 2
    [client] = one.clients
    assert two.clients == [client]
    assert client.is_closed
    assert [c.closed for c in (one, two, plain)] == [False, False, False]


async def test_elapsed_uses_the_injected_clock() -> None:
    """``elapsed`` is measured with the given clock."""
    ticks = iter([10.0, 12.5])
    [result] = await check_channels([Probe("x")], clock=lambda: next(ticks))
    assert result.elapsed == 2.5


async def test_built_in_channels_checked_together(api: respx.MockRouter) -> None:
    """X, Graph and Twilio probed at once through a shared client; a refusal fails only itself."""
    api.get(X_ME).respond(200, json=X_ME_BODY)
    api.get(GRAPH_PAGE).respond(400, json=GRAPH_EXPIRED)
    api.get(ACCOUNT).respond(200, json=twilio_account())
    channels: list[Any] = [Twitter(**X_CREDS), FacebookPage(PAGE_ID, PAGE_TOKEN), _twilio()]
    results = await check_channels(channels)
    assert [(r.channel, r.ok) for r in results] == [
        ("twitter", True),
        ("facebook", False),
        ("sms", True),
    ]
    assert results[1].detail.startswith("Page access token rejected")
    assert PAGE_TOKEN not in results[1].detail
    _no_writes(api)
    # The shared client is closed; a channel used alone afterwards makes its own.
    assert (await channels[0].check()).startswith("authenticated as @XDevelopers")
    for channel in channels:
        await channel.aclose()
