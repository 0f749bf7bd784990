"""Local stand-ins for provider APIs (X, Graph, Twilio) that check auth like the real ones."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .._channel import Channel
from .._loopback import RecordedRequest, Reply
from ._standins import HTTPStandIn, by_update, every_update_arrived

__all__ = ["GraphEndpoint", "TwilioEndpoint", "XEndpoint"]


class XEndpoint(HTTPStandIn):
    """A local ``POST /2/tweets`` that checks OAuth 1.0a signatures like X does.

    It answers X's documented ``201 {"data": {"id", "text"}}`` and keeps each post's
    reply target, so the demo can show the thread.
    """

    name = "twitter"
    consumer_key = "demo-consumer-key"
    consumer_secret = "demo-consumer-secret"  # noqa: S105 - a stand-in's own test secret
    access_token = "demo-access-token"  # noqa: S105
    access_token_secret = "demo-access-token-secret"  # noqa: S105

    def __init__(self) -> None:
        self.posts: list[_Post] = []
        self.unsigned = 0
        super().__init__()

    def _signed(self, request: RecordedRequest, url: str) -> bool:
        from oauthlib.common import Request as OAuthRequest  # noqa: PLC0415
        from oauthlib.oauth1.rfc5849 import signature  # noqa: PLC0415

        oauth: Any = OAuthRequest(url, http_method="POST", headers=request.headers)
        collected = signature.collect_parameters(
            headers=oauth.headers, exclude_oauth_signature=False
        )
        params = dict(collected)
        # Prepared as oauthlib's own endpoints do: the signature apart from the params.
        oauth.signature = params.get("oauth_signature", "")
        oauth.params = [(k, v) for k, v in collected if k != "oauth_signature"]
        return params.get("oauth_consumer_key") == self.consumer_key and bool(
            signature.verify_hmac_sha1(oauth, self.consumer_secret, self.access_token_secret)
        )

    def _respond(self, request: RecordedRequest) -> Reply:
        signed = self._signed(request, f"{self._server.url}{request.path}")
        if not signed:
            self.unsigned += 1
            problem = {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}
            return Reply(401, json.dumps(problem).encode())
        body = json.loads(request.body)
        post_id = str(1_400_000_000_000_000_000 + len(self.posts) + 1)
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        self.posts.append(_Post(self.update_number, post_id, reply_to, body["text"]))
        return Reply(201, json.dumps({"data": {"id": post_id, "text": body["text"]}}).encode())

    def channel(self) -> Channel[Any]:
        """A real Twitter channel with OAuth 1.0a credentials, pointed here."""
        from ..channels._twitter import Twitter  # noqa: PLC0415

        twitter: Channel[Any] = Twitter(
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            access_token=self.access_token,
            access_token_secret=self.access_token_secret,
            base_url=self._server.url,
        )
        return twitter

    def arrivals(self) -> list[str]:
        """One line per update: its posts, and what the first one replies to."""
        from ..text import weighted_length  # noqa: PLC0415

        longest = max((weighted_length(p.text) for p in self.posts), default=0)
        signed = "verified on every post" if not self.unsigned else f"BAD on {self.unsigned}"
        chained = [p.reply_to for p in self.posts[1:]] == [p.post_id for p in self.posts[:-1]]
        chain = "each post replies to the one before" if chained else "the reply CHAIN IS BROKEN"
        lines = [f"OAuth 1.0a signature {signed}; {chain}; longest {longest}/280"]
        last: dict[str, int] = {}
        for number, posts in by_update(self.posts):
            first, reply_to = posts[0].post_id, posts[0].reply_to
            link = "replies to nothing: starts the incident"
            if reply_to is not None:
                whose = (
                    f"update {last[reply_to]}'s last"
                    if reply_to in last
                    else "NOT an update's last"
                )
                link = f"replies to {reply_to} ({whose})"
            lines.append(f"update {number}: {len(posts)} posts, first {first} {link}")
            last[posts[-1].post_id] = number
        return lines

    def verified(self) -> bool:
        """Posts within 280, one chain: each replying to the one before, the first to none."""
        from ..text import weighted_length  # noqa: PLC0415

        replies = [p.reply_to for p in self.posts]
        return (
            not self.unsigned
            and every_update_arrived(by_update(self.posts))
            and replies == [None, *(p.post_id for p in self.posts[:-1])]
            and len({p.text for p in self.posts}) == len(self.posts)
            and all(weighted_length(p.text) <= 280 for p in self.posts)
        )


class _Post(NamedTuple):
    """One post on X, with the update it arrived in (only signed posts get here)."""

    update: int
    post_id: str
    reply_to: str | None
    text: str


class GraphEndpoint(HTTPStandIn):
    """A local Graph API ``/{version}/{page-id}/feed`` that checks ``appsecret_proof``.

    The first call is throttled the way Graph does it (HTTP 400, ``error.code`` 4), so
    the demo shows a retry decided by the error code rather than the status. Follow-ups
    arrive as comments, ``/{version}/{post-id}/comments``, under the incident's post.
    """

    name = "facebook"
    page_id = "546349135390552"
    token = "demo-page-token"  # noqa: S105 - a stand-in's own test token
    app_secret = "demo-app-secret"  # noqa: S105

    def __init__(self) -> None:
        self.posts: list[_PagePost] = []
        self.answers: list[int] = []
        self.bad_proofs = 0
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        from urllib.parse import parse_qs  # noqa: PLC0415

        from ..channels._facebook import appsecret_proof  # noqa: PLC0415

        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        proof_ok = form.get("access_token") == self.token and form.get(
            "appsecret_proof"
        ) == appsecret_proof(self.token, self.app_secret)
        if not proof_ok:
            self.bad_proofs += 1
            error = {
                "message": "Invalid appsecret_proof",
                "type": "GraphMethodException",
                "code": 100,
                "fbtrace_id": "AdemoTrace1",
            }
            reply = Reply(400, json.dumps({"error": error}).encode())
        elif not self.answers:
            error = {
                "message": "(#4) Application request limit reached",
                "type": "OAuthException",
                "code": 4,
                "fbtrace_id": "AdemoTrace2",
            }
            reply = Reply(400, json.dumps({"error": error}).encode())
        else:
            reply = Reply(200, json.dumps({"id": self._publish(request.path, form)}).encode())
        self.answers.append(reply.status)
        return reply

    def _publish(self, path: str, form: dict[str, str]) -> str:
        """Keep a feed post or a comment; its Graph-shaped id."""
        *_, target, edge = path.partition("?")[0].strip("/").split("/")
        message = form.get("message", "")
        if edge == "comments":  # a comment's id: its post's own part, then its own
            serial = f"{target.split('_')[-1]}_{4_000_000_000_000 + len(self.posts)}"
            post = _PagePost(self.update_number, serial, target, message)
        else:
            serial = f"{self.page_id}_{1116689038356556 + len(self.posts)}"
            post = _PagePost(self.update_number, serial, None, message)
        self.posts.append(post)
        return post.object_id

    def channel(self) -> Channel[Any]:
        """A real FacebookPage channel pointed here; follow-ups go under the first post."""
        from ..channels._facebook import FacebookPage  # noqa: PLC0415

        page: Channel[Any] = FacebookPage(
            self.page_id,
            self.token,
            app_secret=self.app_secret,
            base_url=self._server.url,
            follow_up="comment",
        )
        return page

    def arrivals(self) -> list[str]:
        """The answers given, then one line per update: a post, or a comment under it."""
        answers = ", ".join(map(str, self.answers))
        proofs = "verified" if not self.bad_proofs else f"BAD on {self.bad_proofs} call(s)"
        lines = [f"appsecret_proof {proofs}; answers {answers} (400 = throttled, code 4)"]
        for number, posts in by_update(self.posts):
            for post in posts:
                where = f"comment {post.object_id} under post {post.parent}"
                if post.parent is None:
                    where = f"post {post.object_id} on the Page's feed"
                lines.append(f"update {number}: {where}")
        return lines

    def verified(self) -> bool:
        """One item per update: a feed post first, then comments under that post."""
        updates = by_update(self.posts)
        first = self.posts[0].object_id if self.posts else None
        return (
            not self.bad_proofs
            and every_update_arrived(updates)
            and all(len(posts) == 1 for _, posts in updates)
            and [p.parent for p in self.posts] == [None] + [first] * (len(self.posts) - 1)
        )


class _PagePost(NamedTuple):
    """A Page post or comment (``parent`` is the post it is under), by update."""

    update: int
    object_id: str
    parent: str | None
    message: str


class TwilioEndpoint(HTTPStandIn):
    """A local Twilio Messages API that checks Basic auth and answers like Twilio (201).

    One subscriber's number is answered with error 21610 (they replied STOP), so the
    demo shows per-recipient accounting.
    """

    name = "sms"
    account_sid = "AC" + "0" * 30 + "11"
    auth_token = "demo-auth-token"  # noqa: S105 - a stand-in's own test secret
    people = ("+14155550101", "+14155550102", "+442079460958", "+14155550199")
    stopped = "+14155550199"

    def __init__(self) -> None:
        self.texts: list[_Text] = []
        self.unauthorised = 0
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        import base64  # noqa: PLC0415
        from urllib.parse import parse_qs  # noqa: PLC0415

        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            self.unauthorised += 1
            return Reply(401, json.dumps({"code": 20003, "message": "Authenticate"}).encode())
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form["To"] == self.stopped:
            self.texts.append(_Text(self.update_number, form["To"], None, form["Body"]))
            error = {
                "code": 21610,
                "message": "Attempt to send to unsubscribed recipient",
                "more_info": "https://www.twilio.com/docs/errors/21610",
                "status": 400,
            }
            return Reply(400, json.dumps(error).encode())
        sid = f"SM{len(self.texts) + 1:032x}"
        self.texts.append(_Text(self.update_number, form["To"], sid, form["Body"]))
        body = {"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]}
        return Reply(201, json.dumps(body).encode())

    def channel(self) -> Channel[Any]:
        """A real TwilioSMS channel pointed here."""
        from ..channels._sms import TwilioSMS  # noqa: PLC0415

        sms: Channel[Any] = TwilioSMS(
            self.account_sid,
            self.auth_token,
            from_="+15017122661",
            recipients=list(self.people),
            base_url=self._server.url,
        )
        return sms

    def arrivals(self) -> list[str]:
        """Who is subscribed, then one line per update: texts sent and refused."""
        from ..text import segments  # noqa: PLC0415

        reached = ", ".join(p for p in self.people if p != self.stopped)
        auth = "verified" if not self.unauthorised else f"BAD on {self.unauthorised} call(s)"
        lines = [f"Basic auth {auth}; subscribers {reached}; {self.stopped} replied STOP"]
        for number, texts in by_update(self.texts):
            sent = [t for t in texts if t.sid]
            count = segments(sent[0].body) if sent else None
            size = f" ({count.segments} segments {count.encoding} each)" if count else ""
            refused = "".join(f"; {t.to} refused (21610)" for t in texts if not t.sid)
            lines.append(f"update {number}: {len(sent)} texts{size}{refused}")
        return lines

    def verified(self) -> bool:
        """Per update: every subscriber but the one who opted out got one same text."""
        updates = by_update(self.texts)
        wanted = sorted(set(self.people) - {self.stopped})
        return (
            not self.unauthorised
            and every_update_arrived(updates)
            and len({t.body for t in self.texts}) == len(updates)
            and all(
                sorted(t.to for t in texts if t.sid) == wanted
                and [t.to for t in texts if not t.sid] == [self.stopped]
                and len({t.body for t in texts}) == 1
                for _, texts in updates
            )
        )


class _Text(NamedTuple):
    """One text asked for, by update: its SID, or ``None`` when Twilio refused it."""

    update: int
    to: str
    sid: str | None
    body: str
