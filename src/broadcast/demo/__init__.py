"""``make demo``: a real broadcast to local stand-ins of every outlet on 127.0.0.1.

Each stand-in starts a local receiver, hands out the real channel pointed at it, and
afterwards says what arrived and whether it checked out. Channels join the demo by
adding a stand-in to ``STAND_INS``.
"""

from ._run import STAND_INS, demo_update, main, run

__all__ = ["STAND_INS", "demo_update", "main", "run"]
