"""What Apprise is asked to do in the benchmarks: the URLs it is given and how it sends.

Apprise (https://github.com/caronc/apprise) is the comparison, never a core dependency
of broadcast (only its optional ``apprise`` extra, the bridge, installs it): ``make
bench`` installs the pinned version into ``.venv-bench`` from
``benchmarks/requirements.txt``. Each function here is the Apprise equivalent of one
broadcast workload, aimed at the same local sink, and chosen to be fair to Apprise:

* a webhook: one ``json://`` URL (one endpoint, as one ``Webhook`` channel), notified
  once per update, as broadcast sends once per update;
* an SMS fan-out: a ``json://`` URL posts one JSON document to one endpoint, and
  Apprise reaches N targets by holding N URLs, so it gets one URL per recipient (the
  number and the sink's basic auth in it), all in one ``Apprise``, notified once: one
  call fans out to everyone, as broadcast's one ``send`` does. (Apprise's Twilio plugin
  would be the natural choice, but it posts to api.twilio.com only.)
* an email fan-out: Apprise's email plugin sends one message per recipient over one
  SMTP connection per URL, so ``pool`` plain-SMTP ``mailto://`` URLs (``mode=insecure``,
  the sink's port), with the recipients dealt between them, give it the same number of
  connections as broadcast's pool (one URL would send all N on one connection).

Every send goes through ``Apprise.async_notify``, which runs each URL's blocking
``send`` on Apprise's shared thread pool (``concurrent.futures``' default size,
min(32, CPUs + 4)); Apprise's own defaults are otherwise kept. Building the
``Apprise`` and parsing its URLs is part of every timing, as building broadcast's
channel and checking its recipients is part of broadcast's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from urllib.parse import quote

import apprise
from _common import HOST  # a sibling module, as the scripts import this one
from _twilio_sink import FROM, SID, TOKEN, phone_numbers

import broadcast

__all__ = [
    "VERSION",
    "email_urls",
    "notify",
    "notify_each",
    "sms_notify",
    "sms_urls",
    "webhook_url",
]

VERSION: str = apprise.__version__


def webhook_url(port: int, path: str = "/hook") -> str:
    """One ``json://`` URL posting to the webhook sink."""
    return f"json://{HOST}:{port}{path}"


def sms_urls(port: int, count: int) -> Iterator[str]:
    """One ``json://`` URL per number, POSTing to the Twilio sink's Messages.json.

    ``:To=`` and ``:From=`` add the numbers to Apprise's JSON payload; the user and
    password are the basic auth the sink expects.
    """
    path = f"/2010-04-01/Accounts/{SID}/Messages.json"
    sender = quote(FROM, safe="")
    for number in phone_numbers(count):
        yield (
            f"json://{SID}:{TOKEN}@{HOST}:{port}{path}?:To={quote(number, safe='')}&:From={sender}"
        )


def email_urls(port: int, pool: int, addresses: Iterable[str]) -> list[str]:
    """``pool`` plain-SMTP ``mailto://`` URLs with ``addresses`` dealt between them."""
    shares: list[list[str]] = [[] for _ in range(pool)]
    for i, address in enumerate(addresses):
        shares[i % pool].append(address)
    sender = quote("Status <status@example.com>", safe="")
    return [
        f"mailto://{HOST}:{port}/?mode=insecure&from={sender}&to={','.join(share)}"
        for share in shares
        if share
    ]


async def notify(urls: Iterable[str], *, title: str, body: str) -> None:
    """Build one ``Apprise`` holding ``urls`` and notify it once; raise unless all succeed."""
    notifier = apprise.Apprise()
    urls = list(urls)
    if not notifier.add(urls) or len(notifier) != len(urls):
        raise RuntimeError(f"Apprise accepted {len(notifier)} of {len(urls)} URLs")
    result = await notifier.async_notify(body=body, title=title)
    if not result:
        raise RuntimeError(f"Apprise did not deliver every notification: {result!r}")


async def notify_each(url: str, updates: Iterable[broadcast.Update], concurrency: int) -> None:
    """Notify one ``Apprise`` holding ``url`` once per update, ``concurrency`` at a time."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise RuntimeError(f"Apprise refused the URL {url}")
    shared = iter(updates)

    async def worker() -> None:
        for update in shared:  # workers share the iterator: each update is taken once
            result = await notifier.async_notify(body=update.body, title=update.title)
            if not result:
                raise RuntimeError(f"Apprise did not deliver an update: {result!r}")

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


async def sms_notify(port: int, count: int, text: str) -> None:
    """``notify`` of ``text`` to ``count`` numbers through the Twilio sink on ``port``.

    A module-level coroutine function, for ``_common.peak_rss``: the child process
    imports this module (and so Apprise) before it takes its RSS after imports.
    """
    await notify(sms_urls(port, count), title="", body=text)
