"""Bluesky link facets against Bluesky's own SDK (@atproto/api ``RichText``).

``link_facets`` must mark the same UTF-8 byte ranges and URIs as the official SDK's
``detectFacetsWithoutResolution`` (no network), so a link is clickable exactly where a
post made by Bluesky's app would make it. Multi-byte text and emoji before the link,
punctuation after it, two links. The SDK also links a bare domain (``example.com``)
with no scheme; broadcast links only ``http(s)://`` URLs, which is all it writes.
"""

from __future__ import annotations

import pytest

from broadcast.text._social import link_facets

from ..js_oracle import JsOracle

TEXTS = [
    "障害が発生しました 🙇‍♂️ 詳細: https://status.example.com/psn 次の更新",
    "[Investigating] PSN is down\nhttps://status.example.com/psn\n\nWe are on it.",
    "See https://status.example.com/psn.",
    "(details: https://status.example.com/psn)",
    "two https://a.example.com/x and https://b.example.com/y?q=1#f",
    "emoji 👨‍👩‍👧‍👦 then https://status.example.com/パス",
    "https://status.example.com/psn, then more",
    "trailing https://status.example.com/psn!",
    "全角 https://status.example.com/psn。次",
    "Ünïcödé — https://status.example.com/a_b-c~d/%E2%9C%93 and no more",
]


@pytest.mark.parametrize("text", TEXTS)
def test_link_facets_match_bluesky_sdk(js: JsOracle, text: str) -> None:
    """Each link's byte range and URI are the ones Bluesky's SDK detects."""
    (reference,) = js.bluesky_links([text])
    ours = [
        {
            "byteStart": facet["index"]["byteStart"],
            "byteEnd": facet["index"]["byteEnd"],
            "uri": facet["features"][0]["uri"],
        }
        for facet in link_facets(text)
    ]
    assert reference, "the SDK found no link: the case tests nothing"
    assert ours == reference
