"""Helpers for testing code that uses broadcast: no network, no sleeping.

* ``RecordingChannel`` records what it was asked to send and can fail on cue.
* ``FakeClock`` is a clock whose ``sleep`` only moves time forward, so retries with
  backoff and deadlines run instantly: ``RetryPolicy(sleep=clock.sleep, clock=clock)``.
* ``fast_retries()`` is that policy, ready made.
* ``isolated_journal()`` points ``broadcast.send()`` and the command at a journal of
  the test's own (``BROADCAST_JOURNAL``), never the user's per-user journal.
* ``LoopbackServer`` is a real HTTP server on 127.0.0.1 that records requests and
  answers from a script, for exercising HTTP channels end to end.
* ``ChaosServer`` answers like X, Graph, Twilio or a webhook receiver and misbehaves on
  cue (``Fault``: delays, 5xx, throttling, resets, hangs, bad bodies, redirects);
  ``ChaosSMTP`` does the same for SMTP (``SmtpFault``), on aiosmtpd.
* ``XEndpoint``, ``GraphEndpoint``, ``TwilioEndpoint``, ``WebhookReceiver``,
  ``SlackFake``, ``DiscordFake``, ``TelegramFake``, ``TeamsFake``, ``MastodonFake``,
  ``BlueskyFake``, ``StatuspageFake``, ``AppriseReceiver`` (the endpoint of Apprise
  ``json://`` URLs) and
  ``MailReceiver``
  are the providers' fakes with their checks on: an OAuth 1.0a signature, an
  ``appsecret_proof``, Basic auth, a Standard Webhooks signature, one private message
  per recipient. Each built-in channel's ``ChannelSpec.standin`` names one; the demo runs them all.

Every fake of a provider, here, in the demo, the test suite and the benchmarks, answers
from one module per provider (``broadcast.testing._providers``): the provider's
documented success, error and rate-limit shapes, written once.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .._channel import Delivery
from .._retry import RetryPolicy
from .._update import Update
from ._chaos import ChaosServer, Fault
from ._chaos_smtp import ChaosSMTP, SmtpFault
from ._loopback import LoopbackServer, RecordedRequest, Reply
from ._providers import StandIn
from ._providers.apprise import AppriseReceiver
from ._providers.bluesky import BlueskyFake
from ._providers.discord import DiscordFake
from ._providers.graph import GraphEndpoint
from ._providers.mastodon import MastodonFake
from ._providers.slack import SlackFake
from ._providers.smtp import MailReceiver
from ._providers.statuspage import StatuspageFake
from ._providers.teams import TeamsFake
from ._providers.telegram import TelegramFake
from ._providers.twilio import TwilioEndpoint
from ._providers.webhook import WebhookReceiver
from ._providers.x import XEndpoint

__all__ = [
    "AppriseReceiver",
    "BlueskyFake",
    "ChaosSMTP",
    "ChaosServer",
    "DiscordFake",
    "FakeClock",
    "Fault",
    "GraphEndpoint",
    "LoopbackServer",
    "MailReceiver",
    "MastodonFake",
    "RecordedRequest",
    "RecordingChannel",
    "Reply",
    "SlackFake",
    "SmtpFault",
    "StandIn",
    "StatuspageFake",
    "TeamsFake",
    "TelegramFake",
    "Text",
    "TwilioEndpoint",
    "WebhookReceiver",
    "XEndpoint",
    "fast_retries",
    "isolated_journal",
]


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the wait and advance time; yields to the loop once."""
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def fast_retries(attempts: int = 3, *, deadline: float = 120.0) -> RetryPolicy:
    """A RetryPolicy on its own FakeClock: retries happen, nobody waits."""
    clock = FakeClock()
    return RetryPolicy(attempts=attempts, deadline=deadline, sleep=clock.sleep, clock=clock)


@contextmanager
def isolated_journal(path: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """Within the block, ``broadcast.send()`` and the command journal to ``path``.

    ``path`` defaults to ``journal.db`` in a new temporary directory, removed on exit.
    It sets ``BROADCAST_JOURNAL`` (which wins over ``.env`` and broadcast.toml) and puts
    back what was there before, so a test never reads or writes the per-user journal,
    and each test starts with an empty one. As a pytest fixture::

        @pytest.fixture(autouse=True)
        def journal(tmp_path):
            with isolated_journal(tmp_path / "journal.db") as path:
                yield path
    """
    with ExitStack() as stack:
        if path is None:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="broadcast-"))
            path = Path(scratch) / "journal.db"
        before = os.environ.get("BROADCAST_JOURNAL")
        os.environ["BROADCAST_JOURNAL"] = str(path)
        try:
            yield Path(path)
        finally:
            if before is None:
                os.environ.pop("BROADCAST_JOURNAL", None)
            else:
                os.environ["BROADCAST_JOURNAL"] = before


@dataclass(frozen=True, slots=True)
class Text:
    """A rendered plain-text message."""

    text: str

    def preview(self) -> str:
        """The text itself."""
        return self.text


class RecordingChannel:
    """A channel that records updates instead of sending them.

    ``failures`` are raised by successive ``deliver`` calls before it succeeds;
    ``render_error`` is raised by ``render``; ``hang=True`` makes ``deliver`` wait
    forever (until cancelled).
    """

    def __init__(
        self,
        name: str = "recording",
        *,
        failures: Iterable[BaseException] = (),
        render_error: Exception | None = None,
        hang: bool = False,
    ) -> None:
        self.name = name
        self.sent: list[str] = []
        self.calls = 0
        self.closed = False
        self._failures = list(failures)
        self._render_error = render_error
        self._hang = hang

    def render(self, update: Update, /) -> Text:
        """``[status] title`` then the body."""
        if self._render_error is not None:
            raise self._render_error
        return Text(f"[{update.status.value}] {update.title}\n\n{update.body}")

    async def deliver(self, rendered: Text, /) -> Delivery:
        """Record, fail on cue, or hang."""
        self.calls += 1
        if self._failures:
            raise self._failures.pop(0)
        if self._hang:
            await asyncio.Event().wait()
        self.sent.append(rendered.text)
        return Delivery(ids=(f"{self.name}-{len(self.sent)}",))

    async def aclose(self) -> None:
        """Mark closed."""
        self.closed = True
