"""Shorten a chat message to a provider's limit: whole paragraphs, then whole words.

Used by the chat outlets (Slack, Discord), which count plain characters. The closing
lines (next update, signature, link) are always kept; the body gives way, paragraph
by paragraph, and the last paragraph that partly fits is cut after a whole word and
marked with an ellipsis. Pure.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ELLIPSIS", "fit_paragraphs", "split_words", "words_within"]

ELLIPSIS = "…"


def words_within(text: str, room: int, *, measure: Callable[[str], int] = len) -> str | None:
    """``text`` if it fits in ``room``; else its longest run of whole words and ``…``.

    None when not even one word fits.
    """
    if measure(text) <= room:
        return text
    words = text.split(" ")
    kept: list[str] = []
    for word in words:
        trial = " ".join([*kept, word]).rstrip() + ELLIPSIS
        if measure(trial) > room:
            break
        kept.append(word)
    cut = " ".join(kept).rstrip()
    return cut + ELLIPSIS if cut else None


def fit_paragraphs(
    head: list[str],
    body: list[str],
    closing: list[str],
    room: int,
    *,
    sep: str = "\n\n",
    measure: Callable[[str], int] = len,
) -> list[str]:
    """``head``, as much of ``body`` as fits in ``room``, then ``closing``, in that order.

    Paragraphs of ``body`` are kept whole while they fit; the first that does not is
    cut after a whole word (``…``) if any of it fits, and the rest are dropped.
    """
    kept = [*head]

    def total(parts: list[str]) -> int:
        return measure(sep.join(parts))

    for paragraph in body:
        trial = [*kept, paragraph, *closing]
        if total(trial) <= room:
            kept.append(paragraph)
            continue
        spare = room - total([*kept, *closing]) - measure(sep)
        if (cut := words_within(paragraph, spare, measure=measure)) is not None:
            kept.append(cut)
        elif kept == head and not kept:
            kept.append(ELLIPSIS)
        break
    return [*kept, *closing]


def split_words(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, each ending at a word's end.

    A single word longer than ``size`` (a long URL) is the only thing ever split inside.
    """
    pieces: list[str] = []
    rest = text
    while len(rest) > size:
        cut = rest.rfind(" ", 0, size + 1)
        if cut <= 0:
            cut = size
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip(" ")
    if rest:
        pieces.append(rest)
    return pieces
