"""SMS text: GSM-7 or UCS-2, segment counts as Twilio bills them, and fitting an update.

The reference is Twilio's own segment calculator, npm ``sms-segments-calculator`` 1.3.0
(TwilioDevEd/message-segment-calculator), which this follows:

A message is GSM-7 when every character is in the GSM 03.38 basic set (1 septet) or its
extension table (2 septets: ESC and a code); one character outside both makes the whole
message UCS-2, counted in UTF-16 code units (an astral character such as an emoji is a
surrogate pair, 2 units). One segment holds 160 septets or 70 units; a longer message is
split into parts of 153 or 67, the rest going to the User Data Header.

Parts are packed as the calculator packs them: an escape pair never straddles two parts,
and in UCS-2 neither does a grapheme cluster (a flag, a ZWJ family, a skin tone, a keycap,
a letter and its accents: see ``_graphemes.py``), so one that would is moved whole to the
next part, which can add a part to the plain ceiling division: ``"ж"*65 + "🇬🇧" + "ж"*65``
is 3 segments, not 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from .._update import Update
from ._facts import next_update_phrase, signature, status_tag
from ._graphemes import graphemes
from ._twitter import _CJK_STOP, _SENTENCE_SPACE  # one definition of a sentence end

__all__ = [
    "SmsCount",
    "SmsEncoding",
    "SmsText",
    "render_sms",
    "segments",
    "split_segments",
    "transliterate",
]


class SmsEncoding(StrEnum):
    """The alphabet a message travels in."""

    GSM_7 = "GSM-7"
    UCS_2 = "UCS-2"


# GSM 03.38 (providers.md section 3, from TwilioDevEd/message-segment-calculator).
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = "\f^{}\\[]~|€"
_NOT_GSM = re.compile(f"[^{re.escape(_GSM_BASIC + _GSM_EXTENSION)}]")

# Units in one segment alone, and in each part of a longer message.
_GSM_SINGLE, _GSM_PART = 160, 153
_UCS_SINGLE, _UCS_PART = 70, 67
_GSM_BITS, _UCS_BITS = 7, 16  # a septet; a UTF-16 code unit
_SEGMENT_BITS, _HEADER_BITS = 1120, 48  # 140 octets; 6 octets of User Data Header
_UNIT_NAMES = {SmsEncoding.GSM_7: "septets", SmsEncoding.UCS_2: "UTF-16 units"}


@dataclass(frozen=True, slots=True)
class SmsCount:
    """How a text travels by SMS, and what it costs."""

    encoding: SmsEncoding
    units: int
    """Septets for GSM-7 (2 per extension character), UTF-16 code units for UCS-2."""
    segments: int
    """Parts billed; 0 for empty text."""
    per_segment: int
    """Units one segment holds here: 160 or 70 alone, 153 or 67 as part of a longer one."""

    def __str__(self) -> str:
        """``2 segments (GSM-7, 153/segment): cost x2``."""
        noun = "segment" if self.segments == 1 else "segments"
        return (
            f"{self.segments} {noun} ({self.encoding}, {self.per_segment}/segment): "
            f"cost x{self.segments}"
        )


def segments(text: str) -> SmsCount:
    """The encoding, length and segment count of ``text`` sent as it is.

    Counted as Twilio's segment calculator counts it (npm ``sms-segments-calculator``
    1.3.0): see the module docstring.
    """
    if not text:
        return SmsCount(SmsEncoding.GSM_7, 0, 0, _GSM_SINGLE)
    encoding, sizes = _sizes(text)
    bits = _GSM_BITS if encoding is SmsEncoding.GSM_7 else _UCS_BITS
    units = sum(sizes) // bits
    single, part = (
        (_GSM_SINGLE, _GSM_PART) if encoding is SmsEncoding.GSM_7 else (_UCS_SINGLE, _UCS_PART)
    )
    if units <= single:
        return SmsCount(encoding, units, 1, single)
    if max(sizes) == bits:  # one unit each: nothing to keep whole
        return SmsCount(encoding, units, -(-units // part), part)
    return SmsCount(encoding, units, len(_pack(sizes)), part)


def split_segments(text: str) -> list[str]:
    """The text each segment of ``text`` carries, as Twilio's calculator splits it."""
    if not text:
        return []
    _, sizes = _sizes(text)
    pieces = _characters(text)
    parts = []
    start = 0
    for count in _pack(sizes):
        parts.append("".join(pieces[start : start + count]))
        start += count
    return parts


def _characters(text: str) -> list[str]:
    """What Twilio's calculator packs whole: code points in GSM-7, else grapheme clusters.

    It splits a CR LF cluster in two again.
    """
    if _NOT_GSM.search(text) is None:
        return list(text)
    clusters = graphemes(text)
    if "\r\n" in text:
        clusters = [piece for cluster in clusters for piece in _split_crlf(cluster)]
    return clusters


def _split_crlf(cluster: str) -> list[str]:
    return ["\r", "\n"] if cluster == "\r\n" else [cluster]


def _sizes(text: str) -> tuple[SmsEncoding, list[int]]:
    """The encoding and the size in bits of each character packed whole."""
    if _NOT_GSM.search(text) is None:
        ext = _GSM_EXTENSION
        return SmsEncoding.GSM_7, [2 * _GSM_BITS if c in ext else _GSM_BITS for c in text]
    return SmsEncoding.UCS_2, [_UCS_BITS * _utf16_length(c) for c in _characters(text)]


def _utf16_length(cluster: str) -> int:
    return len(cluster) + sum(1 for char in cluster if char > "\uffff")


def _pack(sizes: list[int]) -> list[int]:
    """How many characters each segment takes, packed as Twilio's calculator packs them.

    A segment holds 1,120 bits. Characters go into the current one while they fit; the
    first that does not opens a new segment, with a 48-bit User Data Header, and then the
    first segment takes its header too, its last characters moving to the second segment
    until it fits again. A character is never cut, even one bigger than a segment.
    """
    counts = [0]
    used = 0
    first: list[int] = []  # the first segment's sizes, while it is the only one
    for size in sizes:
        if _SEGMENT_BITS - used < size:
            if len(counts) == 1:
                kept, moved = _HEADER_BITS + sum(first), []
                while kept > _SEGMENT_BITS:
                    moved.append(first.pop())
                    kept -= moved[-1]
                counts[0] -= len(moved)
                counts.append(len(moved))
                used = _HEADER_BITS + sum(moved)
            else:
                counts.append(0)
                used = _HEADER_BITS
        counts[-1] += 1
        used += size
        if len(counts) == 1:
            first.append(size)
    return counts


# Typography with a plain GSM-7 equivalent. Every key is outside GSM-7, so text that is
# already GSM-7 is never changed; letters (á, ç, ł...) are left alone, as they are words.
_GSM_EQUIVALENTS = {
    # single quotes, apostrophes and primes
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark, the curly apostrophe
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2039": "'",  # single left-pointing angle quotation mark
    "\u203a": "'",  # single right-pointing angle quotation mark
    "\u2032": "'",  # prime
    "\u02bc": "'",  # modifier letter apostrophe
    "\u00b4": "'",  # acute accent
    "`": "'",  # grave accent (backtick): ASCII, but not GSM-7
    # double quotes
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u00ab": '"',  # left-pointing double angle quotation mark
    "\u00bb": '"',  # right-pointing double angle quotation mark
    "\u2033": '"',  # double prime
    # dashes, hyphens, minus, bullets
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2022": "-",  # bullet
    "\u2023": "-",  # triangular bullet
    "\u2043": "-",  # hyphen bullet
    "\u25e6": "-",  # white bullet
    # ellipsis
    "\u2026": "...",  # horizontal ellipsis
    # spaces: tab, no-break and the typographic widths become a plain space
    "\t": " ",
    "\u00a0": " ",  # no-break space
    "\u1680": " ",  # ogham space mark
    **dict.fromkeys([chr(c) for c in range(0x2000, 0x200B)], " "),  # en quad .. hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
    "\u2028": "\n",  # line separator
    "\u2029": "\n",  # paragraph separator
    # invisible characters are dropped
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero-width no-break space (BOM)
    # a few symbols with a short spelling
    "\u00d7": "x",  # multiplication sign
    "\u00f7": "/",  # division sign
    "\u2044": "/",  # fraction slash
    "\u2190": "<-",  # leftwards arrow
    "\u2192": "->",  # rightwards arrow
    "\u2264": "<=",  # less-than or equal to
    "\u2265": ">=",  # greater-than or equal to
    "\u00a9": "(c)",  # copyright sign
    "\u00ae": "(R)",  # registered sign
    "\u2122": "TM",  # trade mark sign
}
_INVISIBLE = [char for char, equivalent in _GSM_EQUIVALENTS.items() if not equivalent]
_TRANSLITERABLE = re.compile(f"[{re.escape(''.join(_GSM_EQUIVALENTS))}]")


def transliterate(text: str) -> str:
    """``text`` with the typography in the table above replaced by GSM-7 equivalents.

    Curly quotes, dashes, ellipses, bullets and Unicode spaces become ``' " - ... -`` and
    a space, so one of them no longer turns the whole message into UCS-2. Everything
    else is left as it is.
    """
    # A search and a few swaps: several times faster than str.translate with this table.
    return _TRANSLITERABLE.sub(_equivalent, text)


def _equivalent(match: re.Match[str]) -> str:
    return _GSM_EQUIVALENTS[match.group()]


Level = Literal["full", "summary", "minimal"]

# After these a title runs into the body with a space rather than ": ".
_TITLE_ENDS = frozenset(".!?:;\u2026\u3002\uff01\uff1f")


@dataclass(frozen=True, slots=True)
class SmsText:
    """An update rendered as one SMS: its text, its cost and how much of it was kept."""

    text: str
    count: SmsCount
    level: Level
    """``full``: everything; ``summary``: the first sentences; ``minimal``: title and link."""
    update_key: str = ""
    """The key of the update it renders (set by the SMS channel, for the journal)."""

    def preview(self) -> str:
        """The text under a line giving its form, segments, encoding and cost."""
        return f"--- SMS, {self.level} form: {self.count} ---\n{self.text}"


def render_sms(update: Update, /, *, max_segments: int = 2, transliterate: bool = True) -> SmsText:
    """``update`` as one SMS of at most ``max_segments`` segments.

    Tries three forms, longest first, and returns the first that fits:

    - ``full``: ``[Status] Title: body. Next update by 10:00 UTC. link``, with the
      author's `` — signature`` after the link if it still fits;
    - ``summary``: status, title, as many whole first sentences of the body as fit (at
      least one) and the link;
    - ``minimal``: status, title and link.

    The link is never cut or changed. With ``transliterate``, the text around it is also
    tried with typography made GSM-7 (see ``transliterate``), and whichever needs fewer
    segments is sent; on a tie, GSM-7 wins, then the author's own characters. Raises
    ``ValueError`` if even the minimal form needs more than ``max_segments``.
    """
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, not {max_segments}")
    fit = _Fitter(update.url, max_segments=max_segments, transliterate=transliterate)
    head = f"{status_tag(update)} {update.title}"
    ends_sentence = update.title[-1] in _TITLE_ENDS
    paragraphs = update.paragraphs
    body = " ".join(paragraphs)
    # "Title: body." when there is a body; a title alone ends as a sentence before more.
    lead = head + (" " if ends_sentence else ": " if body else ". ")
    promise = next_update_phrase(update)
    said = " ".join(p for p in (body, promise) if p)
    before_link = lead + said if said else head
    sign = signature(update)
    if sign and (sms := fit(before_link, sign, "full")):
        return sms
    if sms := fit(before_link, None, "full"):
        return sms
    room = fit.room - len(lead)  # no longer body can fit: every character is a unit or more
    if sms := _summary(fit, lead, body, _sentence_ends(paragraphs, room)):
        return sms
    if sms := fit(head, None, "minimal"):
        return sms
    raise fit.too_long(head)


def _sentence_ends(paragraphs: tuple[str, ...], limit: int) -> list[int]:
    """Where the sentences of the paragraphs joined by spaces end, up to ``limit``.

    Stops reading at ``limit``, so a long body costs no more than a short one.
    """
    ends: list[int] = []
    offset = 0
    for paragraph in paragraphs:
        if offset > limit:
            break
        for space in _SENTENCE_SPACE.finditer(paragraph):
            if offset + space.start() > limit:
                break
            ends.append(offset + space.start())
        if not paragraph.isascii():
            for stop in _CJK_STOP.finditer(paragraph):
                if offset + stop.end() > limit:
                    break
                ends.append(offset + stop.end())
        offset += len(paragraph)
        if offset <= limit:
            ends.append(offset)
        offset += 1  # the joining space
    return sorted(set(ends))


def _summary(fit: _Fitter, lead: str, body: str, ends: list[int]) -> SmsText | None:
    """The most whole first sentences that fit, at least one; a binary search on their count.

    More text never needs fewer segments, so the forms that fit are a prefix of the list.
    """
    best = fit(lead + body[: ends[0]], None, "summary") if ends else None
    if best is None:
        return None
    low, high = 1, len(ends)  # ends[:low] fits; ends[:high + 1] does not
    while low < high:
        middle = (low + high + 1) // 2
        sms = fit(lead + body[: ends[middle - 1]], None, "summary")
        if sms is None:
            high = middle - 1
        else:
            best, low = sms, middle
    return best


class _Fitter:
    """Measures candidate texts around the one link, transliterated or not."""

    def __init__(self, url: str | None, *, max_segments: int, transliterate: bool) -> None:
        self.url = url
        self.max_segments = max_segments
        self.transliterate = transliterate
        # The most characters that could fit: every character is at least one unit.
        self.room = _GSM_SINGLE if max_segments == 1 else _GSM_PART * max_segments

    def __call__(self, before: str, after: str | None, level: Level) -> SmsText | None:
        """The best SMS of ``before``, the link and ``after``, if it fits."""
        text = self._join(before, after)
        # Too long to fit in any encoding, even with invisible characters dropped?
        if len(text) - sum(map(text.count, _INVISIBLE)) > self.room:
            return None
        text, count = self._best(self._candidates(before, after, text))
        return SmsText(text, count, level) if count.segments <= self.max_segments else None

    def too_long(self, head: str) -> ValueError:
        """The error when even ``head`` and the link do not fit."""
        text, count = self._best(self._candidates(head, None, self._join(head, None)))
        form, hint = "status and title", "shorten the title"
        if self.url:
            form, hint = "status, title and link", "shorten the title or the link"
        if count.encoding is SmsEncoding.UCS_2:
            chars = " ".join(dict.fromkeys(_NOT_GSM.findall(text)))[:40]
            hint += f" (or drop the characters outside GSM-7 that make it UCS-2: {chars})"
        return ValueError(
            f"the update does not fit in {self.max_segments} SMS segment(s) even in its "
            f"minimal form ({form}): that needs {count.segments} segments "
            f"({count.units} {_UNIT_NAMES[count.encoding]}, {count.encoding}); "
            f"{hint}, or raise max_segments"
        )

    def _candidates(self, before: str, after: str | None, text: str) -> list[str]:
        """``text`` as written, then transliterated if that changes it (never the link)."""
        if not self.transliterate:
            return [text]
        plain = self._join(transliterate(before), transliterate(after) if after else None)
        return [text] if plain == text else [text, plain]

    @staticmethod
    def _best(candidates: list[str]) -> tuple[str, SmsCount]:
        """Fewest segments; on a tie GSM-7, then the text as written (listed first)."""
        counted = [(text, segments(text)) for text in candidates]
        return min(
            counted,
            key=lambda item: (item[1].segments, item[1].encoding is SmsEncoding.UCS_2),
        )

    def _join(self, before: str, after: str | None) -> str:
        return " ".join(part for part in (before, self.url, after) if part)
