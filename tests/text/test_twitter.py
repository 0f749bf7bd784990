from __future__ import annotations

import importlib
import importlib.util
import operator
import re
import string
import sys
import types
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import pytest
import regex
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import broadcast.text
from broadcast.text import MAX_WEIGHTED, fits, split_thread, weighted_length


def _import_twitter_text() -> tuple[Any, Any]:
    """twitter-text-parser 3.0.0, the reference: it still imports the retired pkg_resources."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools 67-80 warn that pkg_resources is deprecated
        if importlib.util.find_spec("pkg_resources") is None:  # setuptools >= 81, or none
            shim = types.ModuleType("pkg_resources")
            shim.resource_string = lambda module, name: (  # type: ignore[attr-defined]
                Path(sys.modules[module].__file__ or "").with_name(name).read_bytes()
            )
            sys.modules["pkg_resources"] = shim
        parser = importlib.import_module("twitter_text")
        emoji = importlib.import_module("twitter_text.regexp.emoji")
    return parser, emoji.emoji_list


twitter_text, EMOJI_LIST = _import_twitter_text()

EXAMPLES = settings(max_examples=200, deadline=None)

# --- weighted length ----------------------------------------------------------------------

# providers.md section 1, measured with twitter_text.parse_tweet(...).weightedLength.
VECTORS = [
    ("a" * 280, 280, True),
    ("a" * 281, 281, False),
    ("の" * 140, 280, True),
    ("の" * 141, 282, False),
    ("🐱" * 140, 280, None),
    ("Hi http://test.co", 26, None),
    ("https://status.example.com/incidents/2011-04-20/" + "x" * 400, 23, None),
    ("example.com", 23, None),
    ("🙋🏽👨‍🎤", 4, None),
    ("👨‍👩‍👧‍👦", 2, None),
    ("日本語", 6, None),
    ("“quoted”", 8, None),
    ("x" * 257 + " https://a.co", 281, None),
    ("english text 日本語 😷 https://example.com", 46, None),
]


@pytest.mark.parametrize(("text", "expected", "valid"), VECTORS)
def test_reference_vectors(text: str, expected: int, valid: bool | None) -> None:
    """Every test vector in providers.md has the documented weighted length and validity."""
    assert weighted_length(text) == expected
    if valid is not None:
        assert fits(text) is valid


# Rules beyond the table, each also what twitter-text says.
RULES = [
    ("", 0),
    ("e\u0301", 1),  # NFC first: e + combining acute is one code point
    ("€", 2),
    ("‰", 2),
    ("\u2032", 1),  # prime: in the weight-1 range U+2032-U+2037
    ("\u10ff", 1),  # the top of the first range weighs 1
    ("\u1100", 2),  # the next code point 2
    ("1️⃣", 2),  # keycap
    ("🇯🇵", 2),  # flag
    ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 2),  # subdivision flag: black flag + tags
    ("❤\ufe0e", 4),  # text presentation is not an emoji sequence
    ("🐱🏽", 4),  # a modifier on a base that takes none
    ("क्\u200dष", 4),  # a ZWJ in Devanagari joins no emoji
    ("file.py", 23),  # .py is Paraguay: X links it
    ("down.Now", 23),  # a missing space makes a link too
    ("e.g. foo", 8),
    ("user@example.com", 16),  # an email address is not a link
    ("http://localhost:8080/xy", 24),  # no top-level domain
    ("https://a.co/x.", 24),  # trailing punctuation stays out
    ("(https://a.co/x)", 25),  # so does an unbalanced parenthesis
    ("https://a.co/x_(y)", 23),  # a balanced one belongs
    ("https://example.com/?q=1.", 24),
    ("https://EXAMPLE.COM:8080/a", 23),
    ("https://t.co/abc/def", 27),  # a t.co link ends after its slug
    ("https://t.co/" + "a" * 41, 54),  # and is no link with a slug over 40 characters
    ("日本example.com", 27),
    ("café.com", 23),
    ("https://日本語.jp/x", 23),
    ("example.com.foo", 23),
    ("a" * 64 + ".com", 68),  # a label over 63 characters is no host
    ("https://a.co/" + "x" * 5000, 5013),  # nor is a link over 4,096 characters
    ("www.example", 11),
]


@pytest.mark.parametrize(("text", "expected"), RULES)
def test_rules_agree_with_twitter_text(text: str, expected: int) -> None:
    """Weights, links and emoji sequences count as twitter-text counts them."""
    assert weighted_length(text) == expected
    assert twitter_text.parse_tweet(text).weightedLength == expected


# Known divergences: (text, ours, twitter_text.parse_tweet). Each is deliberate.
DIVERGENCES = [
    # twitter-text-parser lists bare © and ® as emoji; X's twemoji-parser does not
    # (only with VS16), so it weighs 1 like any Latin-1 character.
    ("©", 1, 2),
    ("®", 1, 2),
    # twitter-text-parser turns CRLF into LF first; X's twitter-text does not.
    ("\r\n", 2, 1),
    # twitter-text-parser knows Emoji 12.0; phoenix and heart-on-fire are later ZWJ sequences.
    ("❤️\u200d🔥", 2, 5),
    ("🐦\u200d🔥", 2, 5),
    # We count any ZWJ chain of emoji once; X counts a chain that is not RGI per emoji.
    ("👨\u200d🐱", 2, 5),
    # twitter-text drops the port of a bare domain unless a path follows.
    ("example.com:8080", 23, 28),
]


@pytest.mark.parametrize(("text", "ours", "theirs"), DIVERGENCES)
def test_documented_divergences(text: str, ours: int, theirs: int) -> None:
    """The known differences from twitter-text-parser are exactly the documented ones."""
    assert weighted_length(text) == ours
    assert twitter_text.parse_tweet(text).weightedLength == theirs


def test_every_pictograph_with_vs16_is_one_emoji() -> None:
    """Each Extended_Pictographic code point followed by VS16 weighs 2, as one emoji."""
    pictographs = regex.findall(r"\p{Extended_Pictographic}", "".join(map(chr, range(0x20000))))
    assert len(pictographs) > 2500
    assert all(weighted_length(char + "\ufe0f") == 2 for char in pictographs)


def test_every_pair_of_regional_indicators_is_one_flag() -> None:
    """Two regional indicators weigh 2 together, like a flag; a third starts a new pair."""
    letters = [chr(0x1F1E6 + i) for i in range(26)]
    assert all(weighted_length(a + b) == 2 for a in letters for b in letters)
    assert weighted_length("🇯🇵🇺") == 4


def test_fits_is_one_to_max_weighted() -> None:
    """fits() accepts 1..280 weighted characters and rejects empty text."""
    assert MAX_WEIGHTED == 280
    assert not fits("")
    assert fits("x")
    assert fits("の" * 140)
    assert not fits("の" * 140 + "x")


# --- hypothesis: mixed text ----------------------------------------------------------------

ASCII_WORDS = st.text(string.ascii_letters + string.digits + ",;!?'\"()-", min_size=1, max_size=12)
CJK_WORDS = st.text("日本語の文章です中文한국어テキスト、。", min_size=1, max_size=12)
RTL_WORDS = st.text("مرحبابالعالم،؟שלוםעולם", min_size=1, max_size=12)
COMBINING = st.sampled_from(
    ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "क्ष", "क्\u200dष", "Å", "ộ", "\u05e9\u05c1"]
)
SYMBOLS = st.sampled_from(
    [
        "“quoted”",
        "€",
        "‰",
        "—",
        "…",
        "•",
        "→",
        "\u2032",
        "™",
        "‼",
        "\u200f",
        "\u200e",
        "\u00a0",
        "\u017f",
    ]
)
EMOJI = st.sampled_from(
    [
        *["👨‍👩‍👧‍👦", "🙋🏽", "👨‍🎤", "🇯🇵", "🇺🇸", "1️⃣", "#️⃣", "🏳️‍🌈", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "😷", "🐱"],
        *["❤️", "👍🏿", "🧑‍🤝‍🧑", "👩🏽‍💻", "✌️", "☺️", "⚽", "👁️‍🗨️", "🤷🏾‍♀️"],
    ]
)
# Bare (C) and (R) are a documented divergence (see test_documented_divergences): X's
# emoji parser treats them as emoji only with the emoji variation selector.
REFERENCE_EMOJI = st.sampled_from(
    [entry.emoji for entry in EMOJI_LIST if entry.emoji not in ("\u00a9", "\u00ae")]
)
LINKS = st.builds(
    "{}{}{}".format,
    st.sampled_from(["https://", "http://", "HTTPS://", ""]),
    st.sampled_from(
        [
            *["example.com", "status.example.org", "a.co", "t.co", "docs.python.org", "例え.jp"],
            *["sub.domain.co.uk", "x.ai", "github.io"],
        ]
    ),
    st.one_of(
        st.just(""),
        st.text(string.ascii_letters + string.digits + "-_/", max_size=20).map("/{}".format),
        st.just("/incidents/42?ref=mail&lang=en"),
    ),
)

# Links that are links under every scheme, whatever the path: for the splitting tests.
WHOLE_LINKS = st.builds(
    "{}{}{}".format,
    st.sampled_from(["https://", "http://", ""]),
    st.sampled_from(["example.com", "status.example.org", "a.co", "docs.python.org", "x.ai"]),
    st.one_of(
        st.just(""),
        st.text(string.ascii_letters + string.digits + "-_/", max_size=20).map("/{}".format),
        st.just("/incidents/42?ref=mail&lang=en"),
    ),
)


def mixed_text(
    *,
    emoji: st.SearchStrategy[str] = EMOJI,
    links: st.SearchStrategy[str] = WHOLE_LINKS,
    max_tokens: int = 40,
) -> st.SearchStrategy[str]:
    """Words of every script, emoji, symbols and links; links always stand apart."""
    words = st.one_of(ASCII_WORDS, CJK_WORDS, RTL_WORDS, COMBINING, SYMBOLS, emoji)
    token = st.one_of(words, links.map(" {} ".format))
    separator = st.sampled_from([" ", " ", "\n", "\n\n", "", ". ", "! ", "\t"])
    return st.lists(st.tuples(token, separator), max_size=max_tokens).map(
        lambda pairs: "".join(token + sep for token, sep in pairs)
    )


@EXAMPLES
@given(mixed_text(emoji=st.one_of(EMOJI, REFERENCE_EMOJI), links=LINKS))
def test_agrees_with_twitter_text_on_mixed_text(text: str) -> None:
    """On mixed scripts, emoji (Emoji 12.0), symbols and links, we match twitter-text."""
    assert weighted_length(text) == twitter_text.parse_tweet(text).weightedLength


# Two or more code points that could form one emoji sequence: our rule is generic (any
# flag pair, tag run, modifier on any base, VS16 after any pictograph), twitter-text
# keeps a list, so random sequences are compared in the mixed-text test instead.
MAYBE_SEQUENCE = regex.compile(
    r"[\p{Extended_Pictographic}\p{Regional_Indicator}#*0-9]"
    r"[\ufe0f\u200d\u20e3\p{Emoji_Modifier}\p{Regional_Indicator}\U000e0020-\U000e007f]"
)


@EXAMPLES
@given(st.text(st.characters(codec="utf-8", exclude_characters="©®\r"), max_size=60))
def test_agrees_with_twitter_text_on_arbitrary_characters(text: str) -> None:
    """Arbitrary code points (bar the documented ©, ® and CR) weigh as twitter-text says."""
    assume(not MAYBE_SEQUENCE.search(unicodedata.normalize("NFC", text)))
    assert weighted_length(text) == twitter_text.parse_tweet(text).weightedLength


# --- split_thread ----------------------------------------------------------------------------

SUFFIX = re.compile(r" (\d+)/(\d+)\Z")
LIMITS = st.sampled_from([40, 57, 100, 140, 280])


def content(part: str) -> str:
    """A post without its numbering suffix."""
    return SUFFIX.sub("", part)


def check_posts(text: str, parts: list[str], limit: int) -> None:
    """Every post fits and is trimmed, and no non-space character is lost or moved."""
    for part in parts:
        assert 0 < weighted_length(part) <= limit
        assert part == part.strip()
    normal = unicodedata.normalize("NFC", text)
    assert "".join("".join(content(p).split()) for p in parts) == "".join(normal.split())


@EXAMPLES
@given(mixed_text(max_tokens=120), LIMITS, st.booleans())
def test_every_post_fits_and_nothing_is_lost(text: str, limit: int, numbered: bool) -> None:
    """Whatever the text, posts weigh 1..limit, are trimmed, and keep every character in order."""
    parts = split_thread(text, limit=limit, numbered=numbered)
    check_posts(text, parts, limit)


@EXAMPLES
@given(mixed_text(max_tokens=120), LIMITS)
def test_words_stay_whole_and_in_order(text: str, limit: int) -> None:
    """Every word that fits beside the suffix reaches the posts whole, in the text's order."""
    text = text.replace("。", ".")  # a CJK full stop is a sentence end even inside a "word"
    parts = split_thread(text, limit=limit)
    room = limit - 2 - 2 * len(str(len(parts)))  # beside the widest ' n/n'
    posted = iter(word for part in parts for word in content(part).split())
    for word in unicodedata.normalize("NFC", text).split():
        if weighted_length(word) <= room:
            assert word in posted  # consumes the iterator: a subsequence, so in order


# Words heavier than a post: a short mixed unit, repeated (cheap to draw, long to split).
LONG_WORDS = st.builds(
    operator.mul,
    st.lists(
        st.one_of(
            st.text(string.ascii_lowercase, min_size=1, max_size=5),
            EMOJI,
            COMBINING,
            st.text("日本語の文章です中文、", min_size=1, max_size=5),
            st.text("مرحبابالعالمשלוםעולם", min_size=1, max_size=5),
        ),
        min_size=1,
        max_size=4,
    ).map("".join),
    st.integers(40, 250),
)


@EXAMPLES
@given(st.lists(st.one_of(LONG_WORDS, ASCII_WORDS, WHOLE_LINKS), min_size=1, max_size=6), LIMITS)
def test_long_words_split_between_grapheme_clusters(words: list[str], limit: int) -> None:
    """A word heavier than a post is cut only between grapheme clusters, links kept whole."""
    text = " ".join(words)
    parts = split_thread(text, limit=limit)
    check_posts(text, parts, limit)
    joined = "".join(unicodedata.normalize("NFC", text).split())
    boundaries = {match.end() for match in regex.finditer(r"\X", joined)}
    offset = 0
    for part in parts:
        offset += len("".join(content(part).split()))
        assert offset in boundaries
    for word in words:
        if "." in word:  # a link
            assert sum(content(part).count(word) for part in parts) == text.count(word)


@EXAMPLES
@given(
    st.lists(st.one_of(ASCII_WORDS, CJK_WORDS, EMOJI, WHOLE_LINKS, LONG_WORDS), max_size=30),
    st.lists(WHOLE_LINKS, min_size=1, max_size=5),
    LIMITS,
)
def test_links_are_never_split(words: list[str], links: list[str], limit: int) -> None:
    """Each link in the text appears whole, as often as in the text, across the posts."""
    text = " ".join(words + [f"see {link}" for link in links])
    parts = split_thread(text, limit=limit)
    check_posts(text, parts, limit)
    for link in links:
        assert sum(content(part).count(link) for part in parts) == text.count(link)


@EXAMPLES
@given(mixed_text(max_tokens=200), LIMITS)
def test_numbering_counts_the_posts(text: str, limit: int) -> None:
    """With more than one post, each ends in ' i/n' with i = 1..n and n the number of posts."""
    parts = split_thread(text, limit=limit)
    if len(parts) > 1:
        numbers = [SUFFIX.search(part) for part in parts]
        assert [(int(m[1]), int(m[2])) for m in numbers if m] == [
            (i, len(parts)) for i in range(1, len(parts) + 1)
        ]
    for part in split_thread(text, limit=limit, numbered=False):
        assert weighted_length(part) <= limit


@pytest.mark.parametrize(("words", "posts"), [(17, 9), (18, 9), (19, 19), (30, 30)])
def test_a_wider_suffix_is_reserved_once_there_are_ten_posts(words: int, posts: int) -> None:
    """Ten posts need room for ' 10/10': the text is split again with it, which may add posts."""
    text = " ".join(f"{i:02}" + "x" * 15 for i in range(words))  # 17 weighted characters each
    parts = split_thread(text, limit=40)  # two words and " 9/9" fit in 40, not with " 10/19"
    check_posts(text, parts, 40)
    assert len(parts) == posts
    assert parts[-1].endswith(f" {posts}/{posts}")


def test_sentence_ends_are_preferred_to_spaces() -> None:
    """A post ends after a full sentence even when more words would fit."""
    text = "Sign-in is restored. The Store is still read-only while we replay purchases."
    assert split_thread(text, limit=70, numbered=False) == [
        "Sign-in is restored.",
        "The Store is still read-only while we replay purchases.",
    ]
    assert split_thread(text, limit=70) == [
        "Sign-in is restored. 1/2",
        "The Store is still read-only while we replay purchases. 2/2",
    ]


def test_line_breaks_are_sentence_ends() -> None:
    """A line break is as good a place to cut as a sentence end; lines keep their breaks."""
    text = "Status: degraded\nAffected: sign-in, Store, and friends lists for everyone"
    assert split_thread(text, limit=60, numbered=False) == [
        "Status: degraded",
        "Affected: sign-in, Store, and friends lists for everyone",
    ]
    paragraphs = "First line\nsecond line.\n\n" + "Next paragraph " * 5
    assert split_thread(paragraphs, limit=70, numbered=False)[0] == "First line\nsecond line."


def test_a_full_stop_before_a_lowercase_word_is_no_sentence_end() -> None:
    """'e.g. the app' does not end a sentence, so the cut falls at the last space that fits."""
    text = "Use a client, e.g. the mobile app or the website, to check your order history."
    assert split_thread(text, limit=60, numbered=False)[0] == (
        "Use a client, e.g. the mobile app or the website, to check"
    )


def test_cjk_text_splits_after_full_stops() -> None:
    """Japanese without spaces is cut after 。, not in the middle of a sentence."""
    sentence = "サインインとストアが利用できない状態です。"  # 21 characters, 42 weighted
    parts = split_thread(sentence * 10, limit=100, numbered=False)
    assert parts == [sentence * 2] * 5


def test_an_emoji_heavy_word_is_cut_between_emoji() -> None:
    """A run of family emoji longer than a post is cut between whole ZWJ sequences."""
    family = "👨‍👩‍👧‍👦"
    parts = split_thread(family * 200, limit=100, numbered=False)
    assert [len(part) // len(family) for part in parts] == [50, 50, 50, 50]
    assert all(part == family * 50 for part in parts)


def test_a_grapheme_heavier_than_a_post_is_cut_as_a_last_resort() -> None:
    """A cluster with hundreds of combining marks still yields posts that fit."""
    text = "Z" + "\u0301\u0302" * 150 + " ok"
    parts = split_thread(text, limit=100)
    check_posts(text, parts, 100)


def test_a_long_link_is_one_cheap_word() -> None:
    """A link of any length weighs 23, so it travels whole inside a post."""
    link = "https://status.example.com/incidents/" + "x" * 600
    text = f"Details: {link} " + "More words follow here. " * 20
    parts = split_thread(text, limit=100)
    check_posts(text, parts, 100)
    assert sum(link in part for part in parts) == 1


def test_a_limit_too_small_for_a_link_still_gives_posts_that_fit() -> None:
    """With less than 23 beside the suffix a link cannot stay whole, yet every post fits."""
    text = "see https://example.com/abc now and then https://a.co"
    for limit, numbered in [(20, False), (10, False), (12, True), (24, True)]:
        check_posts(text, split_thread(text, limit=limit, numbered=numbered), limit)


def test_text_that_fits_is_one_unnumbered_post() -> None:
    """Text within the limit comes back as one post, normalised and trimmed, without a suffix."""
    assert split_thread("  We are investigating.\n") == ["We are investigating."]
    assert split_thread("cafe\u0301") == ["café"]
    assert split_thread("の" * 140) == ["の" * 140]


def test_blank_text_gives_no_posts() -> None:
    """Empty or blank text gives an empty thread."""
    assert split_thread("") == []
    assert split_thread(" \n\t ") == []


@pytest.mark.parametrize(("limit", "numbered"), [(1, False), (5, True), (0, False), (-3, True)])
def test_a_limit_without_room_for_text_is_refused(limit: int, numbered: bool) -> None:
    """A limit that leaves no room beside the suffix raises ValueError."""
    with pytest.raises(ValueError, match="no room"):
        split_thread("We are investigating the outage.", limit=limit, numbered=numbered)


def test_public_names_are_sorted_and_exported() -> None:
    """broadcast.text.__all__ is sorted and every name in it exists."""
    names = broadcast.text.__all__
    assert names == sorted(names)
    assert {"MAX_WEIGHTED", "fits", "split_thread", "weighted_length"} <= set(names)
    assert all(hasattr(broadcast.text, name) for name in names)
