from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcast import Broadcaster, Outcome, RetryPolicy, SQLiteJournal, Update
from broadcast._errors import ConfigError
from broadcast.api._check import check_channels
from broadcast.channels._registry import spec
from broadcast.channels._telegram import Telegram, chat_id
from broadcast.config._env import Env
from broadcast.testing import FakeClock, LoopbackServer, Reply
from broadcast.testing._providers.telegram import TelegramFake, visible_text
from broadcast.text._cut import utf16_length
from broadcast.text._telegram import MAX_TELEGRAM_TEXT, render_telegram

NASTY = "Tom & Jerry <b>not bold</b> a<b & c>d &amp; @everyone <script>x</script> 1 < 2 > 0"


@pytest.fixture
def bot() -> Iterator[TelegramFake]:
    with TelegramFake() as fake:
        yield fake


def channel(bot: TelegramFake, clock: FakeClock | None = None, **options: object) -> Telegram:
    clock = clock or FakeClock()
    retry = RetryPolicy(attempts=3, deadline=600, jitter=0, sleep=clock.sleep, clock=clock)
    return Telegram(
        bot.token,
        list(bot.chats),
        base_url=bot.url,
        retry=retry,
        clock=clock,
        sleep=clock.sleep,
        **options,  # type: ignore[arg-type]
    )


def test_render_escapes_user_text_so_telegram_shows_it_verbatim(
    make_update: Callable[..., Update],
) -> None:
    """&, < and > of user text are escaped: Telegram parses it back to exactly what was written."""
    message = render_telegram(make_update(title=f"Title {NASTY}", body=NASTY))
    assert visible_text(message.html) == message.text
    assert f"Title {NASTY}" in message.text
    assert message.text.count(NASTY) == 2
    assert message.html.startswith("<b>[Investigating] Title Tom &amp; Jerry &lt;b&gt;")


def test_render_carries_the_same_facts(make_update: Callable[..., Update]) -> None:
    """Status, severity, author, link and next-update time, as on every channel."""
    text = render_telegram(make_update(severity="critical")).text
    for fact in (
        "[Investigating | Critical]",
        "— Head of Network Operations",
        "Details: https://status.example.com/psn",
        "Next update by 23:00 UTC.",
    ):
        assert fact in text


def test_too_long_is_cut_at_a_word_counting_utf16_after_parsing(
    make_update: Callable[..., Update],
) -> None:
    """Emoji count 2 UTF-16 units and &amp; counts 1: the cut fits 4,096 units, link kept."""
    body = " ".join(["outage🔥&"] * 1500)  # 1,500 words of 10 units = 15,000 units
    message = render_telegram(make_update(body=body))
    assert message.shortened
    assert message.length == utf16_length(message.text) <= MAX_TELEGRAM_TEXT
    assert message.length > MAX_TELEGRAM_TEXT - 20  # cut near the limit, not far below it
    assert len(message.text) < message.length  # counted in UTF-16, not code points
    assert message.text.endswith("Details: https://status.example.com/psn")
    kept = message.text.split("\n\n")[1]
    assert kept.endswith("outage🔥&…")  # whole words only
    assert visible_text(message.html) == message.text
    assert "4096 UTF-16 units" in message.preview()


async def test_follow_ups_reply_to_the_first_message_in_each_chat(
    bot: TelegramFake, make_update: Callable[..., Update], tmp_path: Path
) -> None:
    """Per chat, each follow-up carries reply_parameters to that chat's first message."""
    telegram = channel(bot)
    journal = SQLiteJournal(tmp_path / "j.db")
    async with Broadcaster([telegram], journal=journal) as broadcaster:
        first = await broadcaster.send(make_update())
        bot.update_number = 2
        second = await broadcaster.send(make_update(status="identified", body="Found it."))
    await journal.aclose()
    assert [r.outcome for r in (*first.receipts, *second.receipts)] == [Outcome.DELIVERED] * 2
    for chat in bot.chats:
        opening, follow_up = bot.in_chat(chat)
        assert (opening.reply_to, follow_up.reply_to) == (None, opening.message_id)
    assert len({m.reply_to for m in bot.messages if m.update == 2}) == 2  # one per chat
    assert bot.verified()


async def test_threading_survives_a_second_process(
    bot: TelegramFake, make_update: Callable[..., Update], tmp_path: Path
) -> None:
    """Two Broadcaster runs sharing only the SQLite file: the follow-up replies to the first."""
    path = tmp_path / "journal.db"
    for number, update in enumerate(
        (make_update(), make_update(status="monitoring", body="A fix is rolling out.")), 1
    ):
        bot.update_number = number
        journal = SQLiteJournal(path)
        async with Broadcaster([channel(bot)], journal=journal) as broadcaster:
            report = await broadcaster.send(update)
        await journal.aclose()
        assert report.receipts[0].outcome is Outcome.DELIVERED
    firsts = {m.chat: m.message_id for m in bot.messages if m.update == 1}
    assert {m.chat: m.reply_to for m in bot.messages if m.update == 2} == firsts


async def test_a_rerun_posts_nothing_twice(
    bot: TelegramFake, update: Update, tmp_path: Path
) -> None:
    """The same update sent again (a new process, same journal) is skipped."""
    path = tmp_path / "journal.db"
    outcomes = []
    for _ in range(2):
        journal = SQLiteJournal(path)
        async with Broadcaster([channel(bot)], journal=journal) as broadcaster:
            outcomes.append((await broadcaster.send(update)).receipts[0].outcome)
        await journal.aclose()
    assert len(bot.messages) == len(bot.chats)
    assert outcomes == [Outcome.DELIVERED, Outcome.SKIPPED]


async def test_retry_after_in_the_body_is_honoured(bot: TelegramFake, update: Update) -> None:
    """A 429 with parameters.retry_after waits that long, then sends once."""
    clock = FakeClock()
    bot.throttle(1, retry_after=7)
    async with Broadcaster([channel(bot, clock)], journal=None) as broadcaster:
        report = await broadcaster.send(update)
    assert report.receipts[0].outcome is Outcome.DELIVERED
    assert 7 in clock.sleeps
    assert len(bot.messages) == len(bot.chats)


async def test_a_blocked_chat_is_refused_for_good_and_the_others_get_it(update: Update) -> None:
    """403 "bot was blocked by the user" is permanent for that chat only; no retry."""
    with TelegramFake(blocked=("-1009",), chats=("-1001", "-1009")) as bot:
        async with Broadcaster([channel(bot)], journal=None) as broadcaster:
            receipt = (await broadcaster.send(update)).receipts[0]
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 1
    (rejected,) = receipt.rejected
    assert "bot was blocked by the user" in rejected.reason
    assert sum(b'"-1009"' in r.body or b"-1009" in r.body for r in bot.requests) == 1


async def test_the_token_is_masked_in_logs_errors_and_reports(
    bot: TelegramFake, update: Update, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx logs the URL with the token at INFO; every line, error and report shows ***."""
    caplog.set_level(logging.DEBUG)
    good = channel(bot, name="good")
    wrong = Telegram(
        "123456789:wrong-token-XYZabc0987", list(bot.chats), base_url=bot.url, name="wrong"
    )
    async with Broadcaster([good, wrong], journal=None) as broadcaster:
        report = await broadcaster.send(update)
    failed = next(r for r in report.receipts if r.channel == "wrong")
    assert failed.outcome is Outcome.FAILED
    assert "bot token was rejected" in (failed.reason or "")
    assert any("/bot***/sendMessage" in r.getMessage() for r in caplog.records)
    everything = caplog.text + report.to_text() + json.dumps(report.to_dict()) + repr(good)
    for token in (bot.token, "123456789:wrong-token-XYZabc0987"):
        assert token.split(":")[1] not in everything


async def test_check_reads_the_bot_and_each_chat(bot: TelegramFake) -> None:
    """check() calls getMe and getChat, posting nothing."""
    (result,) = await check_channels([channel(bot)])
    assert result.ok, result.detail
    assert "bot @demo_status_bot" in result.detail
    assert "Status -1001000000001" in result.detail
    assert not bot.messages


async def test_check_names_a_chat_the_bot_cannot_see() -> None:
    """An unknown chat fails the check with Telegram's description."""
    with TelegramFake(chats=("-1001",)) as bot:
        wrong = Telegram(bot.token, ["-1002"], base_url=bot.url)
        (result,) = await check_channels([wrong])
    assert not result.ok
    assert "chat not found" in result.detail


async def test_an_unanswered_send_is_not_sent_again(update: Update, tmp_path: Path) -> None:
    """No idempotency key: a request that went out unanswered is listed, not re-sent."""
    server = LoopbackServer()
    server.script(Reply(hang=True))
    path = tmp_path / "j.db"
    with server:
        telegram = Telegram("123456789:some-token-abcdefgh", ["-1001"], base_url=server.url)
        telegram._timeout = 0.2
        journal = SQLiteJournal(path)
        async with Broadcaster([telegram], journal=journal) as broadcaster:
            first = (await broadcaster.send(update)).receipts[0]
        await journal.aclose()
        journal = SQLiteJournal(path)
        async with Broadcaster([telegram], journal=journal) as broadcaster:
            again = (await broadcaster.send(update)).receipts[0]
        await journal.aclose()
    assert len(server.requests) == 1
    assert first.rejected[0].unanswered
    assert again.outcome is not Outcome.DELIVERED
    assert "may or may not" in " ".join(r.reason for r in again.rejected)


async def test_many_chats_are_paced_at_thirty_a_second(update: Update) -> None:
    """Sixty chats take two seconds of the limiter's time: about 30 messages a second."""
    chats = tuple(f"-100{i:04d}" for i in range(60))
    clock = FakeClock()
    with TelegramFake(chats=chats) as bot:
        telegram = channel(bot, clock, concurrency=1)
        async with Broadcaster([telegram], journal=None) as broadcaster:
            receipt = (await broadcaster.send(update)).receipts[0]
    assert receipt.accepted == 60
    assert 1.9 <= sum(clock.sleeps) <= 2.0


def test_configured_from_env_with_a_clear_error_naming_the_variable() -> None:
    """BROADCAST_TELEGRAM_* builds the channel; a bad chat id names its variable."""
    telegram_spec = spec("telegram")
    env = Env(
        {
            "BROADCAST_TELEGRAM_BOT_TOKEN": "123456:abcdefghijkl",
            "BROADCAST_TELEGRAM_CHAT_IDS": "-1001, @psn_status",
            "BROADCAST_TELEGRAM_TOPIC": "42",
        }
    )
    built = telegram_spec.from_env(env)
    assert isinstance(built, Telegram)
    assert built._chats == ["-1001", "@psn_status"]
    assert built._topic == 42
    assert "bot_token" in telegram_spec.secret_keys()
    assert {"threading", "fan-out", "check", "journal"} <= telegram_spec.capabilities()
    bad = Env(
        {
            "BROADCAST_TELEGRAM_BOT_TOKEN": "123456:abcdefghijkl",
            "BROADCAST_TELEGRAM_CHAT_IDS": "psn status",
        }
    )
    with pytest.raises(ConfigError, match="BROADCAST_TELEGRAM_CHAT_IDS"):
        telegram_spec.from_env(bad)
    with pytest.raises(ValueError, match="not a Telegram chat"):
        chat_id("general")
