"""only= and to= mean the same in send(), check(), preview() and the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import broadcast
from broadcast import ConfigError
from broadcast.cli import main
from broadcast.testing import LoopbackServer, RecordingChannel

TOML = """
[channels.hook-a]
type = "webhook"
url = "{url}/a"
tags = ["everyone", "press"]

[channels.hook-b]
type = "webhook"
url = "{url}/b"
tags = ["everyone"]

[channels.hook-c]
type = "webhook"
url = "{url}/c"
tags = ["affected"]
"""


@pytest.fixture
def config(tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("BROADCAST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BROADCAST_JOURNAL", "off")
    path = tmp_path / "broadcast.toml"
    path.write_text(TOML.format(url=server.url))
    return path


def _sent(path: Path, **pick: Any) -> set[str]:
    report = broadcast.send("Sign-in is down.", title="PSN is down", config=path, **pick)
    return {r.channel for r in report.receipts if r.outcome.value == "delivered"}


def _checked(path: Path, **pick: Any) -> set[str]:
    return {r.channel for r in broadcast.check(config=path, timeout=5, **pick)}


def _previewed(path: Path, **pick: Any) -> set[str]:
    return {p.channel for p in broadcast.preview("Down.", title="PSN", config=path, **pick)}


def _cli(command: str) -> Callable[..., set[str]]:
    def run(path: Path, **pick: Any) -> set[str]:
        flags = [f"--{k}={v if isinstance(v, str) else ','.join(v)}" for k, v in pick.items()]
        update = ["--title", "PSN is down", "Sign-in is down."] if command != "check" else []
        args = ["--config", str(path), command, *flags, *update]
        result = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
        if result.exit_code == 2:
            raise ConfigError(result.output)
        data = json.loads(result.stdout)
        if command == "send":
            return {r["channel"] for r in data["receipts"] if r["outcome"] == "delivered"}
        return {r["channel"] for r in data}

    return run


WAYS = {
    "send()": _sent,
    "check()": _checked,
    "preview()": _previewed,
    "broadcast send": _cli("send"),
    "broadcast check": _cli("check"),
    "broadcast preview": _cli("preview"),
}
PICKS = [
    ({"only": "hook-a,hook-c"}, {"hook-a", "hook-c"}),
    ({"only": ["hook-b"]}, {"hook-b"}),
    ({"to": "everyone"}, {"hook-a", "hook-b"}),
    ({"to": "everyone", "only": "hook-a, hook-c"}, {"hook-a"}),
]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("pick", "expected"), PICKS)
def test_only_and_to_pick_the_same_channels_everywhere(
    config: Path, way: str, pick: dict[str, Any], expected: set[str]
) -> None:
    """The same only=/to= picks the same channels in every entry point."""
    if way.startswith("broadcast") and isinstance(pick.get("only"), list):
        pick = {**pick, "only": ",".join(pick["only"])}
    assert WAYS[way](config, **pick) == expected


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("pick", "error"),
    [({"only": "hook-z"}, "unknown channel hook-z"), ({"to": "nobody"}, "unknown tag nobody")],
)
def test_an_unknown_name_or_tag_is_the_same_error_everywhere(
    config: Path, way: str, pick: dict[str, str], error: str
) -> None:
    """An unknown channel or tag is a ConfigError (exit 2) listing the configured ones."""
    with pytest.raises(ConfigError, match=error):
        WAYS[way](config, **pick)


def test_explicit_channels_are_picked_by_only_and_refuse_to() -> None:
    """With channels=[...], only= picks by name in all three calls; to= is an error, not ignored."""
    a, b = RecordingChannel("a"), RecordingChannel("b")
    report = broadcast.send("Down.", title="PSN", channels=[a, b], only="a", journal=None)
    assert [r.outcome.value for r in report.receipts] == ["delivered", "skipped"]
    assert [r.channel for r in broadcast.check(channels=[a, b], only="b")] == ["b"]
    assert [
        p.channel for p in broadcast.preview("Down.", title="PSN", channels=[a, b], only="a")
    ] == ["a"]
    for call in (
        lambda: broadcast.send("Down.", title="PSN", channels=[a], to="press", journal=None),
        lambda: broadcast.check(channels=[a], to="press"),
        lambda: broadcast.preview("Down.", title="PSN", channels=[a], to="press"),
    ):
        with pytest.raises(ConfigError, match="to= picks channels by their tags"):
            call()
