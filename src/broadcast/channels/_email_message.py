"""Pure rendering of an update as a threaded multipart/alternative email.

One template is rendered per update; each recipient's message is that template plus
its own ``To`` and ``Message-ID`` lines, so a send to 100,000 people formats once.
Everything here is deterministic: the same update and options give the same bytes.

Threading: every update of an incident carries ``In-Reply-To`` and ``References``
pointing at ``<incident.{id}@{sender domain}>``, so mail clients that thread by
references (Thunderbird, and others following RFC 5322) group the incident with no
stored state. Gmail also wants the same subject, Outlook its own Thread-Index.

A msg-id is ``"<" id-left "@" id-right ">"`` with a dot-atom-text on the left (RFC 5322
section 3.6.4): letters, digits and ``!#$%&'*+-/=?^_`{|}~`` in runs joined by single dots.
An incident id that is not one (``a..b``, ``a.``, a space, a non-ASCII letter) is written
as the hex of its UTF-8 instead, ``<incident-x.612e2e62@...>``: the same id always gives
the same msg-id, so follow-ups find the thread, and no two ids share one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from .._update import Update
from ..text import affected_components, next_update_time, readable_time, signature, status_tag

__all__ = ["EmailTemplate", "is_msg_id", "list_id_header", "render_email", "thread_root"]

_UNFOLDED = SMTP.clone(max_line_length=998)

_STATUS_COLOURS = {
    "investigating": "#b42318",
    "identified": "#b54708",
    "monitoring": "#175cd3",
    "resolved": "#067647",
}


def _one_line(text: str) -> str:
    """Defence in depth: whatever reaches a header is a single line."""
    return " ".join(text.split())


def _literal(text: str) -> str:
    """``text`` for a header that the email package must not read RFC 2047 words from.

    Setting a header parses its value, decoding any ``=?charset?q?...?=`` in it: a title
    holding ``=?utf-8?q?x=0D=0ABcc=3A_...?=`` would otherwise come out as a raw CRLF and
    a ``Bcc:`` line. An invisible word joiner after each ``=`` of ``=?`` leaves nothing to
    decode; the header is then sent encoded and reads as the title.
    """
    return text.replace("=?", "=\u2060?")


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM_TEXT = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")


def list_id_header(value: str) -> str:
    """``List-Id`` (RFC 2919): ``Name <label.example.com>`` or the bare ``label.example.com``."""
    display, _, rest = value.strip().rpartition("<")
    ident = rest.removesuffix(">") if display or value.strip().startswith("<") else value.strip()
    if not re.fullmatch(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", ident):
        raise ValueError(f"list_id must be a dotted id such as status.example.com, got {value!r}")
    return f"{display.strip()} <{ident}>".strip()


def thread_root(incident: str, domain: str) -> str:
    """The Message-ID every update of ``incident`` replies to: a valid RFC 5322 msg-id."""
    if _DOT_ATOM_TEXT.fullmatch(incident):
        return f"<incident.{incident}@{domain}>"
    encoded = incident.encode("utf-8", "surrogatepass").hex() or "-"
    return f"<incident-x.{encoded}@{domain}>"


def is_msg_id(text: str) -> bool:
    """Whether ``text`` is ``<dot-atom-text@dot-atom-text>``, as broadcast writes msg-ids."""
    left, at, right = text.removeprefix("<").removesuffix(">").partition("@")
    return (
        text.startswith("<")
        and text.endswith(">")
        and bool(at)
        and bool(_DOT_ATOM_TEXT.fullmatch(left))
        and bool(_DOT_ATOM_TEXT.fullmatch(right))
    )


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    """A rendered email: the shared MIME bytes plus what varies per recipient."""

    subject: str
    text: str
    html: str
    domain: str
    update_key: str
    thread_root: str
    template: bytes
    """The message without ``To`` and ``Message-ID``, CRLF line endings."""
    incident: str = ""

    def threaded_under(self, root: str) -> EmailTemplate:
        """The same message, replying to ``root`` (an incident's recorded thread root)."""
        if root == self.thread_root:
            return self
        head, sep, body = self.template.partition(b"\r\n\r\n")
        head = head.replace(self.thread_root.encode(), _one_line(root).encode("ascii"))
        return dataclasses.replace(self, thread_root=root, template=head + sep + body)

    def message_id(self, recipient: str) -> str:
        """A stable Message-ID for this update and recipient (a re-send reuses it)."""
        digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:16]
        return f"<{self.update_key}.{digest}@{self.domain}>"

    def message_for(self, recipient: str) -> bytes:
        """The full message for one recipient, who sees only their own address."""
        head = f"To: {recipient}\r\nMessage-ID: {self.message_id(recipient)}\r\n"
        return head.encode("ascii") + self.template

    def lines_for(self, recipient: str) -> list[tuple[bytes, bytes]]:
        """The header lines ``message_for`` puts before the template, as (name, value)."""
        return [
            (b"To", f" {recipient}\r\n".encode("ascii")),
            (b"Message-ID", f" {self.message_id(recipient)}\r\n".encode("ascii")),
        ]

    def preview(self) -> str:
        """Subject, then the plain-text part."""
        return f"Subject: {self.subject}\n\n{self.text}"


def _subject(update: Update) -> str:
    return _one_line(f"{status_tag(update)} {update.title}")


def _facts(update: Update) -> list[tuple[str, str]]:
    facts = [
        ("Status", update.status.value.capitalize()),
        ("Severity", update.severity.value.capitalize()),
    ]
    if affected := affected_components(update):
        facts.append(("Affected", affected))
    if when := next_update_time(update):
        facts.append(("Next update", f"by {when}"))
    if update.url is not None:
        facts.append(("Details", update.url))
    return facts


def _footer(update: Update) -> str:
    stamp = readable_time(update.created_at)
    return f"Incident {update.incident} · update {update.key[:12]} · {stamp}"


def _text(update: Update) -> str:
    lines = [update.title, ""]
    if update.paragraphs:
        lines += [*_join_paragraphs(update), ""]
    lines += [f"{label}: {value}" for label, value in _facts(update)]
    if sign := signature(update):
        lines += ["", sign]
    lines += ["", _footer(update)]
    return "\n".join(lines) + "\n"


def _join_paragraphs(update: Update) -> list[str]:
    out: list[str] = []
    for paragraph in update.paragraphs:
        if out:
            out.append("")
        out.append(paragraph)
    return out


def _html(update: Update) -> str:
    e = html.escape
    colour = _STATUS_COLOURS[update.status.value]
    paragraphs = "\n".join(f"<p>{e(p).replace(chr(10), '<br>')}</p>" for p in update.paragraphs)
    rows = []
    for label, value in _facts(update):
        cell = (
            f'<a href="{e(value, quote=True)}">{e(value)}</a>' if label == "Details" else e(value)
        )
        rows.append(f'<tr><th align="left">{e(label)}</th><td>{cell}</td></tr>')
    author = f"<p>— {e(update.author)}</p>" if update.author else ""
    return (
        '<!DOCTYPE html>\n<html><body style="font-family:sans-serif;line-height:1.5">\n'
        f'<p style="color:{colour};font-weight:bold">{e(_subject(update))}</p>\n'
        f'<h1 style="font-size:1.3em">{e(update.title)}</h1>\n'
        f"{paragraphs + chr(10) if paragraphs else ''}<table>{''.join(rows)}</table>\n{author}\n"
        f'<p style="color:#667085;font-size:0.85em">{e(_footer(update))}</p>\n'
        "</body></html>\n"
    )


def render_email(
    update: Update,
    *,
    sender: str,
    domain: str,
    reply_to: str | None = None,
    list_unsubscribe: str | None = None,
    one_click: bool = False,
    list_id: str | None = None,
) -> EmailTemplate:
    """Render ``update`` once for every recipient.

    ``one_click``: each recipient's own ``List-Unsubscribe`` is put before the template,
    so the template carries only ``List-Unsubscribe-Post`` (RFC 8058).
    """
    subject = _subject(update)
    text = _text(update)
    body_html = _html(update)
    root = thread_root(update.incident, domain)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["Subject"] = _literal(subject)
    msg["Date"] = format_datetime(update.created_at)
    msg["In-Reply-To"] = root
    msg["References"] = root
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Broadcast-Incident"] = update.incident
    msg["X-Broadcast-Update"] = update.key
    if reply_to:
        msg["Reply-To"] = _one_line(reply_to)
    if list_id:
        msg["List-Id"] = _one_line(list_id)
    if list_unsubscribe:
        msg["List-Unsubscribe"] = _one_line(list_unsubscribe)
    if one_click or (list_unsubscribe and "<https://" in list_unsubscribe):
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(body_html, subtype="html")
    msg.set_boundary(f"==broadcast-{update.key}==")  # deterministic; hex never collides
    return EmailTemplate(
        subject=subject,
        text=text,
        html=body_html,
        domain=domain,
        update_key=update.key,
        incident=update.incident,
        thread_root=root,
        # Bodies were encoded at 78 columns above; headers are written unfolded (they
        # stay far below RFC 5322's 998) because CPython's folder can push a whole
        # Subject onto a continuation line, which some readers show with a leading space.
        template=msg.as_bytes(policy=_UNFOLDED),
    )
