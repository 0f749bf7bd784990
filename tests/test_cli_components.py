"""``--component NAME=STATUS`` on send, preview and dry-run: shown, sent, validated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast.cli import main
from broadcast.testing import StatuspageFake
from broadcast.testing._providers.statuspage import API_KEY, COMPONENTS, PAGE_ID

FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04"]
BODY = "Sign-in and online play are unavailable. We are investigating."


@pytest.fixture
def page() -> Iterator[StatuspageFake]:
    with StatuspageFake() as fake:
        yield fake


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


def _env(page: StatuspageFake, tmp_path: Path) -> dict[str, str]:
    mapping = ", ".join(f"{name}={cid}" for name, cid in COMPONENTS.items())
    return {
        "BROADCAST_STATUSPAGE_API_KEY": API_KEY,
        "BROADCAST_STATUSPAGE_PAGE_ID": PAGE_ID,
        "BROADCAST_STATUSPAGE_COMPONENTS": mapping,
        "BROADCAST_STATUSPAGE_BASE_URL": page.url,
        "BROADCAST_STATUSPAGE_RATE": "1000",
        "BROADCAST_STATUSPAGE_DELIVER_NOTIFICATIONS": "false",
        "BROADCAST_JOURNAL": str(tmp_path / "j.db"),
    }


def test_preview_shows_each_component() -> None:
    """preview --component (repeated) names each component and its status on a channel."""
    result = run(
        "preview", "--only", "slack", *FLAGS, "--component", "Sign-in=major_outage",
        "--component", "Store=degraded_performance", BODY,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Affected: Sign-in (major outage), Store (degraded performance)." in result.output


def test_send_sets_the_statuspage_components(page: StatuspageFake, tmp_path: Path) -> None:
    """send --component through the configured Statuspage channel sets the page's
    components, and a follow-up restores them on the same incident; nobody is notified
    by Statuspage when deliver_notifications is false."""
    env = _env(page, tmp_path)
    first = run("send", *FLAGS, "--component", "Sign-in=major_outage", BODY, env=env)
    assert first.exit_code == 0, first.output
    assert page.component_status("Sign-in") == "major_outage"
    fixed = ["--status", "resolved", "--component", "Sign-in=operational", "Restored."]
    second = run("send", *FLAGS, *fixed, env=env)
    assert second.exit_code == 0, second.output
    assert page.component_status("Sign-in") == "operational"
    (incident,) = page.incidents
    assert [u["status"] for u in incident.updates] == ["resolved", "investigating"]
    assert incident.notified == [False, False]


def test_dry_run_shows_the_components_and_sends_nothing(
    page: StatuspageFake, tmp_path: Path
) -> None:
    """send --dry-run --component shows what Statuspage would set; nothing is written."""
    env = _env(page, tmp_path)
    result = run("send", "--dry-run", *FLAGS, "--component", "Store=partial_outage", BODY, env=env)
    assert result.exit_code == 0, result.output
    assert "Store (partial outage) as 8kbf7d35c070" in result.output
    assert not [r for r in page.requests if r.method in ("POST", "PATCH")]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("Sign-in", "not NAME=STATUS"),
        ("Sign-in=down", "'down' is not a component status"),
        ("=major_outage", "not NAME=STATUS"),
        ("x" * 101 + "=major_outage", "at most 100"),
    ],
)
def test_bad_component_is_refused_naming_the_flag(
    page: StatuspageFake, tmp_path: Path, given: str, said: str
) -> None:
    """A malformed --component exits 2 naming the flag and the fix; nothing is sent."""
    result = run("send", *FLAGS, "--component", given, BODY, env=_env(page, tmp_path))
    assert result.exit_code == 2
    assert "--component" in result.output
    assert said in result.output
    assert not page.requests
