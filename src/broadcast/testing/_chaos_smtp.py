"""An SMTP server (aiosmtpd) on 127.0.0.1 that misbehaves on cue, for fault-injection tests.

``ChaosSMTP().script(SmtpFault.reply(421, at="banner"), None, SmtpFault.drop_mid_data())``
gives the next SMTP sessions (connections) a fault each, in order; later sessions
behave. Every message the server accepted (answered 250 after DATA) is in
``messages``, so a test can count duplicates per recipient. Needs ``aiosmtpd``
(``pip install 'broadcast-crisis[demo]'``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from ._loopback import Served
from ._providers.smtp import BOUNCES, REPLIES, Accepted, SMTPServer

__all__ = ["ChaosSMTP", "SmtpFault"]

Stage = Literal["banner", "MAIL", "RCPT", "DATA"]


@dataclass(frozen=True, slots=True)
class SmtpFault:
    """What goes wrong in one SMTP session. Build one with the class methods."""

    kind: str
    stage: Stage = "banner"
    code: int = 0
    seconds: float = 0.0
    text: str = ""

    @classmethod
    def reply(cls, code: int, *, at: Stage, text: str | None = None) -> SmtpFault:
        """Answer ``code`` at ``at`` (once per session); a 421 also closes the connection.

        ``text`` is the reply's text after the code (default: ``REPLIES``'s for it).
        """
        return cls(f"{code} at {at}", stage=at, code=code, text=text or "")

    @classmethod
    def bounce(cls, status: str, *, at: Stage = "RCPT") -> SmtpFault:
        """A receiver's reply by enhanced status code (``BOUNCES``): ``"5.7.26"``, ``"4.7.0"``."""
        code, text = BOUNCES[status]
        return cls(f"{status} at {at}", stage=at, code=code, text=text)

    @classmethod
    def drop_mid_data(cls) -> SmtpFault:
        """Take the message's data, then drop the connection before answering: not accepted."""
        return cls("drop mid-DATA", stage="DATA")

    @classmethod
    def slow_banner(cls, seconds: float) -> SmtpFault:
        """Greet ``seconds`` late."""
        return cls(f"banner {seconds:g}s late", seconds=seconds)


@dataclass
class _State:
    script: list[SmtpFault | None] = field(default_factory=list)
    armed: bool = False
    sessions: list[SmtpFault | None] = field(default_factory=list)
    messages: list[Accepted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    live: set[asyncio.BaseTransport] = field(default_factory=set)
    """Open connections (touched only on the server's loop), closed when it stops."""

    def next_fault(self) -> SmtpFault | None:
        with self.lock:
            if not self.armed:
                return None  # the controller's own start-up probe
            fault = self.script.pop(0) if self.script else None
            self.sessions.append(fault)
            return fault


class _Handler:
    """aiosmtpd handler hooks: the session's fault at its stage, else accept."""

    def __init__(self, state: _State) -> None:
        self._state = state

    @staticmethod
    def _fault(server: Any, stage: Stage) -> SmtpFault | None:
        fault: SmtpFault | None = getattr(server, "chaos_fault", None)
        if fault is None or fault.stage != stage:
            return None
        server.chaos_fault = None  # once per session
        return fault

    @staticmethod
    def _answer(server: Any, fault: SmtpFault) -> str:
        if fault.code == 421:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return f"{fault.code} {fault.text or REPLIES.get(fault.code, 'Chaos')}"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if (fault := self._fault(server, "MAIL")) is not None:
            return self._answer(server, fault)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if (fault := self._fault(server, "RCPT")) is not None:
            return self._answer(server, fault)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if (fault := self._fault(server, "DATA")) is not None:
            if fault.kind == "drop mid-DATA":
                server.transport.abort()
                return "421 4.4.2 Connection dropped"  # written to nobody
            return self._answer(server, fault)
        accepted = Accepted(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content)
        with self._state.lock:
            self._state.messages.append(accepted)
        return "250 OK"


class ChaosSMTP(Served):
    """``with ChaosSMTP() as smtp: smtp.script(...); Email("127.0.0.1", smtp.port, ...)``."""

    def __init__(self) -> None:
        from aiosmtpd.smtp import SMTP  # noqa: PLC0415 - optional dependency

        state = self._state = _State()

        class _Session(SMTP):
            """An SMTP session that greets late, or refuses to, when its fault says so."""

            greeted = False
            chaos_fault: SmtpFault | None = None

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                state.live.add(transport)
                super().connection_made(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                if self.transport is not None:
                    state.live.discard(self.transport)
                super().connection_lost(exc)

            async def push(self, status: Any) -> None:
                if not self.greeted:
                    self.greeted = True
                    self.chaos_fault = fault = state.next_fault()
                    if fault is not None and fault.stage == "banner":
                        self.chaos_fault = None
                        if fault.seconds:
                            await asyncio.sleep(fault.seconds)
                        elif fault.code:
                            await super().push(f"{fault.code} {REPLIES.get(fault.code, 'Chaos')}")
                            if self.transport is not None:
                                self.transport.close()
                            return
                await super().push(status)

        self._server = SMTPServer(_Handler(state), session=_Session)
        self.port = self._server.port

    @property
    def messages(self) -> list[Accepted]:
        """Every message accepted, in order."""
        with self._state.lock:
            return list(self._state.messages)

    @property
    def sessions(self) -> list[SmtpFault | None]:
        """The fault each session met (``None``: it behaved), in order."""
        with self._state.lock:
            return list(self._state.sessions)

    @property
    def duplicates(self) -> int:
        """Deliveries beyond the first to the same recipient."""
        counts = Counter(r for m in self.messages for r in m.rcpt_tos)
        return sum(n - 1 for n in counts.values())

    def script(self, *faults: SmtpFault | None) -> None:
        """Give the next sessions these faults in order (``None``: no fault)."""
        with self._state.lock:
            self._state.script = list(faults)

    def start(self) -> Self:
        """Serve in aiosmtpd's background thread."""
        self._server.start()
        with self._state.lock:
            self._state.armed = True
        return self

    def stop(self) -> None:
        """Hang up on every client still connected (a late banner, say), then shut down."""

        async def hang_up() -> None:
            for transport in list(self._state.live):
                transport.close()
            # close() finishes on the loop's next turns (connection_lost, then the socket):
            # let those run before the loop stops, or the socket is left for the garbage
            # collector to warn about in whichever test runs next.
            for _ in range(3):
                await asyncio.sleep(0)

        loop = self._server.controller.loop
        asyncio.run_coroutine_threadsafe(hang_up(), loop).result(timeout=5)
        self._server.stop()
