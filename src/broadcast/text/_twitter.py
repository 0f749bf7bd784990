"""X (Twitter) text rules: weighted length (twitter-text config v3) and thread splitting.

The reference is twitter-text's official JavaScript implementation, npm ``twitter-text``
3.1.0, whose ``parseTweet`` this follows step by step, with config v3:

- The text is NFC-normalised, then read in UTF-16 code units, as JavaScript reads it.
- A link counts 23 (it becomes a t.co link): see ``_twitter_urls.py`` for what a link is.
- An emoji that twemoji-parser 11.0.2 finds counts 2 (see ``_twemoji.py``): a flag, a
  keycap, a skin tone, a ZWJ sequence of Emoji 11.0 or older. Anything else, a newer ZWJ
  sequence included, counts code point by code point.
- Every other code point weighs 1 (U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F,
  U+2032-U+2037) or 2 (everything else: CJK, emoji, most symbols).
- A link is looked for first, then an emoji, at each place in turn: what starts inside
  one is counted as part of it.

A post is valid when it holds no invalid character (U+FFFE, U+FEFF, U+FFFF) and
0 < weighted length <= 280.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import NamedTuple

import regex

from ._twemoji import EMOJI
from ._twitter_urls import urls

__all__ = ["MAX_WEIGHTED", "Counter", "fits", "split_thread", "weighted_length"]

MAX_WEIGHTED = 280
"""The longest post X accepts, in weighted characters (``maxWeightedTweetLength``)."""

_LINK_WEIGHT = 23  # transformedURLLength
_EMOJI_WEIGHT = 2  # defaultWeight / scale

_INVALID = re.compile("[\ufffe\ufeff\uffff]")
# Code units outside config v3's weight-1 ranges, bar surrogates (a pair weighs 2 anyway).
_HEAVY = re.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037\ud800-\udfff]")
_HEAVY_POINT = re.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE = re.compile(
    "[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]"
)


class _Span(NamedTuple):
    start: int
    end: int
    weight: int


def weighted_length(text: str) -> int:
    """The length X counts for ``text``: twitter-text 3.1.0's weighted length, config v3."""
    text = unicodedata.normalize("NFC", text)
    if text.isascii() and "." not in text:
        return len(text)  # no heavy characters, emoji or links possible
    return _walk(_units(text))[0]


def fits(text: str) -> bool:
    """Whether X accepts ``text`` as one post: valid, 0 < weighted length <= ``MAX_WEIGHTED``.

    A text with an invalid character (U+FFFE, U+FEFF or U+FFFF) never fits.
    """
    text = unicodedata.normalize("NFC", text)
    return 0 < weighted_length(text) <= MAX_WEIGHTED and not _INVALID.search(text)


def _units(text: str) -> str:
    """``text`` spelled in UTF-16 code units: each astral character as its surrogate pair."""
    if not _ASTRAL.search(text):
        return text
    codes = array("H", text.encode("utf-16-le", "surrogatepass"))
    if sys.byteorder == "big":
        codes.byteswap()
    return "".join(map(chr, codes))


def _walk(units: str) -> tuple[int, list[_Span]]:
    """The weighted length of ``units`` and the links and emoji it counted, in units.

    As ``parseTweet`` does: at each place a link, else an emoji, else one code point.
    """
    entities = {
        url.start: _Span(url.start, url.start + url.length, _LINK_WEIGHT) for url in urls(units)
    }
    if not units.isascii():
        for match in EMOJI.finditer(units):
            entities.setdefault(match.start(), _Span(*match.span(), _EMOJI_WEIGHT))
    total = 0
    taken = []
    position = 0
    for start in sorted(entities):
        if start < position:
            continue  # inside the link or emoji before it
        span = entities[start]
        total += _raw_weight(units[position:start]) + span.weight
        taken.append(span)
        position = span.end
    return total + _raw_weight(units[position:]), taken


def _raw_weight(units: str) -> int:
    """Code units weighed one by one: 1 or 2, a surrogate pair 2, a lone surrogate 2."""
    if units.isascii():
        return len(units)
    lone = len(_LONE_SURROGATE.findall(units)) if _SURROGATE.search(units) else 0
    return len(units) + len(_HEAVY.findall(units)) + lone


def _entities(text: str) -> list[_Span]:
    """The links and emoji X counts in ``text`` (normalised), in code points, in order."""
    units = _units(text)
    spans = _walk(units)[1]
    if units is text:
        return spans
    # Unit index -> code point index; an end inside a pair rounds down, so the code point
    # keeps its weight when its low half is counted on its own.
    index = [0] * (len(units) + 1)
    point = 0
    for unit, char in enumerate(units):
        index[unit] = point
        pair = "\ud800" <= char <= "\udbff" and "\udc00" <= units[unit + 1 : unit + 2] <= "\udfff"
        point += not pair
    index[len(units)] = point
    return [_Span(index[span.start], index[span.end], span.weight) for span in spans]


def _inside(position: int, starts: list[int], spans: Sequence[_Span]) -> bool:
    index = bisect_right(starts, position) - 1
    return index >= 0 and position < spans[index].end


# --- splitting a thread ---------------------------------------------------------------

# What str.isspace() (and so str.strip() and stdlib \s) calls whitespace.
_SPACE_CHARS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPACES = re.compile(r"\s+")
_NOT_JS_SPACE = re.compile("[\x1c-\x1f]")  # str.isspace() says yes, twitter-text no
# Sentence ends: . ! ? … ‼ ⁇ ⁈ ⁉, Arabic question mark and full stop, dandas, CJK full stops,
# each with any closing quotes or brackets after it.
_CLOSERS = "[\"')\\]\u00bb\u2019\u201d\u3009\u300b\u300d\u300f\u3011\uff09]*"
_END = "[.!?\u2026\u203c\u2047-\u2049\u061f\u06d4\u0964\u0965\u3002\uff01\uff1f\uff61]"
# A space that ends a sentence: after a sentence end and before a word that is not
# lowercase ("e.g. the" goes on), or any space with a line break in it.
_SENTENCE_SPACE = regex.compile(
    rf"(?<={_END}{_CLOSERS})[{_SPACE_CHARS}]++(?!\p{{Lowercase}})"
    rf"|(?<![{_SPACE_CHARS}])[{_SPACE_CHARS}]*\n[{_SPACE_CHARS}]*"
)
_CJK_STOP = re.compile(f"[\u3002\uff01\uff1f\uff61]{_CLOSERS}(?=\\S)")  # with no space after
_SOFT_BREAK_AFTER = frozenset(",;:-/\u2013\u2014\u3001\uff0c\uff1a\uff1b")
_GRAPHEME = regex.compile(r"\X")


class Counter(NamedTuple):
    """How an outlet counts a post, for ``split_thread``: X's weighted length by default.

    ``length`` measures a whole post. ``weights`` gives each code point's weight in
    context (an entity's on its first code point) and the links to keep whole, as
    ``(start, end)`` code point spans; cutting on these sums must never undercount, as a
    post is measured with ``length`` before it is taken.
    """

    length: Callable[[str], int]
    weights: Callable[[str], tuple[list[int], list[tuple[int, int]]]]


def split_thread(
    text: str, *, limit: int = MAX_WEIGHTED, numbered: bool = True, counter: Counter | None = None
) -> list[str]:
    """Split ``text`` into posts of weighted length 1..``limit``, for an X thread.

    The text is NFC-normalised and stripped; blank text gives no posts. Text that fits is
    one post, unnumbered. Otherwise each post ends at the last sentence end (or line break)
    that fits, else at the last space; a word heavier than a post is cut between grapheme
    clusters, so no emoji or accent is broken, and links stay whole as long as ``limit``
    leaves 23 beside the suffix. With ``numbered``, posts end in `` 1/3``, `` 2/3``, ...
    and the suffix counts toward ``limit``. Raises ``ValueError`` if ``limit`` leaves no
    room for text. ``counter`` counts as another outlet does (Mastodon, Bluesky); the
    cutting rules are the same.
    """
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return []
    measure: Callable[[str], int]
    if counter is None:
        entities = _entities(text)
        weights = _code_point_weights(text, entities)
        links = [span for span in entities if span.weight == _LINK_WEIGHT]
        measure, exact = weighted_length, True
    else:
        weights, spans = counter.weights(text)
        links = [_Span(start, end, 0) for start, end in spans]
        measure, exact = counter.length, False
        if measure(text) <= limit:
            return [text]
    if exact and sum(weights) <= limit:
        return [text]
    splitter = _Splitter(text, weights, links, measure=measure, exact=exact)
    if not numbered:
        return splitter.split(_budget(limit, 0))
    digits = 1
    while True:  # the suffix widens when the count gains a digit, which may add posts
        suffix = 2 + 2 * digits if counter is None else measure(f" {'9' * digits}/{'9' * digits}")
        parts = splitter.split(_budget(limit, suffix))  # " 9/9", " 99/99", ...
        if len(str(len(parts))) <= digits:
            break
        digits = len(str(len(parts)))
    return [f"{part} {number}/{len(parts)}" for number, part in enumerate(parts, 1)]


def _budget(limit: int, suffix: int) -> int:
    budget = limit - suffix
    if budget < 2:  # no code point weighs more than 2
        raise ValueError(f"limit={limit} leaves no room for text beside a {suffix}-wide suffix")
    return budget


def _code_point_weights(text: str, entities: list[_Span]) -> list[int]:
    """Each code point's weight in context; a link or emoji puts its weight on its first."""
    weights = [1] * len(text)
    for match in _HEAVY_POINT.finditer(text):
        weights[match.start()] = 2
    for span in entities:
        weights[span.start : span.end] = [0] * (span.end - span.start)
        weights[span.start] = span.weight
    return weights


class _Splitter:
    """Cuts one normalised, stripped text into posts; reusable for several budgets.

    A cut is *clean* at a space: no link or emoji spans one, and what twitter-text finds
    after it does not depend on what comes before, so the prefix sums of the per-code-point
    weights give a post's exact weight. Any other cut can change them: inside a word (cut a
    link short, say), after a CJK full stop (a bare domain's host may hold one) or at the
    separators U+001C-U+001F (spaces to Python, not to twitter-text). Such posts are
    measured.
    """

    def __init__(
        self,
        text: str,
        weights: list[int],
        links: list[_Span],
        *,
        measure: Callable[[str], int] = weighted_length,
        exact: bool = True,
    ) -> None:
        self.text = text
        self.measure = measure
        self.exact = exact  # the weights sum exactly at clean cuts (X's own counting)
        self.prefix = [0, *accumulate(weights)]
        self.links = links
        link_starts = [link.start for link in links]
        stops = [
            stop.end()
            for stop in _CJK_STOP.finditer(text)
            if not _inside(stop.end(), link_starts, links)  # a host may hold one
        ]
        # A clean cut -> where the next post starts.
        self.next_start = {match.start(): match.end() for match in _SPACES.finditer(text)}
        self.next_start.update(zip(stops, stops, strict=True))
        self.cuts = sorted(self.next_start)
        self.sentence_cuts = sorted(
            [match.start() for match in _SENTENCE_SPACE.finditer(text)] + stops
        )
        self.clean_cuts = {
            match.start(): match.end()
            for match in _SPACES.finditer(text)
            if not _NOT_JS_SPACE.search(match.group())
        }
        self.clean_starts = {0, *self.clean_cuts.values()}
        self.clusters: dict[int, tuple[list[int], list[int]]] = {}  # word start -> cuts in it

    def split(self, budget: int) -> list[str]:
        parts = []
        start = 0
        while start < len(self.text):
            end = self._end(start, budget)
            parts.append(self.text[start:end])
            start = self.next_start.get(end, end)
        return parts

    def _end(self, start: int, budget: int) -> int:
        """Where the post that starts at ``start`` ends."""
        # text[start:reach] fits, going by the weights in context.
        reach = bisect_right(self.prefix, self.prefix[start] + budget) - 1
        while True:
            end = self._best_cut(start, reach)
            clean = start in self.clean_starts and (end in self.clean_cuts or end == len(self.text))
            if (clean and self.exact) or end == start + 1:  # a code point always fits
                return end
            if self.measure(self.text[start:end]) <= budget:
                return end
            reach = end - 1

    def _best_cut(self, start: int, reach: int) -> int:
        """The last sentence end in (start, reach], else the last space, else a cut in the word."""
        if reach >= len(self.text):
            return len(self.text)
        for cuts in (self.sentence_cuts, self.cuts):
            index = bisect_right(cuts, reach) - 1
            if index >= 0 and cuts[index] > start:
                return cuts[index]
        # The word at start is heavier than a post: cut after its last soft break (a comma,
        # a hyphen, a slash) that fits, else between clusters; a cluster (or a link) that
        # is heavier than a post alone is cut between code points, the last resort.
        clusters, soft = self._clusters(start)
        for cuts in (soft, clusters):
            index = bisect_right(cuts, reach) - 1
            if index >= 0 and cuts[index] > start:
                return cuts[index]
        return max(reach, start + 1)

    def _clusters(self, position: int) -> tuple[list[int], list[int]]:
        """Cuts between the clusters of the word around ``position`` (none inside a link).

        Also returns those of them that follow a soft break.
        """
        index = bisect_right(self.cuts, position)
        start = self.next_start[self.cuts[index - 1]] if index else 0
        if start in self.clusters:
            return self.clusters[start]
        end = self.cuts[index] if index < len(self.cuts) else len(self.text)
        word = self.text[start:end]
        if word.isascii():  # no CR LF in a word: every character is a cluster
            cuts = list(range(start + 1, end + 1))
        else:
            cuts = list(accumulate(map(len, _GRAPHEME.findall(word)), initial=start))[1:]
        nearby = [link for link in self.links if link.start < end and start < link.end]
        if nearby:
            cuts = [cut for cut in cuts if not any(x.start < cut < x.end for x in nearby)]
        soft = [cut for cut in cuts if self.text[cut - 1] in _SOFT_BREAK_AFTER]
        self.clusters[start] = cuts, soft
        return cuts, soft
