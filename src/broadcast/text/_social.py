"""How Mastodon and Bluesky count a post, and Bluesky's link facets; pure.

Mastodon counts grapheme clusters, every link as ``characters_reserved_per_url``
(23 by default) and a mention ``@user@domain`` as ``@user`` (its StatusLengthValidator).
Bluesky takes at most 300 grapheme clusters **and** 3,000 UTF-8 bytes; one ``Counter``
checks both, as ``max(10 * graphemes, bytes)`` against 3,000. A link is
``http://`` or ``https://`` up to the next space, without the punctuation that ends a
sentence after it (and a closing bracket it did not open).

Bluesky shows a link as a link only through a *facet*: ``byteStart``/``byteEnd`` in
UTF-8 bytes of the text, not characters (``link_facets``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import regex

from ._twitter import Counter

__all__ = [
    "BLUESKY_BYTES",
    "BLUESKY_COUNTER",
    "BLUESKY_GRAPHEMES",
    "BLUESKY_LIMIT",
    "MASTODON_MAX_CHARACTERS",
    "MASTODON_URL_LENGTH",
    "bluesky_length",
    "graphemes",
    "link_facets",
    "links",
    "mastodon_counter",
    "mastodon_length",
]

MASTODON_MAX_CHARACTERS = 500
"""Mastodon's default ``configuration.statuses.max_characters``."""
MASTODON_URL_LENGTH = 23
"""Mastodon's default ``characters_reserved_per_url``."""
BLUESKY_GRAPHEMES = 300
BLUESKY_BYTES = 3000
BLUESKY_LIMIT = 10 * BLUESKY_GRAPHEMES
"""The limit ``BLUESKY_COUNTER`` counts against: 300 clusters, or 3,000 bytes."""

_LINK = re.compile(r"(?<![^\s(])https?://[^\s]+", re.IGNORECASE)
_TRAILING = re.compile(r"[.,;:!?'\"]+$")
_MENTION = re.compile(r"(?<![\w/])@([a-z0-9_]+)(@[\w.-]+\w)", re.IGNORECASE)
_CLUSTER = regex.compile(r"\X")


def links(text: str) -> list[tuple[int, int]]:
    """The links in ``text`` as ``(start, end)`` code point spans, in order."""
    found = []
    for match in _LINK.finditer(text):
        url = match.group()
        while True:
            trimmed = _TRAILING.sub("", url)
            if trimmed.endswith(")") and trimmed.count("(") < trimmed.count(")"):
                trimmed = trimmed[:-1]
            if trimmed == url:
                break
            url = trimmed
        if len(url) > len("https://"):
            found.append((match.start(), match.start() + len(url)))
    return found


def _cluster_starts(text: str) -> list[int]:
    return [m.start() for m in _CLUSTER.finditer(text)]


def _mastodon_weights(
    text: str, *, url_length: int = MASTODON_URL_LENGTH
) -> tuple[list[int], list[tuple[int, int]]]:
    weights = [0] * len(text)
    for start in _cluster_starts(text):
        weights[start] = 1
    for start, end in (m.span(2) for m in _MENTION.finditer(text)):
        weights[start:end] = [0] * (end - start)  # @user@domain counts as @user
    spans = links(text)
    for start, end in spans:
        weights[start:end] = [0] * (end - start)
        weights[start] = url_length
    return weights, spans


def mastodon_length(text: str, *, url_length: int = MASTODON_URL_LENGTH) -> int:
    """The length Mastodon counts for ``text``."""
    return sum(_mastodon_weights(text, url_length=url_length)[0])


@functools.lru_cache(maxsize=8)
def mastodon_counter(url_length: int = MASTODON_URL_LENGTH) -> Counter:
    """Mastodon's way of counting, with the instance's ``characters_reserved_per_url``."""
    return Counter(
        length=functools.partial(mastodon_length, url_length=url_length),
        weights=functools.partial(_mastodon_weights, url_length=url_length),
    )


def graphemes(text: str) -> int:
    """How many grapheme clusters ``text`` holds (Unicode's extended clusters)."""
    return len(_cluster_starts(text))


def bluesky_length(text: str) -> int:
    """``max(10 * grapheme clusters, UTF-8 bytes)``: fits Bluesky when at most 3,000."""
    return max(10 * len(_cluster_starts(text)), len(text.encode("utf-8", "surrogatepass")))


def _bluesky_weights(text: str) -> tuple[list[int], list[tuple[int, int]]]:
    # A cluster weighs max(10, its bytes), on its first code point: a sum never
    # undercounts, and is exact for text whose clusters hold at most 10 bytes each (all
    # but emoji sequences) or more each (where the bytes bind).
    weights = [0] * len(text)
    for match in _CLUSTER.finditer(text):
        weights[match.start()] = max(10, len(match.group().encode("utf-8", "surrogatepass")))
    return weights, links(text)


BLUESKY_COUNTER = Counter(length=bluesky_length, weights=_bluesky_weights)


def link_facets(text: str) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` entries making each link in ``text`` clickable.

    ``byteStart`` and ``byteEnd`` are UTF-8 byte offsets into the text, as Bluesky
    requires: a character before the link may be one byte or four.
    """
    facets = []
    for start, end in links(text):
        byte_start = len(text[:start].encode("utf-8", "surrogatepass"))
        byte_end = byte_start + len(text[start:end].encode("utf-8", "surrogatepass"))
        facets.append(
            {
                "index": {"byteStart": byte_start, "byteEnd": byte_end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": text[start:end]}],
            }
        )
    return facets
