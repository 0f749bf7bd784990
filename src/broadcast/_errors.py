"""The exceptions broadcast raises, and the ones channels raise to it.

The tree::

    BroadcastError                  anything broadcast raises on purpose
     ├── JournalError               the delivery journal cannot be opened, read or written;
     │                              raised before anything is sent, never papered over
     ├── ConfigError                configuration missing or malformed (also a ValueError);
     │                              the message names the variable or option and the fix
     ├── DeliveryError              Report.raise_for_failures(): channels failed or partial;
     │                              carries the Report and lists each failed channel
     └── ChannelError               raised by a channel's deliver() to say why it failed
          ├── TransientError        the provider answered "try later" (408/425/429/5xx);
          │    │                    retried; may carry the provider's retry_after (seconds)
          │    ├── NotSent          nothing went out (refused, reset before the request
          │    │                    was written): always safe to retry
          │    └── Unconfirmed      the request went out and no whole answer came back:
          │                         it may have been acted on
          └── PermanentError        never retried: bad auth, validation, other 4xx
               ├── AuthError        the provider rejected the credentials
               ├── AlreadyDelivered the provider already has it (a duplicate post);
               │                    reported as skipped, not failed
               └── InDoubt          a crashed run was posting this and nobody knows
                                    whether it got there; not re-posted blindly

Bad input to ``Update`` raises ``pydantic.ValidationError`` (naming the field) and is
not part of this tree: it happens before anything is sent.

The three transient kinds are the channel contract for "what happened to the request":
a third-party channel raises ``NotSent`` when it knows nothing left the process,
``Unconfirmed`` when it sent and heard nothing, and ``TransientError`` when the
provider said to try again. A fan-out retries the first and the last, and never
sends the second again in the same run.

Messages never contain secrets: channels build them from status codes and provider
error text, never from request headers or URLs with credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._report import Report


class BroadcastError(Exception):
    """Base class for every error broadcast raises on purpose."""


class ConfigError(BroadcastError, ValueError):
    """Configuration is missing or malformed; the message names what to fix."""


class DeliveryError(BroadcastError):
    """One or more channels failed; raised by ``Report.raise_for_failures()``."""

    def __init__(self, report: Report) -> None:
        self.report = report
        failed = report.failed + report.partial
        lines = "; ".join(
            f"{r.channel}{' (partial)' if r in report.partial else ''}: {r.reason}" for r in failed
        )
        noun = "channel" if len(failed) == 1 else "channels"
        verb = "failed or reached only some recipients" if report.partial else "failed"
        super().__init__(f"{len(failed)} {noun} {verb}: {lines}")


class ChannelError(BroadcastError):
    """A channel could not deliver; ``str(error)`` is the one-line reason.

    ``code`` is the provider's own code when there is one (an SMTP reply code, a
    Graph API error code), for Receipts and for callers that branch on it.
    """

    transient: bool = False

    def __init__(
        self, reason: str, *, code: int | str | None = None, ids: tuple[str, ...] = ()
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.ids = ids
        """Provider ids of what did go out before the failure (thread parts posted)."""


class TransientError(ChannelError):
    """A failure worth retrying; ``retry_after`` is the provider's requested wait."""

    transient = True

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        code: int | str | None = None,
    ) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class NotSent(TransientError):
    """Nothing went out: the connection was refused, or failed before the request was written.

    Always safe to retry, on a post and in a fan-out alike: the provider cannot have
    acted on a request it never received.
    """


class Unconfirmed(TransientError):
    """The request went out but no whole answer came back: it may have been acted on.

    Raised when the wait for an answer timed out, or the answer broke off after it
    began. A post is retried (X and Graph refuse a repeated text as a duplicate, and a
    webhook receiver takes a repeated ``webhook-id`` once); a fan-out does not send
    to that recipient again in the same run, which could text or mail them twice.
    """


class PermanentError(ChannelError):
    """A failure that retrying cannot fix."""


class AuthError(PermanentError):
    """The provider rejected the channel's credentials."""


class JournalError(BroadcastError):
    """The delivery journal cannot be used; the message names the file and the fix.

    Raised instead of carrying on without it: a send that forgets what it sent could
    post twice on the next run.
    """


class AlreadyDelivered(PermanentError):
    """It is already there (a duplicate post, or the journal says so). Skipped, not failed."""

    def __init__(
        self, reason: str, *, ids: tuple[str, ...] = (), code: int | str | None = None
    ) -> None:
        super().__init__(reason, code=code, ids=ids)


class InDoubt(PermanentError):
    """A run that stopped mid-post left this part unconfirmed: it may or may not be posted.

    Not re-posted automatically, which could post it twice; the message says how to
    settle it (``Journal.settle``).
    """
