# ruff: noqa: RUF001 - look-alike characters (curly quotes, dashes) are what these tests are about
from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast import Update
from broadcast.text import (
    SmsCount,
    SmsEncoding,
    SmsText,
    render_sms,
    segments,
    status_tag,
    transliterate,
)

GSM = SmsEncoding.GSM_7
UCS = SmsEncoding.UCS_2
EXAMPLES = settings(max_examples=200, deadline=None)

# providers.md section 3, typed out again here rather than imported from the module.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./"
    + string.digits
    + ":;<=>?¡"
    + string.ascii_uppercase
    + "ÄÖÑÜ§¿"
    + string.ascii_lowercase
    + "äöñüà"
)
GSM_EXTENSION = "\x0c^{}[]~\\|€"


def reference_count(text: str) -> tuple[SmsEncoding, int, int]:
    """Encoding, units and segments, packing one character at a time as the calculator does."""
    gsm = all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)
    if gsm:
        sizes, single, part = [2 if c in GSM_EXTENSION else 1 for c in text], 160, 153
    else:
        sizes, single, part = [2 if ord(c) > 0xFFFF else 1 for c in text], 70, 67
    units = sum(sizes)
    if units <= single:
        return (GSM if gsm else UCS), units, min(units, 1)
    count, used = 1, 0
    for size in sizes:
        if used + size > part:  # a pair that would straddle goes whole to the next part
            count, used = count + 1, 0
        used += size
    return (GSM if gsm else UCS), units, count


# --- segments -------------------------------------------------------------------------

VECTORS = [
    pytest.param("", GSM, 0, 0, 160, id="empty"),
    pytest.param("a" * 160, GSM, 160, 1, 160, id="gsm-160"),
    pytest.param("a" * 161, GSM, 161, 2, 153, id="gsm-161"),
    pytest.param("a" * 306, GSM, 306, 2, 153, id="gsm-306"),
    pytest.param("a" * 307, GSM, 307, 3, 153, id="gsm-307"),
    pytest.param("a" * 158 + "€", GSM, 160, 1, 160, id="gsm-158+euro"),
    pytest.param("a" * 159 + "€", GSM, 161, 2, 153, id="gsm-159+euro"),
    pytest.param("{}" * 40, GSM, 160, 1, 160, id="gsm-80-braces"),
    pytest.param("{}" * 40 + "a", GSM, 161, 2, 153, id="gsm-80-braces+a"),
    # The euro sign in septets 152-153 fits the first part; at 153-154 it would straddle.
    pytest.param("a" * 151 + "€" + "a" * 153, GSM, 306, 2, 153, id="gsm-escape-fits"),
    pytest.param("a" * 152 + "€" + "a" * 152, GSM, 306, 3, 153, id="gsm-escape-moves"),
    pytest.param("😀" + "a" * 68, UCS, 70, 1, 70, id="ucs-70"),
    pytest.param("😀" + "a" * 69, UCS, 71, 2, 67, id="ucs-71"),
    pytest.param("😀" * 35, UCS, 70, 1, 70, id="ucs-35-emoji"),
    pytest.param("😀" * 36, UCS, 72, 2, 67, id="ucs-36-emoji"),
    pytest.param("あ" * 134, UCS, 134, 2, 67, id="ucs-134"),
    # The emoji in units 66-67 fits the first part; at 67-68 it would straddle.
    pytest.param("あ" * 65 + "😀" + "あ" * 67, UCS, 134, 2, 67, id="ucs-pair-fits"),
    pytest.param("あ" * 66 + "😀" + "あ" * 66, UCS, 134, 3, 67, id="ucs-pair-moves"),
]


@pytest.mark.parametrize(("text", "encoding", "units", "count", "per_segment"), VECTORS)
def test_hand_checked_vectors(
    text: str, encoding: SmsEncoding, units: int, count: int, per_segment: int
) -> None:
    """Each hand-checked text has the encoding, units and segments carriers bill."""
    assert segments(text) == SmsCount(encoding, units, count, per_segment)


def test_every_gsm_character_is_one_septet_and_every_extension_two() -> None:
    """The 127 basic characters cost a septet each, the extension characters two."""
    assert len(set(GSM_BASIC)) == 127
    assert segments(GSM_BASIC) == SmsCount(GSM, 127, 1, 160)
    for char in GSM_EXTENSION:
        assert segments(char) == SmsCount(GSM, 2, 1, 160), repr(char)


@pytest.mark.parametrize("char", ["`", "ç", "\t", "’", "—", "…", "\u00a0", "日", "€\u0301"])
def test_one_character_outside_gsm_makes_the_whole_message_ucs2(char: str) -> None:
    """A single non-GSM character (a backtick, lowercase ç, a curly quote...) forces UCS-2."""
    count = segments("a" * 60 + char)
    assert count.encoding is UCS
    assert count.units == 60 + len(char)


def test_astral_characters_count_two_units() -> None:
    """Emoji and other astral characters are surrogate pairs: 2 UTF-16 units each."""
    assert segments("😀").units == 2
    assert segments("𝐀b").units == 3
    assert segments("👨‍👩‍👧").units == 8  # three people (2 each) and two joiners (1 each)


# Half the characters are 2 units wide, so pairs often land on a part's last unit; the
# text is then padded to end within 2 units of a part's end, where a moved pair shows.
def near_a_part_end(text: str, slack: int) -> str:
    encoding, units, _ = reference_count(text)
    part = 153 if encoding is GSM else 67
    return text + "a" * ((slack - units) % part)


GSM_TEXT = st.text(st.sampled_from([*"aZ9 .@\n", *GSM_EXTENSION]), min_size=140, max_size=500)
UCS_TEXT = st.text(st.sampled_from([*"aあ’ .", "😀", "𝐀", "🇯", "€"]), min_size=60, max_size=250)


@EXAMPLES
@given(st.builds(near_a_part_end, st.one_of(GSM_TEXT, UCS_TEXT), st.integers(0, 2)))
def test_agrees_with_packing_one_character_at_a_time(text: str) -> None:
    """The count matches a plain character-by-character packer, straddling pairs and all."""
    count = segments(text)
    assert (count.encoding, count.units, count.segments) == reference_count(text)


def test_count_reads_as_a_cost() -> None:
    """A count prints as segments, encoding, size per segment and the cost multiplier."""
    assert str(segments("a" * 200)) == "2 segments (GSM-7, 153/segment): cost x2"
    assert str(segments("日本")) == "1 segment (UCS-2, 70/segment): cost x1"


# --- transliterate --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We’re on it — ‘soon’…", "We're on it - 'soon'..."),
        ("“Store” – offline", '"Store" - offline'),
        ("• Sign-in\u00a0down\u2009now", "- Sign-in down now"),
        ("a\u200bb\u00adc\ufeff", "abc"),
        ("EU → US ≤ 5 min × 2, `code`", "EU -> US <= 5 min x 2, 'code'"),
        ("Café Ünïcode 日本 😀 €", "Café Ünïcode 日本 😀 €"),  # nothing to replace
    ],
)
def test_transliteration_examples(text: str, expected: str) -> None:
    """Cheap typography becomes its GSM-7 equivalent; letters, CJK and emoji stay."""
    assert transliterate(text) == expected


def test_one_curly_apostrophe_no_longer_forces_ucs2() -> None:
    """A curly apostrophe costs a 150-character message two extra segments until replaced."""
    text = "We’re " + "a" * 144
    assert segments(text) == SmsCount(UCS, 150, 3, 67)
    assert segments(transliterate(text)) == SmsCount(GSM, 150, 1, 160)


def test_gsm_text_is_left_unchanged() -> None:
    """Text already in GSM-7 comes back as it is."""
    assert transliterate(GSM_BASIC + GSM_EXTENSION) == GSM_BASIC + GSM_EXTENSION


# --- render_sms -----------------------------------------------------------------------

T0 = datetime(2011, 4, 20, 22, 0, tzinfo=UTC)
URL = "https://status.example.com/psn"
PROMISE = "Next update by 2011-04-20T23:00Z (UTC)."


def psn_update(**changes: Any) -> Update:
    fields: dict[str, Any] = {
        "title": "PlayStation Network is down",
        "body": (
            "We are investigating an external intrusion that affected PlayStation Network. "
            "Sign-in and the PlayStation Store are offline.\n\n"
            "We’ll restore services as soon as it’s safe."
        ),
        "incident": "psn-2011-04",
        "url": URL,
        "author": "Head of Network Operations",
        "next_update_at": T0 + timedelta(hours=1),
        "created_at": T0,
    }
    return Update(**(fields | changes))


FIRST = "We are investigating an external intrusion that affected PlayStation Network."
REST = "Sign-in and the PlayStation Store are offline. We'll restore services as soon as it's safe."


def test_full_form_with_signature_when_it_fits() -> None:
    """With room, the SMS says everything, the author signing after the link."""
    sms = render_sms(psn_update(), max_segments=3)
    assert sms.level == "full"
    assert sms.text == (
        f"[Investigating] PlayStation Network is down: {FIRST} {REST} {PROMISE} {URL}"
        " - Head of Network Operations"
    )
    assert sms.count == SmsCount(GSM, 316, 3, 153)


def test_signature_is_dropped_first() -> None:
    """When only the signature does not fit, the full form goes without it."""
    sms = render_sms(psn_update(), max_segments=2)
    assert sms.level == "full"
    assert sms.text == (
        f"[Investigating] PlayStation Network is down: {FIRST} {REST} {PROMISE} {URL}"
    )
    assert sms.count == SmsCount(GSM, 287, 2, 153)


def test_summary_keeps_whole_first_sentences() -> None:
    """When the full form does not fit, the first sentences that fit are kept whole."""
    sms = render_sms(psn_update(), max_segments=1)
    assert sms.level == "summary"
    assert sms.text == f"[Investigating] PlayStation Network is down: {FIRST} {URL}"
    assert sms.count == SmsCount(GSM, 155, 1, 160)


def test_summary_takes_as_many_sentences_as_fit() -> None:
    """The summary stops at the last sentence that fits, not after the first."""
    body = " ".join(f"Step {n} is done." for n in range(1, 30))
    sms = render_sms(psn_update(body=body, author=None), max_segments=1)
    assert sms.level == "summary"
    kept = " ".join(f"Step {n} is done." for n in range(1, 6))
    assert sms.text == f"[Investigating] PlayStation Network is down: {kept} {URL}"
    # 45 + 79 + 1 + 30 characters, and the tag's brackets are 2 septets each: 157.
    assert sms.count.units == 157  # a sixth sentence would make 173


def test_summary_splits_cjk_sentences_without_spaces() -> None:
    """A CJK full stop ends a sentence even with no space after it."""
    body = "調査中です。停止中。" + "復旧作業を続けています" * 3 + "。"
    sms = render_sms(psn_update(title="PSN 障害", body=body, author=None), max_segments=1)
    assert sms.level == "summary"
    assert sms.text == f"[Investigating] PSN 障害: 調査中です。停止中。 {URL}"
    assert sms.count == SmsCount(UCS, 16 + 6 + 2 + 10 + 1 + 30, 1, 70)
    many = render_sms(psn_update(title="PSN", body="調査中です。" * 40), max_segments=1)
    assert many.text == "[Investigating] PSN: " + "調査中です。" * 3 + f" {URL}"
    assert many.count == SmsCount(UCS, 21 + 18 + 1 + 30, 1, 70)


def test_minimal_form_when_no_sentence_fits() -> None:
    """When not even the first sentence fits, only status, title and link are sent."""
    body = "Our engineers are working through the night " * 5 + "to restore every service."
    sms = render_sms(psn_update(body=body), max_segments=1)
    assert sms.level == "minimal"
    assert sms.text == f"[Investigating] PlayStation Network is down {URL}"


def test_wording_of_critical_resolved_update_without_link_or_promise() -> None:
    """Missing parts are left out; a title ending in punctuation takes no colon."""
    update = psn_update(
        title="Is PSN back?",
        body="Yes.",
        status="resolved",
        severity="critical",
        url=None,
        next_update_at=None,
        author=None,
    )
    sms = render_sms(update)
    assert sms.text == "[Resolved | Critical] Is PSN back? Yes."
    # 39 characters; [ | ] are extension characters, 2 septets each.
    assert (sms.level, sms.count) == ("full", SmsCount(GSM, 42, 1, 160))


def test_preview_shows_form_segments_encoding_and_cost() -> None:
    """The preview shows the form and cost above exactly the text that is sent."""
    sms = render_sms(psn_update(), max_segments=2)
    assert sms.preview() == (
        "--- SMS, full form: 2 segments (GSM-7, 153/segment): cost x2 ---\n" + sms.text
    )


def test_transliteration_can_be_turned_off() -> None:
    """Without transliteration the author's curly quotes are sent, as UCS-2."""
    sms = render_sms(psn_update(), max_segments=5, transliterate=False)
    assert "We’ll" in sms.text
    assert "— Head of Network Operations" in sms.text
    assert sms.count == SmsCount(UCS, 314, 5, 67)  # the same text in GSM-7 is 3 segments


def test_link_is_never_transliterated() -> None:
    """The link is sent byte for byte, even where its characters have GSM-7 look-alikes."""
    url = "https://example.com/“psn”/~ops"
    sms = render_sms(psn_update(url=url, body="Down."), max_segments=4)
    assert f" {url} " in sms.text
    assert "Down. Next update" in sms.text


def test_ucs2_text_keeps_its_own_typography() -> None:
    """When transliteration cannot make it GSM-7 and saves nothing, nothing is replaced."""
    update = psn_update(title="PSN 障害", body="調査中です…", url=None, author=None)
    sms = render_sms(update, max_segments=1)
    assert sms.text == f"[Investigating] PSN 障害: 調査中です… {PROMISE}"
    assert sms.count.encoding is UCS


def test_transliteration_is_skipped_when_it_costs_more() -> None:
    """49 ellipses are one UCS-2 segment as written, two in GSM-7 as dots: kept as written."""
    update = psn_update(title="PSN", body="…" * 49, url=None, author=None, next_update_at=None)
    sms = render_sms(update, max_segments=1)
    assert sms.text == "[Investigating] PSN: " + "…" * 49
    assert (sms.level, sms.count) == ("full", SmsCount(UCS, 70, 1, 70))  # 21 + 49
    assert segments(transliterate(sms.text)) == SmsCount(GSM, 170, 2, 153)  # 21 + 2 + 147


def test_minimal_form_too_long_is_a_clear_error() -> None:
    """When even status, title and link need too many segments, the error says so and why."""
    update = psn_update(title="PlayStation Network " * 9 + "is down")
    with pytest.raises(ValueError, match=r"needs 2 segments \(236 septets, GSM-7\)") as info:
        render_sms(update, max_segments=1)
    assert "shorten the title or the link" in str(info.value)
    assert render_sms(update, max_segments=2).level == "minimal"


def test_error_names_the_characters_that_force_ucs2() -> None:
    """A minimal form too long in UCS-2 names the characters that make it UCS-2."""
    update = psn_update(title="PlayStation Network 障害 " + "x" * 60, url=None)
    with pytest.raises(ValueError, match=r"UCS-2: 障 害\)") as info:
        render_sms(update, max_segments=1)
    assert "minimal form (status and title): that needs 2 segments (99 UTF-16" in str(info.value)


def test_max_segments_must_be_positive() -> None:
    """Zero segments is refused outright."""
    with pytest.raises(ValueError, match="at least 1"):
        render_sms(psn_update(), max_segments=0)


# --- render_sms, any update -------------------------------------------------------------

WORDS = st.one_of(
    st.text(string.ascii_letters + string.digits + ",'-", min_size=1, max_size=12),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=8),
    st.sampled_from(["😀", "🚨", "👨‍👩‍👧‍👦", "🇯🇵", "⚠️"]),
    st.sampled_from(["it’s", "“down”", "—", "…", "‘ok’", "•", "€5", "[a]", "{x}"]),
    st.text(string.ascii_lowercase, min_size=40, max_size=120),
)
SENTENCES = st.builds(
    "{}{}".format,
    st.lists(WORDS, min_size=1, max_size=8).map(" ".join),
    st.sampled_from([".", "!", "?", "。", "", "…"]),
)
BODIES = st.lists(
    st.lists(SENTENCES, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=3
).map("\n\n".join)
TITLES = st.lists(WORDS, min_size=1, max_size=6).map(lambda words: " ".join(words)[:200])
URLS = st.sampled_from(
    [
        None,
        URL,
        "https://status.example.com/incidents/2011-04-20/" + "x" * 90,
        "https://example.com/~ops/[1]?a=b|c",
        "https://例え.jp/障害/“1”…",
    ]
)
UPDATES = st.builds(
    psn_update,
    title=TITLES,
    body=BODIES,
    url=URLS,
    author=st.sampled_from([None, "Head of Network Operations", "José Ñúñez"]),
    next_update_at=st.sampled_from([None, T0 + timedelta(minutes=90)]),
    status=st.sampled_from(["investigating", "identified", "monitoring", "resolved"]),
    severity=st.sampled_from(["minor", "major", "critical"]),
)
LEVELS = ["minimal", "summary", "full"]


def render_or_none(update: Update, max_segments: int) -> SmsText | None:
    try:
        return render_sms(update, max_segments=max_segments)
    except ValueError:
        head = f"{status_tag(update)} {update.title}"
        link = f" {update.url}" if update.url else ""
        # Even the minimal form does not fit, as sent or transliterated.
        assert segments(head + link).segments > max_segments
        assert segments(transliterate(head) + link).segments > max_segments
        return None


@EXAMPLES
@given(UPDATES, st.integers(min_value=1, max_value=4))
def test_never_more_than_max_segments_and_the_link_intact(update: Update, limit: int) -> None:
    """Any update fits in max_segments with its link whole, or even its minimal form does not."""
    sms = render_or_none(update, limit)
    if sms is None:
        return
    assert sms.count == segments(sms.text)
    assert 1 <= sms.count.segments <= limit
    assert sms.text.startswith(status_tag(update))
    if update.url:
        sign = f" — {update.author}" if update.author else ""
        endings = {update.url, update.url + sign, update.url + transliterate(sign)}
        assert any(sms.text.endswith(ending) for ending in endings)
        assert f" {update.url}" in sms.text
    # More room never gives a shorter form.
    roomier = render_or_none(update, limit + 1)
    assert roomier is not None
    assert LEVELS.index(roomier.level) >= LEVELS.index(sms.level)
