"""Local stand-ins for provider APIs (X, Graph, Twilio) that check auth like the real ones."""

from __future__ import annotations

import json
from typing import Any

from .._channel import Channel
from .._loopback import RecordedRequest, Reply
from ._standins import HTTPStandIn

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
        self.posts: list[tuple[str, str | None, str, bool]] = []
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
            problem = {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}
            return Reply(401, json.dumps(problem).encode())
        body = json.loads(request.body)
        post_id = str(1_400_000_000_000_000_000 + len(self.posts) + 1)
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        self.posts.append((post_id, reply_to, body["text"], signed))
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
        """One line per post: id, what it replies to, its weighted length."""
        from ..text import weighted_length  # noqa: PLC0415

        return [
            f"post {post_id} (reply to {reply_to or 'nothing: starts the incident'}), "
            f"{weighted_length(text)}/280, OAuth signature verified: {text.splitlines()[0]!r}"
            for post_id, reply_to, text, _ in self.posts
        ]

    def verified(self) -> bool:
        """Every post signed, within 280, each part replying to the one before."""
        from ..text import weighted_length  # noqa: PLC0415

        chained = all(self.posts[i][1] == self.posts[i - 1][0] for i in range(1, len(self.posts)))
        return (
            bool(self.posts)
            and chained
            and all(ok and weighted_length(text) <= 280 for _, _, text, ok in self.posts)
        )


class GraphEndpoint(HTTPStandIn):
    """A local Graph API ``/{version}/{page-id}/feed`` that checks ``appsecret_proof``.

    The first call is throttled the way Graph does it (HTTP 400, ``error.code`` 4), so
    the demo shows a retry decided by the error code rather than the status.
    """

    name = "facebook"
    page_id = "546349135390552"
    token = "demo-page-token"  # noqa: S105 - a stand-in's own test token
    app_secret = "demo-app-secret"  # noqa: S105

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bool]] = []
        self.answers: list[int] = []
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        from urllib.parse import parse_qs  # noqa: PLC0415

        from ..channels._facebook import appsecret_proof  # noqa: PLC0415

        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        proof_ok = form.get("access_token") == self.token and form.get(
            "appsecret_proof"
        ) == appsecret_proof(self.token, self.app_secret)
        if not proof_ok:
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
            post_id = f"{self.page_id}_{1116689038356556 + len(self.posts)}"
            self.posts.append((post_id, form.get("message", ""), proof_ok))
            reply = Reply(200, json.dumps({"id": post_id}).encode())
        self.answers.append(reply.status)
        return reply

    def channel(self) -> Channel[Any]:
        """A real FacebookPage channel pointed here."""
        from ..channels._facebook import FacebookPage  # noqa: PLC0415

        page: Channel[Any] = FacebookPage(
            self.page_id, self.token, app_secret=self.app_secret, base_url=self._server.url
        )
        return page

    def arrivals(self) -> list[str]:
        """The answers given, then each post with its first line."""
        lines = [f"answers: {', '.join(map(str, self.answers))} (400 = throttled, code 4)"]
        lines += [
            f"post {post_id}, appsecret_proof verified: {message.splitlines()[0]!r}"
            for post_id, message, _ in self.posts
        ]
        return lines

    def verified(self) -> bool:
        """One post, with a valid proof, after one throttled call."""
        return len(self.posts) == 1 and all(ok for *_, ok in self.posts)


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
        self.texts: list[tuple[str, str, str]] = []
        self.refused: list[str] = []
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        import base64  # noqa: PLC0415
        from urllib.parse import parse_qs  # noqa: PLC0415

        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Reply(401, json.dumps({"code": 20003, "message": "Authenticate"}).encode())
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form["To"] == self.stopped:
            self.refused.append(form["To"])
            error = {
                "code": 21610,
                "message": "Attempt to send to unsubscribed recipient",
                "more_info": "https://www.twilio.com/docs/errors/21610",
                "status": 400,
            }
            return Reply(400, json.dumps(error).encode())
        sid = f"SM{len(self.texts) + 1:032x}"
        self.texts.append((form["To"], sid, form["Body"]))
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
        """Each text with its SID and segment count, and the refusal."""
        from ..text import segments  # noqa: PLC0415

        lines = []
        for to, sid, body in self.texts:
            count = segments(body)
            lines.append(f"to {to}: {sid}, {count.segments} segment(s) {count.encoding}")
        if self.texts:
            lines.append(f"text: {self.texts[0][2]!r}")
        lines += [f"to {to}: refused, 21610 (replied STOP)" for to in self.refused]
        return lines

    def verified(self) -> bool:
        """Every subscriber but the one who opted out got the same text, once."""
        got = sorted(to for to, _, _ in self.texts)
        return (
            got == sorted(set(self.people) - {self.stopped})
            and len({body for *_, body in self.texts}) == 1
        )
