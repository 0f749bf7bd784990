"""Shorten text at a word boundary until it fits, whatever the provider counts."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["ELLIPSIS", "cut_at_word", "utf16_length"]

ELLIPSIS = "…"
_GAP = re.compile(r"\s+")


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, as Telegram (and JavaScript) count: an emoji is 2."""
    return len(text.encode("utf-16-le")) // 2


def cut_at_word(text: str, fits: Callable[[str], bool]) -> str:
    """``text`` if it fits, else its longest start that fits ending at a whole word, plus "…".

    ``fits`` must be monotone (a shorter start never fits worse). Never cuts inside a
    word: when not even the first word fits, the result is "…" alone.
    """
    if fits(text):
        return text
    ends = [m.start() for m in _GAP.finditer(text.rstrip())]
    lo, hi = 0, len(ends)  # how many of the word ends may be used
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[: ends[mid - 1]] + ELLIPSIS):
            lo = mid
        else:
            hi = mid - 1
    return text[: ends[lo - 1]] + ELLIPSIS if lo else ELLIPSIS
