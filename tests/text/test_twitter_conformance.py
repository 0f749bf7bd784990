"""twitter-text's conformance suite, in our own cases: weighted length and URL extraction.

The suite (twitter/twitter-text ``conformance/validate.yml``, ``extract.yml`` and
``tlds.yml``, Apache-2.0) is published by no package registry: neither npm ``twitter-text``
(3.1.0 and every older tarball), ``@ambassify/twitter-text`` 4.0.0, PyPI
``twitter-text-parser`` 3.0.0 (sdist), ``twitter-text`` 3.0 or ``ttext`` 0.0.2, nor Debian's
``ruby-twitter-text`` 1.14.7 carries the YAML. So this module holds cases of our own for
each section of the suite that bears on weighted length or URL extraction, with the values
twitter-text 3.1.0 (npm, X's official JavaScript implementation, config v3) computes under
node 20, and checks every top-level domain of ``_tlds.py`` both ways.

Whoever has a twitter-text checkout can run the suite itself: point
``TWITTER_TEXT_CONFORMANCE`` at its ``conformance`` folder. ``SKIPPED`` lists, with the
reason, the sections left out; all others must pass (they did, at twitter-text's last
commit: 22/22 and 2/2 weighted, 91 + 10 + 2 + 5 extraction, 315 + 1,259 domains).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from broadcast.text import fits, weighted_length
from broadcast.text._tlds import TLDS
from broadcast.text._twitter import _units
from broadcast.text._twitter_urls import urls

from ..js_oracle import JsOracle

# validate.yml WeightedTweetsWithDiscountedEmojiCounterTest's kinds of text, our own:
# (text, weightedLength, valid) from twitter-text 3.1.0.
WEIGHTED = [
    ("Status: " + "y" * 272, 280, True),
    ("Status: " + "y" * 273, 281, False),  # overflows at 280
    ("Outage notice https://status.example.org/incidents/7 " + "z" * 230, 268, True),
    (" ".join(["https://status.example.org/psn"] * 12), 287, False),  # twelve links
    ("春眠不觉晓处处闻啼鸟夜来风雨声花落知多少" * 8, 320, False),
    ("🚨" * 150, 300, False),
    ("ok" + "障" * 150, 302, False),
    ("Ǻ" + "A\u030a\u0301" * 3, 4, True),  # NFC: four characters
    (
        "Spaces:\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b end "
        "\u2010\u2011\u2012\u2013\u2014\u2015\u2016\u2017\u2018\u2019\u201a\u201b\u201c\u201d"
        "\u201e\u201f\u2032\u2033\u2034\u2035\u2036\u2037",
        46,
        True,
    ),
    (
        "Bad labels https://" + "verylonglabel" * 6 + ".example.com and a short one https://a.co",
        149,
        True,
    ),
    ("b" * 63 + ".org", 23, True),  # a 63-character label
    ("b" * 64 + ".org", 68, True),  # one over
    ("日本語" * 10 + " http://" + "日本語" * 20 + ".jp/", 192, True),  # punycode over 63
    ("日本語" * 10 + " http://" + "日本語" * 3 + ".jp/", 84, True),
    (
        "Family 👨\u200d👩\u200d👧 and keycap 7️⃣ and flag 🇫🇷 and "
        "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",
        42,
        True,
    ),
    ("Emoji 11: 🥰 🦸🏽 🧑\u200d🦰; Emoji 12: 🧑\u200d🤝\u200d🧑 🦮", 44, True),
    ("9\u20e3", 2, True),  # a keycap without VS16
]
# UnicodeDirectionalMarkerCounterTest's kinds: directional marks are valid, U+FEFF is not.
DIRECTIONAL = [
    ("\u202bWe are down\u202c \u2066example.org\u2069", 43, True),
    ("XYZ\ufeffXYZ", 8, False),
    ("\u2067\u202bhttps://example.org/\u202c\u2069", 31, True),
]
# extract.yml urls, urls_with_indices, urls_with_directional_markers, tco_urls_with_params:
# (text, [(url, start, end)]) from twitter-text 3.1.0's extractUrlsWithIndices.
EXTRACT = [
    (
        "see https://status.example.org and http://example.net/path?x=1",
        [("https://status.example.org", 4, 30), ("http://example.net/path?x=1", 35, 62)],
    ),
    (
        "bare status.example.org, docs.example.co.uk/a and mail me at ops@example.org",
        [("status.example.org", 5, 23), ("docs.example.co.uk/a", 25, 45)],
    ),
    (
        "https://example.org/a_(b)_c. then (https://example.org/x)",
        [("https://example.org/a_(b)_c", 0, 27), ("https://example.org/x", 35, 56)],
    ),
    (
        "https://t.co/AbC123?s=20 and https://t.co/XyZ/path",
        [("https://t.co/AbC123?s=20", 0, 24), ("https://t.co/XyZ", 29, 45)],
    ),
    (
        "状態はこちらstatus.example.org詳細example.com/path/x終わり",
        [("status.example.org", 6, 24), ("example.com/path/x", 26, 44)],
    ),
    (
        "http://例え.テスト http://example.みんな/ http://xn--n3h.example.com",
        [("http://example.みんな/", 14, 33), ("http://xn--n3h.example.com", 34, 60)],
    ),
    ("#status.example.org @status.example.org $status.example.org", []),
    ("a.b.c.d.example.org-dash and example.org+plus", []),
    ("release.tar.gz notes.txt site.io", [("site.io", 25, 32)]),
    (
        "http://user_x.example.org http://-bad.example.org http://bad-.example.org",
        [("http://user_x.example.org", 0, 25)],
    ),
    ("localhost:8080 http://localhost/ http://192.168.0.1/", []),
    ("example.org/pppppppppppppppppppp...", [("example.org/pppppppppppppppppppp", 0, 32)]),
]


@pytest.mark.parametrize(("text", "length", "valid"), WEIGHTED + DIRECTIONAL)
def test_weighted_length_and_validity(text: str, length: int, valid: bool) -> None:
    """Weighted length and validity are twitter-text's, config v3."""
    assert (weighted_length(text), fits(text)) == (length, valid)


def extracted(text: str) -> list[tuple[str, int, int]]:
    """The links found in ``text``, with UTF-16 indices as twitter-text gives them."""
    units = _units(text)
    return [(units[url.start : url.end], url.start, url.end) for url in urls(units)]


@pytest.mark.parametrize(("text", "links"), EXTRACT)
def test_url_extraction(text: str, links: list[tuple[str, int, int]]) -> None:
    """The links and their indices are twitter-text's."""
    assert extracted(text) == links


@pytest.mark.parametrize("tld", sorted(TLDS))
def test_every_top_level_domain_makes_a_link(tld: str) -> None:
    """As tlds.yml checks: a host under each top-level domain is a link, with or without
    a protocol, in either case."""
    for text in (f"https://twitter.{tld}", f"twitter.{tld}", f"HTTP://TWITTER.{tld.upper()}"):
        assert extracted(text) == [(text, 0, len(_units(text)))], text


def test_own_cases_agree_with_twitter_text_js(js: JsOracle) -> None:
    """The expected values above are still what twitter-text 3.1.0 computes."""
    texts = [case[0] for case in WEIGHTED + DIRECTIONAL + EXTRACT]
    answers = js.tweets(texts)
    for (text, *_), answer in zip(WEIGHTED + DIRECTIONAL, answers, strict=False):
        assert (weighted_length(text), fits(text)) == (answer["weightedLength"], answer["valid"])
    for (text, _), answer in zip(EXTRACT, answers[len(WEIGHTED + DIRECTIONAL) :], strict=True):
        assert extracted(text) == [tuple(link) for link in answer["urls"]]


# --- the suite itself, from a twitter-text checkout -------------------------------------------

CONFORMANCE = os.environ.get("TWITTER_TEXT_CONFORMANCE")
SKIPPED = {
    "validate.yml tweets": "config v1's 140-character limit; X's is config v3's 280",
    "validate.yml WeightedTweetsCounterTest": "config v2, which counts emoji per code point",
    "validate.yml urls, urls_without_protocol": (
        "isValidUrl checks a URL on its own (userinfo, IP addresses); weighted length "
        "uses extractUrls, which extract.yml checks"
    ),
    "validate.yml usernames, lists, hashtags": "no bearing on weighted length",
    "extract.yml mentions*, replies, hashtags*, cashtags*": "no bearing on weighted length",
    "autolink.yml, hit_highlighting.yml": "HTML output",
}


def _suite() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    if not CONFORMANCE:
        pytest.skip(
            "set TWITTER_TEXT_CONFORMANCE to a twitter-text checkout's conformance folder "
            "to run the suite itself (no package registry publishes it)"
        )
    folder = Path(CONFORMANCE)
    return {
        name: yaml.safe_load((folder / f"{name}.yml").read_text(encoding="utf-8"))["tests"]
        for name in ("validate", "extract", "tlds")
    }


def test_twitter_text_conformance_suite() -> None:
    """Every case of the suite that bears on weighted length or links passes."""
    suite = _suite()
    failures = []
    validate, extract, tlds = suite["validate"], suite["extract"], suite["tlds"]
    for section in (
        "WeightedTweetsWithDiscountedEmojiCounterTest",
        "UnicodeDirectionalMarkerCounterTest",
    ):
        for case in validate[section]:
            expected = (case["expected"]["weightedLength"], case["expected"]["valid"])
            if (weighted_length(case["text"]), fits(case["text"])) != expected:
                failures.append((section, case["description"]))
    for section in ("urls", "tco_urls_with_params"):
        for case in extract[section]:
            if [link for link, _, _ in extracted(case["text"])] != case["expected"]:
                failures.append((section, case["description"]))
    for section in ("urls_with_indices", "urls_with_directional_markers"):
        for case in extract[section]:
            expected = [(x["url"], *x["indices"]) for x in case["expected"]]
            if extracted(case["text"]) != expected:
                failures.append((section, case["description"]))
    for section in ("country", "generic"):
        for case in tlds[section]:
            if [link for link, _, _ in extracted(case["text"])] != case["expected"]:
                failures.append((f"tlds {section}", case["description"]))
    assert not failures, failures
