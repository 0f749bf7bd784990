"""The Telegram message for an update: HTML, counted as Telegram counts it.

Telegram limits ``text`` to 4,096 characters *after entity parsing*, counted in
UTF-16 code units: the tags of ``parse_mode=HTML`` do not count and ``&lt;`` counts
as one. So the message is built twice, side by side: the visible text (what is
counted) and its HTML (what is sent), with ``&``, ``<`` and ``>`` of user text escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .._update import Update
from ._cut import cut_at_word, utf16_length
from ._facts import components_line, next_update_phrase, signature, status_tag

__all__ = ["MAX_TELEGRAM_TEXT", "TelegramMessage", "render_telegram"]

MAX_TELEGRAM_TEXT = 4096
"""Telegram's limit on ``text``, in UTF-16 code units after entity parsing."""


@dataclass(frozen=True, slots=True)
class TelegramMessage:
    """A rendered update: the HTML sent, the text Telegram counts, and its length."""

    html: str
    text: str
    """What readers see (and Telegram counts): the HTML with its tags parsed away."""
    length: int
    """UTF-16 code units of ``text``."""
    link: str | None
    incident: str
    update_key: str
    shortened: bool = False

    def preview(self) -> str:
        """The visible text and how it counts."""
        cut = "; shortened to fit" if self.shortened else ""
        return (
            f"{self.text}\n[{self.length}/{MAX_TELEGRAM_TEXT} UTF-16 units after parsing, "
            f"parse_mode HTML{cut}]"
        )


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def render_telegram(update: Update, *, limit: int = MAX_TELEGRAM_TEXT) -> TelegramMessage:
    """The message for ``update``; too long, the body is cut at a word, the facts kept."""
    headline = f"{status_tag(update)} {update.title}"
    closing = [
        p for p in (components_line(update), next_update_phrase(update), signature(update)) if p
    ]
    if update.url:
        closing.append(f"Details: {update.url}")
    body = "\n\n".join(update.paragraphs)

    def visible(part: str) -> str:
        return "\n\n".join(p for p in (headline, part, *closing) if p)

    cut = cut_at_word(body, lambda b: utf16_length(visible(b)) <= limit)
    if cut == "…" and body:  # not one word of the body fits: the facts alone
        cut = ""
    text = visible(cut)
    marked = "\n\n".join(
        p for p in (f"<b>{_escape(headline)}</b>", _escape(cut), *map(_escape, closing)) if p
    )
    return TelegramMessage(
        html=marked,
        text=text,
        length=utf16_length(text),
        link=update.url,
        incident=update.incident,
        update_key=update.key,
        shortened=cut != body,
    )
