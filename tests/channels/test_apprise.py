"""The Apprise bridge against local stand-ins: a json:// endpoint and an aiosmtpd server."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadcast import Broadcaster, SQLiteJournal, Update
from broadcast.channels._apprise import AppriseChannel, masked_url, render_apprise, split_urls
from broadcast.demo import demo_update
from broadcast.testing import AppriseReceiver, fast_retries
from broadcast.testing._providers.smtp import free_port
from broadcast.text import next_update_time, status_tag

from ..smtp_server import Recorder, smtp_server


@pytest.fixture
def receiver() -> Iterator[AppriseReceiver]:
    with AppriseReceiver() as stand_in:
        yield stand_in


async def send(update: Update, *channels: AppriseChannel, journal: Path | None = None) -> object:
    store = SQLiteJournal(journal) if journal is not None else None
    async with Broadcaster(list(channels), journal=store) as broadcaster:
        report = await broadcaster.send(update)
    if store is not None:
        await store.aclose()
    return report


async def test_each_json_url_gets_the_same_facts(
    receiver: AppriseReceiver, make_update: Callable[..., Update]
) -> None:
    """Both json:// URLs get one notification with the status, title and every fact."""
    update = make_update(severity="critical", status="identified")
    report = await send(update, receiver.channel())
    receipt = report["apprise"]  # type: ignore[index]
    assert receipt.outcome.value == "delivered", receipt.reason
    assert (receipt.accepted, receipt.ids) == (2, ())  # one item per URL; Apprise gives no id
    assert sorted(n.path for n in receiver.notifications) == sorted(receiver.paths)
    when = next_update_time(update)
    assert when is not None
    for note in receiver.notifications:
        assert note.title == f"{status_tag(update)} {update.title}"
        assert note.type == "failure"  # critical
        for fact in (when, str(update.author), str(update.url), update.paragraphs[0]):
            assert fact in note.message


async def test_a_500_is_retried_by_broadcast_alone(
    receiver: AppriseReceiver, make_update: Callable[..., Update]
) -> None:
    """A URL asking Apprise for 5 retries still gets 3 POSTs: broadcast's attempts only."""
    receiver.fail(*[500] * 20)
    url = receiver.urls[0] + "?retry=5"
    channel = AppriseChannel([url], retry=fast_retries(attempts=3))
    report = await send(make_update(), channel)
    receipt = report["apprise"]  # type: ignore[index]
    assert len(receiver.posts) == 3
    assert receipt.outcome.value == "failed"
    (item,) = receipt.rejected
    assert item.recipient == masked_url(url)
    assert "error=500" in item.reason
    assert not item.permanent  # a re-run tries it again


async def test_a_refused_connection_is_a_failed_item_with_a_reason(
    make_update: Callable[..., Update],
) -> None:
    """Nothing listening: the URL's item fails, saying Apprise could not connect."""
    channel = AppriseChannel([f"json://127.0.0.1:{free_port()}/x"], retry=fast_retries(1))
    receipt = (await send(make_update(), channel))["apprise"]  # type: ignore[index]
    assert receipt.outcome.value == "failed"
    assert "connection error" in receipt.rejected[0].reason.lower()


async def test_one_failing_url_leaves_the_other_delivered(
    receiver: AppriseReceiver, make_update: Callable[..., Update]
) -> None:
    """Each URL has its own outcome: one 503, one delivered, a partial Receipt."""
    receiver.fail(503)
    channel = receiver.channel(retry=fast_retries(attempts=1), concurrency=1)
    receipt = (await send(make_update(), channel))["apprise"]  # type: ignore[index]
    assert receipt.outcome.value == "partial"
    assert receipt.accepted == 1
    assert [r.recipient for r in receipt.rejected] == [channel.urls[0]]


async def test_a_rerun_on_the_same_journal_skips_the_urls_delivered(
    receiver: AppriseReceiver, make_update: Callable[..., Update], tmp_path: Path
) -> None:
    """Run 1: one URL fails. Run 2 (a new channel, same journal file) sends only to it;
    run 3 sends nothing at all."""
    journal, update = tmp_path / "journal.db", make_update()
    receiver.fail(503)
    first = receiver.channel(retry=fast_retries(attempts=1), concurrency=1)
    await send(update, first, journal=journal)
    assert receiver.posts == list(receiver.paths)
    again = await send(update, receiver.channel(), journal=journal)
    receipt = again["apprise"]  # type: ignore[index]
    assert receiver.posts == [*receiver.paths, receiver.paths[0]]
    assert (receipt.outcome.value, receipt.details.get("already_delivered")) == ("delivered", 1)
    third = await send(update, receiver.channel(), journal=journal)
    assert len(receiver.posts) == 3
    assert third["apprise"].outcome.value == "skipped"  # type: ignore[index]


async def test_mailto_reaches_a_local_smtp_server(make_update: Callable[..., Update]) -> None:
    """A mailto:// URL (plain SMTP on 127.0.0.1) delivers one message with the facts."""
    recorder = Recorder()
    with smtp_server(recorder) as port:
        url = f"mailto://127.0.0.1:{port}/?mode=insecure&from=status@example.com&to=ops@example.com"
        update = make_update()
        receipt = (await send(update, AppriseChannel([url])))["apprise"]  # type: ignore[index]
    assert receipt.outcome.value == "delivered", receipt.reason
    (message,) = recorder.messages
    assert message.rcpt_tos == ["ops@example.com"]
    assert str(message.message["subject"]) == f"{status_tag(update)} {update.title}"
    assert str(update.url) in message.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert receipt.rejected == ()


def test_urls_are_named_by_scheme_and_host_only() -> None:
    """The masked form keeps a host name or address; a token in the host is ***."""
    assert masked_url("json://user:pw1234567@127.0.0.1:8080/a/b?x=1") == "json://127.0.0.1:8080"
    assert masked_url("mailto://me:pw@smtp.example.com?to=a@b.c") == "mailto://smtp.example.com"
    assert masked_url("tgram://123456:ABCdefTOKEN/-1001") == "tgram://***"
    assert masked_url("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV") == "discord://***"


def test_urls_split_on_spaces_and_on_commas_before_a_scheme() -> None:
    """A comma inside a URL (a list of addresses) stays; one before a new URL splits."""
    text = "json://a.example.com/x, mailto://b.example.com?to=a@x.io,b@y.io\ntgram://t/1"
    assert split_urls(text) == [
        "json://a.example.com/x",
        "mailto://b.example.com?to=a@x.io,b@y.io",
        "tgram://t/1",
    ]


def test_the_repr_and_errors_never_show_a_token(caplog: pytest.LogCaptureFixture) -> None:
    """A URL Apprise cannot use is refused by number and masked form, before any send."""
    caplog.set_level(logging.DEBUG)
    token = "SeCrEtToKeN0987654321"
    good = AppriseChannel([f"json://127.0.0.1:9/{token}"])
    assert token not in repr(good)
    with pytest.raises(ValueError, match=r"URL 2 of urls \(nosuchservice://\*\*\*\)") as caught:
        AppriseChannel([f"json://127.0.0.1:9/{token}", f"nosuchservice://{token}/x"])
    assert token not in str(caught.value)
    assert token not in caplog.text


def test_urls_must_not_be_empty() -> None:
    """An empty list, or text with no URL, is refused naming the field."""
    with pytest.raises(ValueError, match="urls is empty"):
        AppriseChannel([" "])
    with pytest.raises(ValueError, match="URL 1 of urls is not an Apprise URL"):
        AppriseChannel(["just words"])


def test_the_docs_show_what_the_bridge_renders() -> None:
    """docs/channels/apprise.md's example is the preview of the demo's first update."""
    page = (Path(__file__).parents[2] / "docs" / "channels" / "apprise.md").read_text()
    shown = page.split("```text\n", 1)[1].split("```", 1)[0].rstrip("\n")
    update = demo_update(datetime(2011, 4, 21, 9, 0, tzinfo=UTC))
    labels = ["ntfys://ntfy.sh", "matrixs://matrix.example.org"]
    assert shown == render_apprise(update, labels).preview()
