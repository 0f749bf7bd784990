"""An Apprise bridge: any Apprise URL (150+ services) as one broadcast channel.

``AppriseChannel(urls=[...])`` renders the update with broadcast's shared fact wording
(a title and a plain-text body) and sends it through ``Apprise.async_notify``, one URL
at a time, so each URL gets its own honest outcome: delivered or failed, one item of
the fan-out per URL, with the reason Apprise logged. Apprise answers only "it worked"
or "it did not", so there are no provider ids and no threading; and since Apprise
has no idempotency key, a retry after a send that went out unanswered may deliver
twice (``docs/channels/apprise.md``).

Retries: broadcast's. Each URL is tried under the channel's ``RetryPolicy`` (bounded,
with a deadline, time injectable); Apprise's own retries (``?retry=N`` in a URL, 2.x)
are set to 0 and its ``optional`` flag (which reports a failure as a success) is
turned off, so the two never multiply.

An Apprise URL carries its service's credentials (``tgram://<bot token>/<chat>``,
``mailto://user:password@host``): every URL and each part of it that looks like a
token are registered as secrets, and a URL is named only by its masked form
(``json://127.0.0.1:8080``, ``tgram://***``). Apprise itself is an optional extra
(``pip install 'broadcast-crisis[apprise]'``), imported only when a channel is built.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import ConfigError, TransientError, Unconfirmed
from .._redact import MASK, excerpt, guard_loggers, register_secret
from .._retry import RetryPolicy
from .._update import Severity, Status, Update
from ..journal._protocol import Journal, RecipientLog
from ..text import components_line, next_update_phrase, signature, status_tag
from ._fanout import FanOut
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from types import ModuleType

    from ..config._env import Env

__all__ = ["AppriseChannel", "AppriseMessage", "masked_url", "render_apprise", "split_urls"]

INSTALL = "pip install 'broadcast-crisis[apprise]'"
ATTEMPTS = 3
"""Tries per URL by default, under broadcast's RetryPolicy; Apprise's own are set to 0."""
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_BETWEEN = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")
"""URLs are apart where there is white space, or a comma before the next ``scheme://``
(a comma inside a URL, as in ``?to=a@example.com,b@example.com``, stays)."""
_HOST = re.compile(r"(?=.{1,253}$)(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}|localhost")
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]")


def split_urls(text: str) -> list[str]:
    """The Apprise URLs of ``text``: apart by white space, or commas before a scheme."""
    return [u for u in _BETWEEN.split(text.strip()) if u]


def _host_of(netloc: str) -> str:
    """``host[:port]`` of a URL's netloc when it names a host; else ``***`` (a token)."""
    host = netloc.rpartition("@")[2]
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if not port.isdigit():
        name, port = host, ""
    if _IP.fullmatch(name) or _HOST.fullmatch(name):
        return f"{name}:{port}" if port else name
    return MASK


def masked_url(url: str) -> str:
    """``scheme://host[:port]`` of an Apprise URL; a host that is not a host name is ``***``.

    Many services put a token where the host goes (``tgram://<bot token>/…``,
    ``discord://<webhook id>/<token>``), so only a real host name or address is shown;
    the user, password, path and query never are.
    """
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return f"{scheme.lower()}://{_host_of(netloc)}"


def _looks_secret(part: str) -> bool:
    """A URL part that may be a token: long, with a digit or a capital, or very long."""
    return len(part) >= 16 or (len(part) >= 6 and any(c.isdigit() or c.isupper() for c in part))


def _secret_parts(url: str) -> list[str]:
    """The URL, and each part of it that may be a credential, for ``register_secret``."""
    parts = urlsplit(url)
    found = [url, unquote(url)]
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    found += [password, unquote(password), host.split(":")[0] if _host_of(host) == MASK else ""]
    pieces = [user, *parts.path.split("/"), *(v for _, v in parse_qsl(parts.query)), parts.fragment]
    found += [unquote(p) for p in pieces if _looks_secret(unquote(p))]
    return [p for p in found if p]


@dataclass(frozen=True, slots=True)
class AppriseMessage:
    """A rendered update: the title and plain-text body every URL gets."""

    title: str
    body: str
    notify_type: str
    """Apprise's ``NotifyType``: ``success`` when resolved, ``failure`` when critical,
    else ``warning``."""
    incident: str
    update_key: str
    urls: tuple[str, ...] = ()
    """The masked URLs it goes to, for the preview."""

    def preview(self) -> str:
        """The title and body, and where they go."""
        where = ", ".join(self.urls) or "no URL"
        return (
            f"{self.title}\n\n{self.body}\n[Apprise, one notification per URL ({where}); "
            "no ids, no threading]"
        )


def render_apprise(update: Update, urls: Sequence[str] = ()) -> AppriseMessage:
    """The title and body for ``update``: its status and title, then the shared facts."""
    closing = [p for p in (next_update_phrase(update), signature(update)) if p]
    if update.url:
        closing.append(f"Details: {update.url}")
    if update.status is Status.RESOLVED:
        kind = "success"
    elif update.severity is Severity.CRITICAL:
        kind = "failure"
    else:
        kind = "warning"
    return AppriseMessage(
        title=f"{status_tag(update)} {update.title}",
        body="\n\n".join([*update.paragraphs, *filter(None, [components_line(update)]), *closing]),
        notify_type=kind,
        incident=update.incident,
        update_key=update.key,
        urls=tuple(urls),
    )


def _apprise() -> ModuleType:
    """The apprise module, or a ConfigError saying which extra to install."""
    try:
        import apprise  # noqa: PLC0415 - an optional extra, imported when a channel is built
    except ImportError as exc:
        raise ConfigError(f"the apprise channel needs Apprise: {INSTALL}") from exc
    return apprise


class _Said(logging.LoggerAdapter):  # type: ignore[type-arg]  # generic only in typeshed
    """One URL's plugin logger: passes every record on to Apprise's, keeps the warnings.

    Apprise says why a send failed only in its log (``Failed to send JSON notification:
    Internal Server Error, error=500``). Each plugin gets its own, so URLs sent at the
    same time never mix their reasons.
    """

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})
        self.warnings: list[str] = []

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level >= logging.WARNING:
            self.warnings.append(str(msg) % args if args else str(msg))
        super().log(level, msg, *args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        """Anything else Apprise asks of its logger (``addHandler``…): its own logger's."""
        return getattr(self.logger, attr)

    def trace(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Apprise's TRACE level (below DEBUG)."""
        self.log(logging.DEBUG - 1, msg, *args, **kwargs)

    def deprecate(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Apprise's DEPRECATION level (above ERROR)."""
        self.log(logging.ERROR + 1, msg, *args, **kwargs)


@dataclass
class _Target:
    """One URL: its masked name, its plugin (its own Apprise), and what its log said."""

    label: str
    notifier: Any
    said: _Said


class AppriseChannel:
    """Sends each update to Apprise URLs, one at a time, each with its own outcome."""

    max_duration: float | None = None
    """A fan-out over ``urls``: seconds it may take in all (None: the Broadcaster's)."""

    def __init__(
        self,
        urls: Sequence[str | SecretStr] | str | SecretStr,
        *,
        name: str = "apprise",
        timeout: float | None = None,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        max_duration: float | None = None,
        validate: bool = True,
    ) -> None:
        """``urls``: Apprise URLs (a list, or one text of them apart by spaces).

        ``timeout`` sets Apprise's connect and read timeouts (``cto``/``rto``) of URLs that
        do not set their own (None: Apprise's, 4 s each), and limits each try to twice
        that and a second: a URL with no answer by then is left unanswered (it may have
        arrived). ``validate=False`` skips parsing the URLs with Apprise until the first
        send (a preview renders without Apprise).
        """
        given = [urls] if isinstance(urls, str | SecretStr) else list(urls)
        texts = [u.get_secret_value() if isinstance(u, SecretStr) else u for u in given]
        found = [u for text in texts for u in split_urls(text)]
        for url in found:
            register_secret(*_secret_parts(url))  # before anything can quote it
        if not found:
            raise ValueError("urls is empty: give at least one Apprise URL")
        for number, url in enumerate(found, 1):
            if not _SCHEME.match(url):
                raise ValueError(
                    f"URL {number} of urls is not an Apprise URL (scheme://…, e.g. "
                    "json://host/path or mailto://host/?to=address)"
                )
        if concurrency < 1 or (timeout is not None and timeout <= 0):
            raise ValueError("concurrency must be at least 1 and timeout positive")
        self.name = name
        self._urls = [SecretStr(u) for u in dict.fromkeys(found)]
        self._labels = _labels([masked_url(u.get_secret_value()) for u in self._urls])
        self._timeout = timeout
        self._try_limit = 2 * timeout + 1 if timeout is not None else None
        """A try may take connect plus read time, no more (a server trickling its answer
        never trips a read timeout): past it, the URL is unanswered, not sent again."""
        self._concurrency = min(concurrency, len(self._urls))
        self._retry = retry or RetryPolicy(attempts=ATTEMPTS, deadline=120.0, max_wait=30.0)
        self._journal: Journal | None = None
        self._targets: dict[str, _Target] | None = None
        self.max_duration = max_duration
        if validate:
            self._targets = self._build()

    def __repr__(self) -> str:
        return f"AppriseChannel(name={self.name!r}, urls={list(self._labels)!r})"

    @property
    def urls(self) -> tuple[str, ...]:
        """Each URL's masked name (``json://127.0.0.1:8080``), in order; never a token."""
        return tuple(self._labels)

    def render(self, update: Update, /) -> AppriseMessage:
        """The title and body every URL gets; pure."""
        return render_apprise(update, self._labels)

    def use_journal(self, journal: Journal, /) -> None:
        """Record each URL's outcome in ``journal``, so a re-run skips those delivered."""
        self._journal = journal

    async def deliver(self, rendered: AppriseMessage, /) -> Delivery:
        """Notify each URL once (retried per the policy); one outcome per URL."""
        targets = self._targets or self._build()
        self._targets = targets
        apprise = _apprise()
        kind = getattr(apprise.NotifyType, rendered.notify_type.upper())  # 1.9: str, 2: Enum
        text = apprise.NotifyFormat.TEXT

        async def send(label: str, /) -> str:
            target = targets[label]
            target.said.warnings.clear()
            notified = target.notifier.async_notify(
                body=rendered.body, title=rendered.title, notify_type=kind, body_format=text
            )
            try:
                ok = await asyncio.wait_for(notified, self._try_limit)
            except TimeoutError:
                raise Unconfirmed(
                    f"Apprise gave no answer within {self._try_limit:g}s "
                    "(it may have been delivered)"
                ) from None
            if not ok:
                said = target.said.warnings[-1] if target.said.warnings else ""
                raise TransientError(
                    f"Apprise: {excerpt(said) or 'the notification failed (no reason given)'}"
                )
            return ""  # Apprise gives no id

        fan_out = FanOut(
            self.name,
            list(self._labels),
            _known(targets),
            self._retry,
            self.max_duration,
            ledger=self._ledger(rendered.update_key),
        )
        delivery = await fan_out.run([_Slot(send) for _ in range(self._concurrency)])
        return dataclasses.replace(delivery, ids=())

    def _build(self) -> dict[str, _Target]:
        """Parse each URL with Apprise: its plugin, Apprise's retries off, its own logger."""
        apprise = _apprise()
        asset = apprise.AppriseAsset(async_mode=True)
        targets: dict[str, _Target] = {}
        for number, (label, url) in enumerate(zip(self._labels, self._urls, strict=True), 1):
            secret = url.get_secret_value()
            plugin = apprise.Apprise.instantiate(secret, asset=asset, suppress_exceptions=True)
            if plugin is None:
                raise ValueError(
                    f"URL {number} of urls ({label}) is not one Apprise can use: check its "
                    "scheme and parts against the service's page on the Apprise wiki"
                )
            plugin.retry = 0  # broadcast retries; Apprise's would multiply them
            plugin.optional = False  # an optional service's failure is reported as success
            query = {k.lower() for k, _ in parse_qsl(urlsplit(secret).query)}
            if self._timeout is not None:
                if "cto" not in query:
                    plugin.socket_connect_timeout = self._timeout
                if "rto" not in query:
                    plugin.socket_read_timeout = self._timeout
            said = _Said(logging.getLogger("apprise"))
            plugin.logger = said
            notifier = apprise.Apprise(asset=asset)
            notifier.add(plugin)
            targets[label] = _Target(label, notifier, said)
        guard_loggers()  # the loggers of what the plugins imported (urllib3 logs each path)
        return targets

    def _ledger(self, update_key: str) -> RecipientLog | None:
        if self._journal is None or not update_key:
            return None
        return self._journal.recipients(update_key, self.name)

    async def aclose(self) -> None:
        """Nothing to close: Apprise opens a connection per notification."""


def _labels(masked: list[str]) -> list[str]:
    """Each URL's name: its masked form, ``#2``, ``#3``… after repeats of the same form."""
    seen: dict[str, int] = {}
    out = []
    for form in masked:
        seen[form] = seen.get(form, 0) + 1
        out.append(form if seen[form] == 1 else f"{form} #{seen[form]}")
    return out


def _known(targets: dict[str, _Target]) -> Any:
    def normalise(label: str) -> str:
        if label not in targets:  # pragma: no cover - the list is the channel's own
            raise ValueError("not one of this channel's URLs")
        return label

    return normalise


class _Slot:
    """A slot of concurrency: each URL has its own Apprise, so there is nothing to hold."""

    def __init__(self, send: Any) -> None:
        self._send = send

    async def send(self, recipient: str, /) -> str:
        """Notify one URL."""
        result: str = await self._send(recipient)
        return result

    async def close(self) -> None:
        """Nothing to release."""


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class AppriseSettings(BaseModel):
    """Sends each update to Apprise URLs (any of its 150+ services); one outcome per URL."""

    urls: SecretStr = setting(
        doc="Enables the Apprise bridge: Apprise URLs, apart by spaces (a list in "
        "broadcast.toml). They carry tokens."
    )
    timeout: float | None = setting(
        None, doc="Seconds Apprise waits to connect and to read (`cto`/`rto`).", shown_default="4"
    )
    attempts: int = setting(ATTEMPTS, doc="Tries per URL: broadcast's retries (Apprise's are off).")


def _from_env(env: Env) -> AppriseChannel | None:
    urls = env.get("BROADCAST_APPRISE_URLS")
    if urls is None:
        if present := [n for n in env.names() if n.startswith("BROADCAST_APPRISE_")]:
            raise ConfigError(f"{present[0]} is set but BROADCAST_APPRISE_URLS is not")
        return None
    register_secret(urls, *(p for u in split_urls(urls) for p in _secret_parts(u)))
    given = env.get("BROADCAST_APPRISE_TIMEOUT") is not None
    seconds = env.number("BROADCAST_APPRISE_TIMEOUT", 4.0) if given else None
    attempts = int(env.number("BROADCAST_APPRISE_ATTEMPTS", ATTEMPTS, integer=True))
    retry = RetryPolicy(attempts=attempts, deadline=120.0, max_wait=30.0)
    channel: AppriseChannel = env.build(
        "BROADCAST_APPRISE_URLS", lambda: AppriseChannel(urls, timeout=seconds, retry=retry)
    )
    return channel


EXAMPLE_URLS = ("json://status-hooks.example.com/psn", "mailto://smtp.example.com")

SPEC = ChannelSpec(
    name="apprise",
    channel=AppriseChannel,
    settings=AppriseSettings,
    build=_from_env,
    label="Apprise",
    example=lambda: AppriseChannel(list(EXAMPLE_URLS), validate=False),
    standin="broadcast.testing:AppriseReceiver",
    needs="apprise",
)
