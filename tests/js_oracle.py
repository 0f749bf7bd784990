"""The reference implementations, run by node: X's twitter-text, Twilio's calculator, Bluesky's SDK.

``make unit`` installs them into ``tests/js/node_modules`` (npm ``twitter-text`` 3.1.0,
Apache-2.0; ``twemoji-parser`` 11.0.2, MIT; ``sms-segments-calculator`` 1.3.0, MIT;
``@atproto/api`` 0.19.19, MIT) when npm is there. Tests that compare with them take
the ``js`` fixture, which skips them, saying why, when node or the packages are
missing: the rest of the suite never needs node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).parent / "js"
PACKAGES = ("twitter-text", "twemoji-parser", "sms-segments-calculator", "@atproto/api")


def missing() -> str | None:
    """Why the oracle cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed, so the JavaScript reference implementations cannot run"
    absent = [name for name in PACKAGES if not (JS_DIR / "node_modules" / name).is_dir()]
    if absent:
        return (
            f"{', '.join(absent)} not installed in {JS_DIR}/node_modules "
            "(`make unit` runs npm install there when npm is available)"
        )
    return None


class JsOracle:
    """One node process answering batches of texts; close it when done."""

    def __init__(self) -> None:
        node = shutil.which("node") or "node"
        self._process = subprocess.Popen(  # noqa: S603 - node and our own script
            [node, str(JS_DIR / "oracle.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogatepass",
            cwd=JS_DIR,
        )

    def tweets(self, texts: list[str]) -> list[dict[str, Any]]:
        """``parseTweet`` and ``extractUrlsWithIndices`` of each text (twitter-text 3.1.0)."""
        return self._ask("tweet", texts)

    def sms(self, texts: list[str]) -> list[dict[str, Any]]:
        """Twilio's ``SegmentedMessage`` of each text: encoding, segments and their text."""
        return self._ask("sms", texts)

    def bluesky_links(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        """Bluesky's own link facets of each text (@atproto/api ``RichText``, no network)."""
        return self._ask("bsky", texts)  # type: ignore[return-value]

    def _ask(self, op: str, texts: list[str]) -> list[dict[str, Any]]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps({"op": op, "texts": texts}) + "\n")
        stdin.flush()
        answer: list[dict[str, Any]] = json.loads(stdout.readline())
        return answer

    def close(self) -> None:
        """End the node process."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)
        assert self._process.stdout is not None
        self._process.stdout.close()
