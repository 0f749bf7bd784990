"""The channel seam: a name, a pure render, an async deliver, aclose.

A channel is anything with this shape; there is no base class to inherit::

    class Pager:
        name = "pager"

        def render(self, update: Update) -> PagerMessage:   # pure: no I/O, no clock
            return PagerMessage(text=f"[{update.status}] {update.title}")

        async def deliver(self, rendered: PagerMessage) -> Delivery:   # the I/O
            page_id = await self._api.page(rendered.text)
            return Delivery(ids=(page_id,))

        async def aclose(self) -> None:
            await self._api.close()

``deliver`` reports failure by raising ``TransientError`` (the Broadcaster retries it)
or ``PermanentError`` (it does not); see ``broadcast._errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from typing_extensions import TypeVar

from ._redact import redact

if TYPE_CHECKING:
    import httpx

    from ._update import Update

__all__ = ["Channel", "Checkable", "Delivery", "Rejection", "Rendered", "UsesHTTPClient"]


@runtime_checkable
class Rendered(Protocol):
    """What ``render`` returns: any value that can show itself in a preview."""

    def preview(self) -> str:
        """Human-readable text of exactly what would be sent."""
        ...


R = TypeVar("R", bound=Rendered, default=Any)
"""What a channel renders; ``Channel`` alone (as in ``list[Channel]``) is ``Channel[Any]``."""


@runtime_checkable
class Channel(Protocol[R]):
    """One outlet: formats an update its own way and sends it."""

    name: str

    def render(self, update: Update, /) -> R:
        """Format ``update`` for this outlet. Pure: no I/O, no clock, no randomness."""
        ...

    async def deliver(self, rendered: R, /) -> Delivery:
        """Send what ``render`` produced; raise ``ChannelError`` on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections the channel opened itself."""
        ...


@runtime_checkable
class UsesHTTPClient(Protocol):
    """Optional: channels that talk HTTP accept the Broadcaster's shared client."""

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through ``client``; the Broadcaster owns it and closes it."""
        ...


@runtime_checkable
class Checkable(Protocol):
    """Optional: channels that can probe their credentials without posting anything."""

    async def check(self) -> str:
        """Confirm credentials and reachability; return what was confirmed, in one line.

        Raise ``AuthError`` when credentials are refused and another ``ChannelError``
        when the outlet cannot be reached. Never posts, sends or changes anything.
        """
        ...


@dataclass(frozen=True, slots=True)
class Rejection:
    """One recipient of a fan-out channel that did not get the update, and why."""

    recipient: str
    reason: str
    code: int | str | None = None
    """The provider's code: an SMTP reply code, a Twilio error code, ..."""
    unanswered: bool = False
    """The send went out and no answer came: it may have arrived. Not sent again in the
    same run; a re-run with the journal tries again."""
    permanent: bool = False
    """Refused for a reason no retry fixes (an invalid number, a STOP, a 550): a re-run
    skips it, and it does not make the command exit 1. Anything else is worth a re-run."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the reason masked, as any channel's could quote a provider."""
        data: dict[str, Any] = {"recipient": self.recipient, "code": self.code}
        data |= {"reason": redact(self.reason), "permanent": self.permanent}
        return data | {"unanswered": True} if self.unanswered else data


@dataclass(frozen=True, slots=True)
class Delivery:
    """What ``deliver`` returns: the provider's ids, and for fan-out, who got it.

    A single-post channel returns ``Delivery(ids=(post_id,))``. A fan-out channel
    (email, SMS) also sets ``accepted`` and lists ``rejected`` recipients; the
    Broadcaster turns that into a ``delivered``, ``partial`` or ``failed`` Receipt.
    """

    ids: tuple[str, ...] = ()
    """Provider ids: the tweet id, the email Message-ID, the webhook-id, ..."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """JSON-ready extras for the Receipt, e.g. ``{"status_code": 200}``."""
    accepted: int | None = None
    """Fan-out only: how many recipients the provider accepted."""
    rejected: tuple[Rejection, ...] = ()
    """Fan-out only: recipients that did not get it, each with its reason."""
    note: str | None = None
    """One line of context for the Receipt's reason, e.g. why a fan-out stopped early."""
    incomplete: bool = False
    """Fan-out only: the send stopped before the end of the list (``note`` says why)."""
