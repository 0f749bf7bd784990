"""X (Twitter) text rules: weighted length (twitter-text config v3) and thread splitting.

X does not count characters. It NFC-normalises the text, then weighs each code point 1
(U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F, U+2032-U+2037) or 2 (everything else: CJK,
emoji, most symbols), counts every link as 23 (it becomes a t.co link) and every emoji
sequence as 2. A post is valid when 0 < weighted length <= 280.

What counts as a link, following twitter-text's ``extractUrlsWithIndices``:

- ``http://`` or ``https://`` (any case), then a host whose last label is a real top-level
  domain (see ``_tlds.py``; so ``http://localhost`` is not a link), an optional ``:port``,
  path and ``?query``. Trailing punctuation is left out (``https://a.co/x.`` ends before the
  dot) and a ``)`` belongs to the link only when it closes a ``(`` inside it.
- A bare domain, ``example.com`` or ``docs.python.org/3/``: ASCII (or accented Latin) labels
  and a top-level domain, not glued to a preceding letter, digit, ``@``, ``$``, ``#``,
  ``-``, ``_``, ``.`` or ``/`` (so ``user@example.com`` is not a link).
- A t.co link stops after its slug; a link longer than 4,096 characters is not a link.

What counts as one emoji: a flag (two regional indicators), a keycap (``1️⃣``), a
subdivision flag (black flag + tags), or emoji joined by ZWJ, each optionally followed by
a skin-tone modifier or VS16. ``©`` and ``®`` are emoji only with VS16, as in twemoji.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import NamedTuple

import regex

from ._tlds import TLDS

__all__ = ["MAX_WEIGHTED", "fits", "split_thread", "weighted_length"]

MAX_WEIGHTED = 280
"""The longest post X accepts, in weighted characters (``maxWeightedTweetLength``)."""

_LINK_WEIGHT = 23  # transformedURLLength
_EMOJI_WEIGHT = 2  # defaultWeight / scale
_MAX_LINK_LENGTH = 4096
_MAX_TCO_SLUG = 40

# Everything outside config v3's weight-1 ranges weighs 2.
_HEAVY = re.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")

# Character sets from twitter-text's regexps.
_LATIN = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    r"\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_PATH = rf"[a-z\u0400-\u04ff0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN}]"
_PATH_END = rf"[+\-a-z\u0400-\u04ff0-9=_#/{_LATIN}]"
_PARENS = rf"\((?:{_PATH}+|{_PATH}*\({_PATH}+\){_PATH}*)\)"
_QUERY = r"\?[a-z0-9!?*'@();:&=+$/%\#\[\]\-_.,~|]*[a-z0-9\-_&=\#/]"
# A host character: anything but ASCII punctuation, spaces (all of str.isspace(), so a link
# never spans a space), BOM and non-characters, bidi controls.
_HOST = (
    r"[^!-/:-@\[-`{-~\t-\r\x1c-\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000\ufeff\ufffe\uffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BARE = rf"[\-a-z0-9{_LATIN}]"


_Trie = dict[str, "_Trie"]


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, as a trie: a miss costs a few steps, not a scan."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        if len(branches) > 1 or ("" in node and len(branches[0]) > 1):
            group = "(?:" + "|".join(branches) + ")"
        else:
            group = branches[0]
        return group + "?" if "" in node else group

    return emit(root)


_TLD = rf"(?:{_trie(TLDS)}|xn--[0-9a-z\-]+)(?![0-9a-z@+\-])"
_LINK = re.compile(
    rf"""
    (?<![a-z0-9@\uff20$\#\uff03\ufeff\ufffe\uffff])
    (?:
        (?P<scheme>https?://)
        (?P<host>(?:(?>{_HOST}(?:[_\-]*{_HOST})*)\.)+{_TLD})
      | (?<![\-_./{_LATIN}])
        (?P<bare>(?:{_BARE}++\.)+{_TLD})
    )
    (?::[0-9]+)?
    (?:/(?:(?:{_PATH}|{_PARENS})*(?:{_PATH_END}|{_PARENS}))?)?
    (?:{_QUERY})?
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Every top-level domain starts with a letter, so a link holds a dot and then a letter.
_LINK_HINT = re.compile(r"\.[^\W\d_]")
_SPACE = re.compile(r"\s")
_TCO = re.compile(rf"https?://t\.co/([a-z0-9]+)(?:{_QUERY})?", re.IGNORECASE)

# One element of a ZWJ sequence: a modifier sequence, or a pictograph with optional VS16.
_ZWJ_ELEMENT = (
    r"\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
    r"|[\u00a9\u00ae]\ufe0f"
    r"|(?![\u00a9\u00ae])\p{Extended_Pictographic}\ufe0f?"
)
# Some character of every emoji sequence is in here (a superset of Extended_Pictographic,
# the keycap mark, regional indicators): text without one holds no emoji.
_EMOJI_HINT = re.compile(
    "[\u00a9\u00ae\u203c\u2049\u20e3\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u27bf"
    "\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001fffd]"
)
_EMOJI = regex.compile(
    r"\p{Regional_Indicator}{2}"
    r"|[#*0-9]\ufe0f?\u20e3"
    r"|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
    rf"|(?:{_ZWJ_ELEMENT})(?:\u200d(?:{_ZWJ_ELEMENT}))*"
)


class _Span(NamedTuple):
    start: int
    end: int
    weight: int


def weighted_length(text: str) -> int:
    """The length X counts for ``text``: twitter-text config v3 weighted length."""
    text = unicodedata.normalize("NFC", text)
    if text.isascii() and "." not in text:
        return len(text)  # no heavy characters, emoji or links possible
    total = _raw_weight(text)
    for span in _entities(text):
        total += span.weight - _raw_weight(text[span.start : span.end])
    return total


def fits(text: str) -> bool:
    """Whether X accepts ``text`` as one post: 0 < weighted length <= ``MAX_WEIGHTED``."""
    return 0 < weighted_length(text) <= MAX_WEIGHTED


def _raw_weight(text: str) -> int:
    return len(text) + len(_HEAVY.findall(text))


def _links(text: str) -> list[_Span]:
    links: list[_Span] = []
    searched = 0  # text[:searched] is done
    for hint in _LINK_HINT.finditer(text):
        if hint.start() < searched:
            continue
        # A link never spans a space: look in the run of non-space around the hint only.
        space = _SPACE.search(text[searched : hint.start()][::-1])
        run_start = hint.start() - space.start() if space else searched
        space = _SPACE.search(text, hint.end())
        searched = space.start() if space else len(text)
        links.extend(_links_in(text, run_start, searched))
    return links


def _links_in(text: str, start: int, end: int) -> list[_Span]:
    links = []
    for match in _LINK.finditer(text, start, end):
        scheme, host = match.group("scheme"), match.group("host") or match.group("bare")
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            continue
        first, last = match.span()
        length = len(scheme or "https://") + last - first + len(ascii_host) - len(host)
        if length > _MAX_LINK_LENGTH:  # twitter-text's arithmetic, scheme counted twice
            continue
        if scheme and host.lower() == "t.co" and (tco := _TCO.match(match.group())):
            if len(tco.group(1)) > _MAX_TCO_SLUG:
                continue
            last = first + tco.end()
        links.append(_Span(first, last, _LINK_WEIGHT))
    return links


def _entities(text: str) -> list[_Span]:
    """Links, then emoji sequences that do not start inside a link, in text order."""
    links = _links(text)
    if not _EMOJI_HINT.search(text):
        return links
    starts = [link.start for link in links]
    emoji = [
        _Span(*match.span(), _EMOJI_WEIGHT)
        for match in _EMOJI.finditer(text)
        if not _inside(match.start(), starts, links)
    ]
    return sorted(links + emoji)


def _inside(position: int, starts: list[int], spans: Sequence[_Span]) -> bool:
    index = bisect_right(starts, position) - 1
    return index >= 0 and position < spans[index].end


# --- splitting a thread ---------------------------------------------------------------

# What str.isspace() (and so str.strip() and stdlib \s) calls whitespace.
_SPACE_CHARS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPACES = re.compile(r"\s+")
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


def split_thread(text: str, *, limit: int = MAX_WEIGHTED, numbered: bool = True) -> list[str]:
    """Split ``text`` into posts of weighted length 1..``limit``, for an X thread.

    The text is NFC-normalised and stripped; blank text gives no posts. Text that fits is
    one post, unnumbered. Otherwise each post ends at the last sentence end (or line break)
    that fits, else at the last space; a word heavier than a post is cut between grapheme
    clusters, so no emoji or accent is broken, and links stay whole as long as ``limit``
    leaves 23 beside the suffix. With ``numbered``, posts end in `` 1/3``, `` 2/3``, ...
    and the suffix counts toward ``limit``. Raises ``ValueError`` if ``limit`` leaves no
    room for text.
    """
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return []
    entities = _entities(text)
    weights = _code_point_weights(text, entities)
    if sum(weights) <= limit:
        return [text]
    splitter = _Splitter(text, weights, [span for span in entities if span.weight == _LINK_WEIGHT])
    if not numbered:
        return splitter.split(_budget(limit, 0))
    digits = 1
    while True:  # the suffix widens when the count gains a digit, which may add posts
        parts = splitter.split(_budget(limit, 2 + 2 * digits))  # " 9/9", " 99/99", ...
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
    for match in _HEAVY.finditer(text):
        weights[match.start()] = 2
    for span in entities:
        weights[span.start : span.end] = [0] * (span.end - span.start)
        weights[span.start] = span.weight
    return weights


class _Splitter:
    """Cuts one normalised, stripped text into posts; reusable for several budgets.

    A cut is *clean* at a space or after a CJK sentence end: the weights on either side
    do not depend on the other, so the prefix sums of the per-code-point weights give a
    post's exact weight. A cut inside a word can change them (cut a link short, say), so
    such posts are measured.
    """

    def __init__(self, text: str, weights: list[int], links: list[_Span]) -> None:
        self.text = text
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
        self.clean_starts = {0, *self.next_start.values()}
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
            clean = start in self.clean_starts and (end in self.next_start or end == len(self.text))
            if clean or weighted_length(self.text[start:end]) <= budget:
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
