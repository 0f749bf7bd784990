"""The Apprise bridge's setup: an optional extra, configured by variables or broadcast.toml."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast import ConfigError, Update
from broadcast.channels._apprise import AppriseChannel
from broadcast.channels._registry import spec
from broadcast.cli import main
from broadcast.testing import AppriseReceiver

FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04"]
TOKEN = "CANARYappriseCLI0042token"


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppriseReceiver]:
    monkeypatch.chdir(tmp_path)
    with AppriseReceiver(paths=(f"/hooks/{TOKEN}",)) as stand_in:
        yield stand_in


def run(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_importing_broadcast_never_imports_apprise() -> None:
    """broadcast, its channels and every channel's declaration load without Apprise."""
    code = (
        "import sys, broadcast, broadcast.channels\n"
        "from broadcast.config._registry import specs\n"
        "assert 'apprise' in [s.name for s in specs()]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('apprise', 'requests')))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.replace("'", '"')) == []


def test_without_apprise_building_the_channel_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the module hidden, building the channel names the extra to install."""
    monkeypatch.setitem(sys.modules, "apprise", None)
    with pytest.raises(ConfigError, match=r"pip install 'broadcast-crisis\[apprise\]'"):
        AppriseChannel(["json://127.0.0.1:9/x"])
    # A preview still renders: the example is built without parsing its URLs.
    update = Update(title="PlayStation Network is down", body="Investigating.", incident="psn")
    assert "[Apprise" in spec("apprise").example().render(update).preview()


def test_the_command_sends_to_apprise_urls_from_the_environment(
    receiver: AppriseReceiver,
) -> None:
    """BROADCAST_APPRISE_URLS configures it; one POST; the token never in the output."""
    env = {"BROADCAST_APPRISE_URLS": " ".join(receiver.urls)}
    result = run("send", *FLAGS, "We are investigating.", env=env)
    assert result.exit_code == 0, result.output
    assert len(receiver.notifications) == 1
    assert "apprise" in result.output
    assert TOKEN not in result.output


def test_a_500_through_the_command_exits_1_with_the_reason(receiver: AppriseReceiver) -> None:
    """One try (BROADCAST_APPRISE_ATTEMPTS=1) meets a 500: exit 1, the reason, no token."""
    receiver.fail(500)
    env = {"BROADCAST_APPRISE_URLS": receiver.urls[0], "BROADCAST_APPRISE_ATTEMPTS": "1"}
    result = run("send", *FLAGS, "We are investigating.", env=env)
    assert result.exit_code == 1, result.output
    assert "error=500" in result.output
    assert len(receiver.posts) == 1
    assert TOKEN not in result.output


def test_broadcast_toml_takes_a_list_of_urls(receiver: AppriseReceiver, tmp_path: Path) -> None:
    """`type = "apprise"` with `urls = [...]`; the preview lists it and masks the URL."""
    (tmp_path / "broadcast.toml").write_text(
        '[channels.everyone-else]\ntype = "apprise"\n'
        f"urls = [{json.dumps(receiver.urls[0])}, {json.dumps(receiver.urls[0] + '2')}]\n",
        encoding="utf-8",
    )
    result = run("preview", "We are investigating.", env={})
    assert result.exit_code == 0, result.output
    assert "everyone-else" in result.output
    assert "json://127.0.0.1" in result.output
    assert TOKEN not in result.output


def test_preview_with_nothing_configured_lists_the_bridge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`broadcast preview` shows an example Apprise channel with the update's title."""
    monkeypatch.chdir(tmp_path)
    result = run("preview", "--only", "apprise", *FLAGS[:2], "We are investigating.", env={})
    assert result.exit_code == 0, result.output
    assert "apprise" in result.output
    assert "[Investigating] PlayStation Network is down" in result.output
