"""Mastodon and Bluesky threads across two real processes on one journal file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from broadcast.testing import BlueskyFake, MastodonFake

ROOT = Path(__file__).resolve().parent.parent.parent


def _send(spec: dict[str, Any]) -> dict[str, Any]:
    """One update sent by ``python -m tests.journal_child``; its receipts by channel."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and test module
        [sys.executable, "-m", "tests.journal_child", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {r["channel"]: r for r in json.loads(done.stdout)["receipts"]}


def test_follow_ups_thread_across_two_processes_and_bluesky_signs_in_once(
    tmp_path: Path,
) -> None:
    """Process 2 replies to process 1's posts, from the journal; one createSession in all."""
    with MastodonFake() as mastodon, BlueskyFake() as bluesky:
        spec: dict[str, Any] = {
            "journal": str(tmp_path / "journal.db"),
            "mastodon": {"url": mastodon.url, "token": mastodon.token},
            "bluesky": {
                "url": bluesky.url,
                "handle": bluesky.handle,
                "password": bluesky.password,
                "sessions": str(tmp_path / "state" / "bluesky-sessions.json"),
            },
        }
        first = _send(spec)
        mastodon.update_number = bluesky.update_number = 2
        update = {"minutes": 60, "status": "identified", "body": "We found the cause."}
        second = _send(spec | {"update": update})
    assert {r["outcome"] for r in (*first.values(), *second.values())} == {"delivered"}
    assert len(mastodon.statuses) == len(bluesky.posts) == 2
    assert mastodon.statuses[1].reply_to == mastodon.statuses[0].status_id
    root = {"uri": bluesky.posts[0].uri, "cid": bluesky.posts[0].cid}
    assert bluesky.posts[1].record["reply"] == {"root": root, "parent": root}
    assert bluesky.sessions_created == 1  # the second process found the kept session
    assert mastodon.verified()
    assert bluesky.verified()
