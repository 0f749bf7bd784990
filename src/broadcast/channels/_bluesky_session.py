"""Bluesky sessions: made once, kept, refreshed; never one per post.

``com.atproto.server.createSession`` (handle and app password) is limited hard: about
30 per 5 minutes and a few hundred a day per account. So a session is made once and
kept: in memory for the process, and across processes in a small JSON file of its own
(``bluesky-sessions.json`` in broadcast's per-user state directory, beside the
per-user journal, mode 0600), never in the journal, which holds no secrets. Only the
session's tokens are kept there, never the app password; ``session_file="off"`` keeps
them in memory only (one createSession per process).

An access token that has run out (XRPC ``ExpiredToken``) is refreshed with
``com.atproto.server.refreshSession`` and the call made once more; a refresh token
that has run out too leads to one new createSession.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .._errors import AuthError
from .._redact import register_secret

__all__ = ["ExpiredToken", "Session", "SessionCache", "default_session_file"]


class ExpiredToken(AuthError):
    """The PDS said ``ExpiredToken`` (or ``InvalidToken``): refresh, then try once more."""


@dataclass(frozen=True, slots=True)
class Session:
    """What createSession and refreshSession give: the account and its two tokens."""

    did: str
    handle: str
    accessJwt: str
    refreshJwt: str

    def __repr__(self) -> str:
        return f"Session(did={self.did!r}, handle={self.handle!r}, tokens=***)"

    def register(self) -> Session:
        """Mask both tokens in every log, error and report from now on."""
        register_secret(self.accessJwt, self.refreshJwt)
        return self


def default_session_file() -> Path:
    """``bluesky-sessions.json`` in broadcast's per-user state directory."""
    from platformdirs import user_state_path  # noqa: PLC0415 - only when a session is kept

    return user_state_path("broadcast", appauthor=False) / "bluesky-sessions.json"


_MEMORY: dict[str, Session] = {}
"""Sessions of this process, by account."""


class SessionCache:
    """One account's session: in this process's memory, and in ``path`` if given."""

    def __init__(self, service: str, handle: str, path: Path | None) -> None:
        self._key = hashlib.sha256(f"{service}\x00{handle.lower()}".encode()).hexdigest()[:32]
        self.path = path

    def load(self) -> Session | None:
        """The kept session, if any."""
        if (found := _MEMORY.get(self._key)) is not None:
            return found
        if self.path is None:
            return None
        try:
            kept = json.loads(self.path.read_text(encoding="utf-8")).get(self._key)
            session = Session(**kept).register() if isinstance(kept, dict) else None
        except (OSError, ValueError, TypeError, AttributeError):
            return None  # unreadable or from another version: make a new one
        if session is not None:
            _MEMORY[self._key] = session
        return session

    def save(self, session: Session) -> None:
        """Keep ``session`` (mode 0600, written whole and then moved into place)."""
        _MEMORY[self._key] = session
        if self.path is None:
            return
        try:
            kept = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = {}
        if not isinstance(kept, dict):
            kept = {}
        kept[self._key] = asdict(session)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(kept, handle)
        os.replace(partial, self.path)

    def forget(self) -> None:
        """Drop the session (its tokens no longer work)."""
        _MEMORY.pop(self._key, None)
        if self.path is None:
            return
        with contextlib.suppress(OSError, ValueError):
            kept = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(kept, dict) and kept.pop(self._key, None) is not None:
                self.path.write_text(json.dumps(kept), encoding="utf-8")
