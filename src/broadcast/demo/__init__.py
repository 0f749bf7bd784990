"""``broadcast demo``: a real broadcast to local stand-ins of every outlet on 127.0.0.1.

The demo replays an outage as a timeline of updates (``psn_timeline``). Each stand-in
starts a local receiver, hands out the real channel pointed at it, and afterwards says
what arrived, update by update, and whether it checked out. A channel joins the demo
by naming its stand-in in its ``ChannelSpec.standin``; the built-in ones are the
provider fakes of ``broadcast.testing``.
"""

from ..testing import (
    GraphEndpoint,
    MailReceiver,
    StandIn,
    TwilioEndpoint,
    WebhookReceiver,
    XEndpoint,
)
from ._run import DEMO_PAGE, STAND_INS, main, run
from ._timeline import OUTAGE_START, demo_update, psn_timeline

__all__ = [
    "DEMO_PAGE",
    "OUTAGE_START",
    "STAND_INS",
    "GraphEndpoint",
    "MailReceiver",
    "StandIn",
    "TwilioEndpoint",
    "WebhookReceiver",
    "XEndpoint",
    "demo_update",
    "main",
    "psn_timeline",
    "run",
]
