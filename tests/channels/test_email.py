from __future__ import annotations

import asyncio
import base64
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import trustme
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from broadcast import Broadcaster, Outcome, Receipt, RetryPolicy, SQLiteJournal, Update
from broadcast.channels import Email
from broadcast.channels._email import normalise_address
from broadcast.channels._email_address import _full_check
from broadcast.channels._email_message import render_email, thread_root
from broadcast.testing import FakeClock, fast_retries

from ..smtp_server import Recorder, authenticator, free_port, smtp_server, tls_contexts

SENDER = "PSN Status <status@example.com>"
PEOPLE = ["alex@example.com", "sam@example.org", "robin@example.net"]


def _email(port: int, recipients: object = PEOPLE, **options: object) -> Email:
    options.setdefault("tls", "none")
    return Email("127.0.0.1", port, sender=SENDER, recipients=recipients, **options)  # type: ignore[arg-type]


async def _send(channel: Email, update: Update, retry: RetryPolicy | None = None) -> Receipt:
    async with Broadcaster([channel], retry=retry) as broadcaster:
        return (await broadcaster.send(update))[channel.name]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def port(recorder: Recorder) -> Iterator[int]:
    with smtp_server(recorder) as p:
        yield p


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=4, deadline=600, sleep=clock.sleep, clock=clock)


# --- message content -----------------------------------------------------------------


async def test_each_recipient_gets_their_own_multipart_message(
    recorder: Recorder, port: int, update: Update
) -> None:
    """Every recipient gets an individual multipart/alternative message naming only them."""
    receipt = await _send(_email(port), update)
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.accepted == 3
    assert sorted(recorder.recipients()) == sorted(PEOPLE)
    for received in recorder.messages:
        assert len(received.rcpt_tos) == 1
        msg = received.message
        assert msg["To"] == received.rcpt_tos[0]
        assert msg.get_all("Cc") is None
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        assert received.mail_from == "status@example.com"
    ids = {m.message["Message-ID"] for m in recorder.messages}
    assert len(ids) == 3


async def test_message_carries_every_fact(recorder: Recorder, port: int, update: Update) -> None:
    """Subject, text and HTML carry status, severity, paragraphs, author, next update, link."""
    await _send(_email(port, ["alex@example.com"]), update)
    msg = recorder.messages[0].message
    assert msg["Subject"] == "[Investigating] PlayStation Network is down"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for part in (text, html):
        assert "Sign-in and the Store are affected." in part
        assert "Head of Network Operations" in part
        assert "by 23:00 UTC" in part
        assert "https://status.example.com/psn" in part
        assert "Investigating" in part
        assert "Major" in part
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"] == "Wed, 20 Apr 2011 22:00:00 +0000"


async def test_critical_severity_is_in_the_subject(
    recorder: Recorder, port: int, make_update: Callable[..., Update]
) -> None:
    """A critical update says so in the subject."""
    await _send(_email(port, ["alex@example.com"]), make_update(severity="critical"))
    assert recorder.messages[0].message["Subject"].startswith("[Investigating | Critical] ")


async def test_html_is_escaped(
    recorder: Recorder, port: int, make_update: Callable[..., Update]
) -> None:
    """Markup from the update never reaches the HTML part raw."""
    update = make_update(
        title="<b>PSN</b> & friends",
        body='<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>',
        author="Ops <ops@example.com>",
        url='https://status.example.com/x?a=1&b="2"',
    )
    await _send(_email(port, ["alex@example.com"]), update)
    html = recorder.messages[0].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;PSN&lt;/b&gt; &amp; friends" in html
    assert 'href="https://status.example.com/x?a=1&amp;b=&quot;2&quot;"' in html


async def test_no_header_injection(recorder: Recorder, port: int, update: Update) -> None:
    """A CR/LF smuggled into a title (bypassing validation) cannot add a header."""
    evil = update.model_copy(update={"title": "Down\r\nBcc: victim@evil.example\r\nX-Evil: 1"})
    await _send(_email(port, ["alex@example.com"]), evil)
    msg = recorder.messages[0].message
    assert msg.get_all("Bcc") is None
    assert msg.get_all("X-Evil") is None
    assert recorder.recipients() == ["alex@example.com"]
    assert "\n" not in msg["Subject"]


async def test_follow_up_threads_under_the_same_root(
    recorder: Recorder, port: int, make_update: Callable[..., Update]
) -> None:
    """Every update of an incident replies to one root Message-ID derived from the incident."""
    channel = _email(port, ["alex@example.com"])
    await _send(channel, make_update())
    await _send(_email(port, ["alex@example.com"]), make_update(status="resolved", body="Fixed."))
    first, follow_up = (m.message for m in recorder.messages)
    root = "<incident.psn-2011-04@example.com>"
    assert first["In-Reply-To"] == follow_up["In-Reply-To"] == root
    assert first["References"] == follow_up["References"] == root
    assert first["Message-ID"] != follow_up["Message-ID"]
    assert follow_up["Subject"].startswith("[Resolved]")


async def test_optional_headers(recorder: Recorder, port: int, update: Update) -> None:
    """Reply-To and RFC 8058 one-click List-Unsubscribe headers are added when configured."""
    channel = _email(
        port,
        ["alex@example.com"],
        reply_to="support@example.com",
        list_unsubscribe=["https://example.com/u/abc", "mailto:unsub@example.com"],
    )
    await _send(channel, update)
    msg = recorder.messages[0].message
    assert msg["Reply-To"] == "support@example.com"
    assert msg["List-Unsubscribe"] == "<https://example.com/u/abc>, <mailto:unsub@example.com>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_render_is_pure_and_previewable(update: Update) -> None:
    """render() gives identical bytes each time and a readable preview."""
    channel = Email("smtp.example.com", sender=SENDER, recipients=PEOPLE)
    a, b = channel.render(update), channel.render(update)
    assert a == b
    assert a.message_for("alex@example.com") == b.message_for("alex@example.com")
    assert a.preview().startswith("Subject: [Investigating] PlayStation Network is down\n")


# --- recipients ----------------------------------------------------------------------


def test_invalid_addresses_are_rejected_up_front() -> None:
    """A list with bad addresses is a ValueError listing each of them."""
    with pytest.raises(ValueError, match=r"2 invalid recipient\(s\): 'not-an-address'.*'a@b@c'"):
        Email(
            "smtp.example.com",
            sender=SENDER,
            recipients=["ok@example.com", "not-an-address", "a@b@c"],
        )


async def test_duplicates_are_dropped(recorder: Recorder, port: int, update: Update) -> None:
    """The same address twice (any case of the domain) is sent once."""
    people = ["alex@example.com", "alex@EXAMPLE.com", " alex@example.com ", "sam@example.org"]
    receipt = await _send(_email(port, people), update)
    assert sorted(recorder.recipients()) == ["alex@example.com", "sam@example.org"]
    assert receipt.accepted == 2


async def test_streamed_invalid_addresses_are_reported(
    recorder: Recorder, port: int, update: Update
) -> None:
    """Invalid addresses met while streaming are listed as rejected; the rest are sent."""
    receipt = await _send(
        _email(port, iter(["alex@example.com", "broken@", "sam@example.org"])), update
    )
    assert receipt.outcome is Outcome.PARTIAL
    [rejection] = receipt.rejected
    assert rejection.recipient == "broken@"
    assert rejection.reason.startswith("invalid:")


async def test_ten_thousand_recipients_stream_from_a_generator(
    recorder: Recorder, port: int, update: Update
) -> None:
    """10,000 recipients from a generator are all sent, read only a little ahead of sending."""
    lead: list[int] = []

    def people() -> Iterator[str]:
        for i in range(10_000):
            lead.append(i - len(recorder.messages))
            yield f"user{i}@example.com"

    receipt = await _send(_email(port, people, pool_size=8), update)
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.accepted == 10_000
    assert len(set(recorder.recipients())) == 10_000
    assert len(recorder.messages) == 10_000
    assert max(lead) <= 8 * 8 + 8 + 8  # queue + one in hand per worker + slack


async def test_async_iterable_recipients(recorder: Recorder, port: int, update: Update) -> None:
    """An async iterable (a database cursor, say) works as a recipient source."""

    async def cursor() -> AsyncIterator[str]:
        for person in PEOPLE:
            yield person

    receipt = await _send(_email(port, cursor()), update)
    assert receipt.accepted == 3


async def test_callable_source_can_send_twice(
    recorder: Recorder, port: int, make_update: Callable[..., Update]
) -> None:
    """A callable recipient source is re-read on each send."""
    channel = _email(port, lambda: iter(PEOPLE))
    async with Broadcaster([channel]) as broadcaster:
        await broadcaster.send(make_update())
        await broadcaster.send(make_update(status="resolved"))
    assert len(recorder.messages) == 6


# --- failure modes -------------------------------------------------------------------


async def test_rejected_recipients_are_accounted(update: Update) -> None:
    """550 for some recipients gives a partial Receipt listing them with their SMTP codes."""
    recorder = Recorder(reject={"sam@example.org"})
    with smtp_server(recorder) as port:
        receipt = await _send(_email(port), update)
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 2
    [rejection] = receipt.rejected
    assert rejection.recipient == "sam@example.org"
    assert rejection.code == 550
    assert "mailbox unavailable" in rejection.reason
    assert receipt.reason.startswith(
        "1 of 3 recipients not reached (first: sam@example.org: SMTP 550"
    )


async def test_all_rejected_is_failed(update: Update) -> None:
    """When every recipient is refused the channel failed."""
    with smtp_server(Recorder(reject=set(PEOPLE))) as port:
        receipt = await _send(_email(port), update)
    assert receipt.outcome is Outcome.FAILED
    assert receipt.reason.startswith("all 3 recipients rejected")


@pytest.mark.parametrize(
    "reply", ["451 4.3.0 Temporary failure, try again", "421 4.7.0 Too busy, closing"]
)
async def test_temporary_failure_is_retried(
    update: Update, fast: RetryPolicy, clock: FakeClock, reply: str
) -> None:
    """421 and 451 answers are retried (with backoff, reconnecting) until the server accepts."""
    recorder = Recorder(defer_data=2, defer_reply=reply)
    with smtp_server(recorder) as port:
        receipt = await _send(_email(port, ["alex@example.com"], retry=fast), update)
    assert receipt.outcome is Outcome.DELIVERED
    assert len(recorder.messages) == 1
    assert len(clock.sleeps) == 2


async def test_dropped_connection_reconnects_without_loss_or_duplicates(
    update: Update, fast: RetryPolicy
) -> None:
    """A server hanging up every 7 messages costs reconnects, not recipients or duplicates."""
    recorder = Recorder(close_after=7)
    people = [f"user{i}@example.com" for i in range(100)]
    with smtp_server(recorder) as port:
        receipt = await _send(_email(port, people, pool_size=3, retry=fast), update)
    assert receipt.outcome is Outcome.DELIVERED
    assert sorted(recorder.recipients()) == sorted(people)
    assert len(recorder.messages) == 100
    assert recorder.connections > 3


async def test_unreachable_server_fails_before_reading_recipients(update: Update) -> None:
    """Nothing listening: the channel fails transiently and no recipient was read."""
    read: list[str] = []

    def people() -> Iterator[str]:
        read.append("x")
        yield "alex@example.com"

    channel = _email(free_port(), people)
    receipt = await _send(channel, update, fast_retries(attempts=2))
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 2
    assert "cannot reach SMTP server 127.0.0.1" in receipt.reason
    assert read == []


# --- TLS and auth --------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_starttls_with_verified_certificate_and_auth(ca: trustme.CA, update: Update) -> None:
    """STARTTLS is used with certificate verification on, and AUTH happens over TLS."""
    server_ctx, client_ctx = tls_contexts(ca)
    recorder = Recorder()
    with smtp_server(
        recorder,
        tls_context=server_ctx,
        authenticator=authenticator("ops", "s3cret-pw"),
        auth_require_tls=True,
        auth_required=True,
    ) as port:
        channel = Email(
            "127.0.0.1",
            port,
            sender=SENDER,
            recipients=["alex@example.com"],
            username="ops",
            password="s3cret-pw",
            tls="starttls",
            tls_context=client_ctx,
        )
        receipt = await _send(channel, update)
    assert receipt.outcome is Outcome.DELIVERED
    assert len(recorder.messages) == 1


async def test_wrong_password_is_an_auth_failure(
    ca: trustme.CA, update: Update, caplog: pytest.LogCaptureFixture
) -> None:
    """Rejected credentials fail permanently, once; the password is nowhere in logs or Report."""
    caplog.set_level(logging.DEBUG)
    server_ctx, client_ctx = tls_contexts(ca)
    with smtp_server(
        Recorder(),
        tls_context=server_ctx,
        authenticator=authenticator("ops", "right"),
        auth_require_tls=True,
        auth_required=True,
    ) as port:
        channel = Email(
            "127.0.0.1",
            port,
            sender=SENDER,
            recipients=["alex@example.com"],
            username="ops",
            password="wrong-pw-123",
            tls_context=client_ctx,
        )
        receipt = await _send(channel, update)
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 1
    assert "credentials rejected" in receipt.reason
    for form in ("wrong-pw-123", base64.b64encode(b"\0ops\0wrong-pw-123").decode()):
        assert form not in (receipt.reason or "")
        assert form not in caplog.text
        assert form not in repr(receipt)


async def test_untrusted_certificate_is_refused(ca: trustme.CA, update: Update) -> None:
    """With verification on, a certificate from an unknown CA is a permanent failure."""
    server_ctx, _ = tls_contexts(ca)
    with smtp_server(Recorder(), tls_context=server_ctx) as port:
        channel = Email("127.0.0.1", port, sender=SENDER, recipients=["alex@example.com"])
        receipt = await _send(channel, update)
    assert receipt.outcome is Outcome.FAILED
    assert "TLS certificate of 127.0.0.1" in receipt.reason
    assert receipt.attempts == 1


async def test_starttls_is_required_by_default(
    recorder: Recorder, port: int, update: Update
) -> None:
    """A server without STARTTLS is refused unless tls='none' was chosen explicitly."""
    channel = Email("127.0.0.1", port, sender=SENDER, recipients=["alex@example.com"])
    receipt = await _send(channel, update)
    assert receipt.outcome is Outcome.FAILED
    assert "does not offer STARTTLS" in receipt.reason
    assert recorder.messages == []


def test_tls_none_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Opting out of TLS is logged as a warning."""
    with caplog.at_level(logging.WARNING, logger="broadcast"):
        Email("smtp.example.com", 25, sender=SENDER, recipients=PEOPLE, tls="none", password="pw")
    assert "tls='none': mail and the SMTP password travels unencrypted" in caplog.text


def test_repr_has_no_password() -> None:
    """The password never appears in the channel's repr."""
    channel = Email(
        "smtp.example.com", sender=SENDER, recipients=PEOPLE, username="ops", password="hunter2-xyz"
    )
    assert "hunter2-xyz" not in repr(channel)
    assert "hunter2-xyz" not in repr(vars(channel))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tls": "ssl"}, "tls must be"),
        ({"pool_size": 0}, "pool_size"),
        ({"sender": "nobody"}, "email address"),
        ({"list_unsubscribe": "http://example.com/u"}, "https:// or mailto:"),
        ({"reply_to": "not valid"}, "email address"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, object], message: str) -> None:
    """Bad constructor options raise ValueError saying what is wrong."""
    kwargs: dict[str, object] = {"sender": SENDER, "recipients": PEOPLE, **options}
    with pytest.raises(ValueError, match=message):
        Email("smtp.example.com", **kwargs)  # type: ignore[arg-type]


async def test_long_subject_is_one_clean_header(
    recorder: Recorder, port: int, make_update: Callable[..., Update]
) -> None:
    """A long subject arrives as written, with no stray leading space from folding."""
    title = "PlayStation Network is down; we are investigating the cause right now"
    await _send(_email(port, ["alex@example.com"]), make_update(title=title, severity="critical"))
    msg = recorder.messages[0].message
    assert msg["Subject"] == f"[Investigating | Critical] {title}"
    body_lines = recorder.messages[0].content.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    assert max(len(line) for line in body_lines) <= 78


async def test_server_dying_mid_send_is_partial(update: Update, fast: RetryPolicy) -> None:
    """A server that goes away mid-list gives a partial Receipt saying the rest was not sent."""
    recorder = Recorder(die_after=5)
    people = [f"user{i}@example.com" for i in range(40)]
    with smtp_server(recorder) as port:
        receipt = await _send(_email(port, people, pool_size=1, retry=fast), update)
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 5
    assert "stopped early" in (receipt.reason or "")
    assert "the remaining recipients were not sent" in (receipt.reason or "")
    assert len(set(recorder.recipients())) == len(recorder.recipients()) == 5


async def test_credentials_rejected_mid_send_is_partial(update: Update, fast: RetryPolicy) -> None:
    """Login refused on a reconnect stops the send; the Receipt is partial, not delivered."""
    recorder = Recorder(close_after=2)
    with smtp_server(
        recorder,
        authenticator=authenticator("ops", "pw-123", logins=1),
        auth_require_tls=False,
    ) as port:
        channel = _email(
            port,
            [f"user{i}@example.com" for i in range(6)],
            pool_size=1,
            retry=fast,
            username="ops",
            password="pw-123",
        )
        receipt = await _send(channel, update)
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 2
    assert "credentials rejected" in (receipt.reason or "")


async def test_broken_recipient_source_stops_cleanly(
    recorder: Recorder, port: int, update: Update
) -> None:
    """A recipient source that raises mid-list gives a partial Receipt naming the error."""

    def people() -> Iterator[str]:
        yield "alex@example.com"
        yield "sam@example.org"
        raise OSError("disk read error")

    receipt = await _send(_email(port, people), update)
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 2
    assert "reading the recipient list failed: OSError: disk read error" in (receipt.reason or "")


async def test_max_duration_ends_a_long_send(recorder: Recorder, port: int, update: Update) -> None:
    """A send cut off by max_duration stops promptly and still counts who got it."""
    people = (f"user{i}@example.com" for i in range(50_000))
    receipt = await _send(_email(port, people, pool_size=4, max_duration=0.3), update)
    assert receipt.outcome is Outcome.PARTIAL
    assert "stopped at its deadline (0.3s)" in (receipt.reason or "")
    assert 0 < len(recorder.messages) < 50_000
    assert receipt.accepted == len(recorder.messages)  # what was in flight was drained
    assert receipt.details["not_sent"] > 0


async def test_display_name_is_quoted(recorder: Recorder, port: int, update: Update) -> None:
    """A sender name with a comma stays one address in From."""
    channel = Email(
        "127.0.0.1",
        port,
        sender='"Status, PSN" <status@example.com>',
        recipients=["alex@example.com"],
        tls="none",
    )
    await _send(channel, update)
    sender = recorder.messages[0].message["From"]
    assert len(sender.addresses) == 1
    assert sender.addresses[0].display_name == "Status, PSN"


@pytest.mark.parametrize(
    "address",
    [
        "alex@example.com",
        "Alex.Smith+psn@Example.COM",
        "o'brien@sub.example.co.uk",
        "x@a-b.example.org",
        "user@xn--bcher-kva.example",
        "user@bücher.example",
        "dörte@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a@example",
        "a" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_fast_address_check_agrees_with_email_validator(address: str) -> None:
    """The fast path gives exactly what email-validator gives, or fails the same way."""
    try:
        expected = _full_check(address)
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc)[:40])):
            normalise_address(address)
    else:
        assert normalise_address(address) == expected


# --- every session ends with QUIT (RFC 5321 section 4.1.1.10) --------------------------------


async def test_every_session_ends_with_quit(recorder: Recorder, port: int, update: Update) -> None:
    """Each pooled connection says QUIT when the send is over."""
    people = [f"user{i}@example.com" for i in range(12)]
    receipt = await _send(_email(port, people, pool_size=3), update)
    assert receipt.accepted == 12
    assert recorder.connections == 3
    assert recorder.quits == recorder.connections


class _Counting(Recorder):
    """Sets ``received`` once ``expected`` messages are in."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.received = threading.Event()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) >= self.expected:
            self.received.set()
        return reply


async def test_a_cancelled_send_still_says_quit(update: Update) -> None:
    """Cancelling a send midway (a Broadcaster timeout does) closes each session with QUIT."""
    recorder = _Counting(expected=len(PEOPLE))
    forever = asyncio.Event()

    async def people() -> AsyncIterator[str]:
        for person in PEOPLE:
            yield person
        await forever.wait()  # the list never ends: only a cancel stops the send

    with smtp_server(recorder) as port:
        channel = _email(port, people(), pool_size=2)
        task = asyncio.create_task(channel.deliver(channel.render(update)))
        assert await asyncio.to_thread(recorder.received.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert recorder.connections == 2
    assert recorder.quits == 2


async def test_a_send_cut_by_max_duration_says_quit(update: Update) -> None:
    """A send stopped at max_duration closes each session with QUIT too."""
    recorder = _Counting(expected=len(PEOPLE))
    forever = asyncio.Event()

    async def people() -> AsyncIterator[str]:
        for person in PEOPLE:
            yield person
        await forever.wait()

    with smtp_server(recorder) as port:
        receipt = await _send(_email(port, people(), pool_size=2, max_duration=0.3), update)
    assert receipt.outcome is Outcome.PARTIAL
    assert recorder.connections == 2
    assert recorder.quits == 2


async def test_an_unanswered_quit_does_not_hold_up_the_close(update: Update) -> None:
    """A server that never answers QUIT is hung up on after quit_timeout, not timeout."""
    recorder = Recorder(mute_quit=True)
    with smtp_server(recorder) as port:
        started = time.monotonic()
        receipt = await _send(_email(port, pool_size=2, quit_timeout=0.05, timeout=30), update)
        elapsed = time.monotonic() - started
    assert receipt.outcome is Outcome.DELIVERED
    assert recorder.quits == recorder.connections == 2
    assert elapsed < 5  # an unbounded QUIT would wait the 30-second command timeout


# --- Message-IDs: RFC 5322 section 3.6.4 ----------------------------------------------------

# RFC 5322: msg-id = "<" id-left "@" id-right ">"; id-left = dot-atom-text;
# id-right = dot-atom-text / no-fold-literal; dot-atom-text = 1*atext *("." 1*atext).
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
DOT_ATOM_TEXT = rf"{ATEXT}+(?:\.{ATEXT}+)*"
NO_FOLD_LITERAL = r"\[[\x21-\x5a\x5e-\x7e]*\]"
MSG_ID = re.compile(rf"<{DOT_ATOM_TEXT}@(?:{DOT_ATOM_TEXT}|{NO_FOLD_LITERAL})>")

INCIDENT_IDS = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,5}(\.\.|\.$|-\.|\._)[a-z0-9.]{0,5}", fullmatch=True),
    st.text(max_size=70),
)


def _accepted_update(incident: str, **fields: object) -> Update | None:
    """An update of ``incident``, or None if Update does not accept the id."""
    try:
        return Update(
            title="PlayStation Network is down",
            body="We are investigating.",
            incident=incident,
            created_at=datetime(2011, 4, 20, 22, 0, tzinfo=UTC),
            **fields,  # type: ignore[arg-type]
        )
    except ValidationError:
        return None


@settings(max_examples=300, deadline=None)
@given(INCIDENT_IDS)
def test_every_accepted_incident_id_gives_valid_msg_ids(incident: str) -> None:
    """Whatever id Update accepts ('a..b' and 'a.' included), every msg-id sent is valid."""
    update = _accepted_update(incident)
    assume(update is not None)
    assert update is not None
    follow_up = _accepted_update(incident, status="resolved")
    assert follow_up is not None
    first = render_email(update, sender=SENDER, domain="example.com")
    later = render_email(follow_up, sender=SENDER, domain="example.com")
    assert MSG_ID.fullmatch(first.thread_root), first.thread_root
    assert first.thread_root == later.thread_root  # follow-ups find the same thread
    message = message_from_bytes(first.message_for("alex@example.com"), policy=policy.default)
    for header in ("Message-ID", "In-Reply-To", "References"):
        assert MSG_ID.fullmatch(message[header]), (header, message[header])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=70), st.text(max_size=70))
def test_any_id_gives_one_valid_msg_id_of_its_own(first: str, second: str) -> None:
    """Any string, even one Update refuses today, gives a valid msg-id, and never another's."""
    assert MSG_ID.fullmatch(thread_root(first, "example.com"))
    assert thread_root(first, "example.com") == thread_root(first, "example.com")
    if first != second:
        assert thread_root(first, "example.com") != thread_root(second, "example.com")


@pytest.mark.parametrize(
    ("incident", "root"),
    [
        ("psn-2011-04", "<incident.psn-2011-04@example.com>"),  # unchanged: threads go on
        ("a..b", "<incident-x.612e2e62@example.com>"),
        ("a.", "<incident-x.612e@example.com>"),
    ],
)
def test_ids_that_are_no_dot_atom_are_hex_encoded(incident: str, root: str) -> None:
    """An id that is dot-atom text is kept as it is; any other is written as hex."""
    assert thread_root(incident, "example.com") == root


async def test_a_recorded_root_that_is_no_msg_id_gives_way(
    recorder: Recorder, port: int, make_update: Callable[..., Update], tmp_path: Path
) -> None:
    """A thread root recorded before ids were encoded (<incident.a..b@...>) is not reused."""
    journal = SQLiteJournal(tmp_path / "journal.db")
    await journal.record_part("email", "a..b", "0" * 64, 0, "<incident.a..b@example.com>")
    channel = _email(port, ["alex@example.com"])
    async with Broadcaster([channel], journal=journal) as broadcaster:
        await broadcaster.send(make_update(incident="a..b"))
    await journal.aclose()
    (received,) = recorder.messages
    assert received.message["In-Reply-To"] == "<incident-x.612e2e62@example.com>"


def test_title_alone_renders_without_empty_parts(make_update: Callable[..., Update]) -> None:
    """A title-only update: the title once, then the facts; no empty paragraph in either part."""
    template = render_email(
        make_update(title="We are investigating.", body=""), sender=SENDER, domain="example.com"
    )
    assert template.text.startswith("We are investigating.\n\nStatus: Investigating\n")
    assert template.text.count("We are investigating.") == 1
    assert "Next update: by 23:00 UTC\n" in template.text
    assert "<p></p>" not in template.html
    assert "</h1>\n<table>" in template.html
    assert "None" not in template.text + template.html


def test_footer_dates_the_update_as_people_read_it(update: Update) -> None:
    """The footer gives the update's time and date in the documented format."""
    template = render_email(update, sender=SENDER, domain="example.com")
    assert template.text.rstrip().endswith("· 22:00 UTC on 20 Apr 2011")
