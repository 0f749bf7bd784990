"""One pooled SMTP connection of the email channel: builds, signs and sends each message.

Each recipient's message is the update's shared template with that recipient's own
header lines before it (``To``, ``Message-ID``, and ``List-Unsubscribe`` with their
token), and, with DKIM, the ``DKIM-Signature`` over exactly those bytes. The bytes are
sent as they are with ``sendmail``: nothing re-flattens or re-folds them after signing.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from ..email._dkim import PreparedSignature
    from ._email import Email
    from ._email_message import EmailTemplate

__all__ = ["SMTPWorker"]


class SMTPWorker:
    """One pooled connection, reopened after it drops."""

    def __init__(
        self,
        channel: Email,
        rendered: EmailTemplate,
        client: aiosmtplib.SMTP,
        signer: PreparedSignature | None,
        threads: Executor | None = None,
    ) -> None:
        self._channel = channel
        self._rendered = rendered
        self._client: aiosmtplib.SMTP | None = client
        self._signer = signer
        self._threads = threads
        self._unsubscribe = channel._one_click
        self._pacer = channel._pacer

    def _lines(self, recipient: str) -> list[tuple[bytes, bytes]]:
        """The recipient's own header lines, before the template: To, Message-ID, ..."""
        lines = self._rendered.lines_for(recipient)
        if self._unsubscribe is not None:
            value = f" {self._unsubscribe.header(recipient)}\r\n".encode("ascii")
            lines.append((b"List-Unsubscribe", value))
        return lines

    def _message(self, recipient: str) -> bytes:
        """The exact bytes sent: signed over the recipient's own lines and the template."""
        if self._signer is None and self._unsubscribe is None:
            return self._rendered.message_for(recipient)
        lines = self._lines(recipient)
        head = b"".join(name + b":" + value for name, value in lines)
        if self._signer is not None:
            head = self._signer.header(lines) + head
        return head + self._rendered.template

    async def _signed(self, recipient: str, signer: PreparedSignature) -> bytes:
        """``_message``, with the key operation in a worker thread, off the event loop."""
        lines = self._lines(recipient)
        loop = asyncio.get_running_loop()
        signature = await loop.run_in_executor(self._threads, signer.sign, signer.digest(lines))
        head = b"".join(name + b":" + value for name, value in lines)
        return signer.field(signature) + head + self._rendered.template

    async def send(self, recipient: str, /) -> str:
        """One message to one recipient; returns its Message-ID."""
        if self._client is None or not self._client.is_connected:
            self._drop()
            self._client = await self._channel._connect()
        if self._pacer is not None:
            await self._pacer.wait(recipient)
        if self._threads is not None and self._signer is not None:
            message = await self._signed(recipient, self._signer)
        else:
            message = self._message(recipient)
        try:
            await self._client.sendmail(self._channel._envelope_from, [recipient], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise self._channel._error(exc) from None
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # the server is closing this connection
                self._drop()
            raise self._channel._error(exc) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            raise self._channel._error(exc) from None
        return self._rendered.message_id(recipient)

    def _drop(self) -> None:
        """Hang up a connection that broke or that the server is closing: no QUIT."""
        if self._client is not None:
            self._client.close()
        self._client = None

    async def close(self) -> None:
        """End the session with QUIT, then close; a QUIT left unanswered is cut short."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    async with asyncio.timeout(self._channel._quit_timeout):
                        await client.quit()
        finally:
            client.close()
