"""Who holds a send: an owner id naming host and process, and whether it still runs.

A lease is live until it expires, and a holder on this same host whose process has
gone (killed, crashed) gives it up at once, so a re-run after a crash need not wait
for the expiry. A holder elsewhere is trusted until its lease runs out.
"""

from __future__ import annotations

import os
import secrets
import socket

__all__ = ["holder_alive", "new_owner"]


def new_owner() -> str:
    """``host:pid:token``: unique per journal instance."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_alive(owner: str, lease_until: float | None, now: float) -> bool:
    """Whether ``owner`` may still be sending (its lease has not run out, nor its process)."""
    if lease_until is None or lease_until <= now:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True
