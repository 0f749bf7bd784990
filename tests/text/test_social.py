"""Mastodon's and Bluesky's counting, the shared splitter under them, and Bluesky's facets."""

from __future__ import annotations

import pytest

from broadcast.text import split_thread
from broadcast.text._social import (
    BLUESKY_COUNTER,
    BLUESKY_LIMIT,
    bluesky_length,
    graphemes,
    link_facets,
    links,
    mastodon_counter,
    mastodon_length,
)


def test_mastodon_counts_a_link_as_the_reserved_length() -> None:
    """However long, a link counts 23 (or the instance's own reserved length)."""
    url = "https://status.example.com/" + "a" * 200
    assert mastodon_length(f"See {url} now") == len("See ") + 23 + len(" now")
    assert mastodon_length(url, url_length=40) == 40


def test_mastodon_counts_a_remote_mention_as_the_local_part() -> None:
    """@user@domain counts as @user; an e-mail address is not a mention."""
    assert mastodon_length("ask @ops@status.example.social") == len("ask @ops")
    assert mastodon_length("mail ops@example.com") == len("mail ops@example.com")


def test_mastodon_counts_grapheme_clusters() -> None:
    """A family emoji (7 code points) and a flag count one each."""
    assert mastodon_length("👨‍👩‍👧‍👦🇯🇵é") == 3


def test_a_link_loses_the_punctuation_after_it() -> None:
    """A full stop or an unopened bracket after a link is not part of it."""
    text = "(see https://status.example.com/psn). And https://example.com/a_(b)!"
    assert [text[s:e] for s, e in links(text)] == [
        "https://status.example.com/psn",
        "https://example.com/a_(b)",
    ]


def test_mastodon_threads_fit_and_keep_links_whole() -> None:
    """Each part fits 100 as Mastodon counts, numbered, with the long link never cut."""
    url = "https://status.example.com/" + "x" * 150
    text = " ".join(["Word"] * 60) + f" {url} " + " ".join(["more"] * 60)
    parts = split_thread(text, limit=100, counter=mastodon_counter())
    assert len(parts) > 3
    assert all(mastodon_length(p) <= 100 for p in parts)
    assert sum(url in p for p in parts) == 1
    assert [p.rsplit(" ", 1)[1] for p in parts] == [
        f"{i}/{len(parts)}" for i in range(1, len(parts) + 1)
    ]


@pytest.mark.parametrize(
    ("text", "binds"),
    [
        ("word " * 400, "graphemes"),
        ("日本語のテキスト" * 150, "graphemes"),
        ("👨‍👩‍👧‍👦" * 200, "bytes"),
    ],
)
def test_bluesky_parts_fit_300_graphemes_and_3000_bytes(text: str, binds: str) -> None:
    """Whichever limit binds, every part keeps both, and comes close to the binding one."""
    parts = split_thread(text, limit=BLUESKY_LIMIT, counter=BLUESKY_COUNTER)
    assert len(parts) > 1
    assert all(graphemes(p) <= 300 and len(p.encode()) <= 3000 for p in parts)
    assert all(bluesky_length(p) <= BLUESKY_LIMIT for p in parts)
    first = parts[0]
    assert (graphemes(first) > 280) if binds == "graphemes" else (len(first.encode()) > 2900)


def test_facets_slice_the_links_out_of_the_utf8_bytes() -> None:
    """Two links after Japanese, emoji and an accent: byte offsets, not characters."""
    text = "障害 🔥 détails: https://status.example.com/a et 👉 https://example.com/b."
    encoded = text.encode()
    found = [
        encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in link_facets(text)
    ]
    assert found == ["https://status.example.com/a", "https://example.com/b"]
    assert link_facets("no link here") == []
