"""An update as a numbered thread: X's, Mastodon's and Bluesky's posts, one renderer.

The status tag and title lead, the link follows in the first post, then the body, the
next-update promise and the author's signature. Each outlet brings only its way of
counting (a ``Counter``, X's weighted length by default) and its limit; the cutting
rules are ``split_thread``'s.
"""

from __future__ import annotations

from collections.abc import Callable

from .._update import Update
from ._facts import components_line, next_update_phrase, signature, status_tag
from ._twitter import MAX_WEIGHTED, Counter, split_thread, weighted_length

__all__ = ["render_thread"]


def render_thread(
    update: Update,
    *,
    limit: int = MAX_WEIGHTED,
    max_posts: int | None = 10,
    counter: Counter | None = None,
    outlet: str = "X",
) -> list[str]:
    """The update as posts of at most ``limit`` each, as ``counter`` counts them.

    One post if it fits (dropping the signature if that is what it takes), otherwise a
    numbered thread of at most ``max_posts`` posts (None: no limit). A longer update is
    cut to ``max_posts``: its last post ends ``… Full update: <url>`` and the
    next-update promise (the signature is left out). Without a ``url`` to point to, it
    raises ``ValueError`` saying how many posts it needs, so the channel fails before
    it posts anything.

    The affected components (``components_line``) go in only when the whole update,
    signed, still fits one post with them: no required fact gives way to them.
    """
    if affected := components_line(update):
        story = "\n\n".join(p for p in (update.body, affected) if p)
        with_them = update.model_copy(update={"body": story, "components": {}})
        posts = render_thread(
            with_them, limit=limit, max_posts=None, counter=counter, outlet=outlet
        )
        if len(posts) == 1 and (signature(update) or "") in posts[0]:
            return posts
        update = update.model_copy(update={"components": {}})
    measure: Callable[[str], int] = counter.length if counter is not None else weighted_length
    head = f"{status_tag(update)} {update.title}"
    if update.url:
        head += f"\n{update.url}"
    promise = next_update_phrase(update)
    sign = signature(update)
    body = "\n\n".join(update.paragraphs)
    tail = "\n\n".join(p for p in (promise, sign) if p)
    with_sign = "\n\n".join(p for p in (head, body, tail) if p)
    if measure(with_sign) <= limit:
        return [with_sign]
    without_sign = "\n\n".join(p for p in (head, body, promise) if p)
    if sign and measure(without_sign) <= limit:
        return [without_sign]
    posts = split_thread(with_sign, limit=limit, counter=counter)
    if max_posts is None or len(posts) <= max_posts:
        return posts
    story = "\n\n".join(p for p in (head, body) if p)
    if update.url is not None:
        pointer = f"… Full update: {update.url}" + (f"\n\n{promise}" if promise else "")
        cut = _shortened(story, pointer, limit=limit, max_posts=max_posts, counter=counter)
        if cut:
            return cut
    why = "its url is too long to point to from a post" if update.url else "it has no url"
    raise ValueError(
        f"body: too long for {outlet}: it needs {len(posts)} posts, and max_posts is "
        f"{max_posts} ({why}); shorten it, give the update a url to link the rest from a "
        "shortened thread, or raise max_posts"
    )


def _shortened(
    text: str, pointer: str, *, limit: int, max_posts: int, counter: Counter | None
) -> list[str] | None:
    """The first ``max_posts`` posts of ``text``, the last one ending with ``pointer``.

    None if ``pointer`` does not fit in a post.
    """
    measure: Callable[[str], int] = counter.length if counter is not None else weighted_length
    suffix = f" {max_posts}/{max_posts}"
    budget = limit - measure(suffix)
    room = budget - measure(pointer) - measure(" ")
    if room < 0:
        return None
    parts = split_thread(text, limit=budget, numbered=False, counter=counter)[:max_posts]
    fits_two = room >= 2 * measure("x")
    last = (
        split_thread(parts[-1], limit=room, numbered=False, counter=counter)[0] if fits_two else ""
    )
    parts[-1] = f"{last} {pointer}".lstrip()
    if measure(parts[-1]) > budget:  # the two weigh more together (a link joined)
        parts[-1] = pointer
    return [f"{part} {number}/{len(parts)}" for number, part in enumerate(parts, 1)]
