"""Mastodon and Bluesky through the command: listed, previewed, checked, sent, refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast.cli import main
from broadcast.testing import BlueskyFake, MastodonFake

FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04"]


@pytest.fixture
def fakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MastodonFake, BlueskyFake]]:
    monkeypatch.chdir(tmp_path)
    with MastodonFake() as mastodon, BlueskyFake() as bluesky:
        yield mastodon, bluesky


def _env(mastodon: MastodonFake, bluesky: BlueskyFake) -> dict[str, str]:
    return {
        "BROADCAST_MASTODON_INSTANCE": mastodon.url,
        "BROADCAST_MASTODON_ACCESS_TOKEN": mastodon.token,
        "BROADCAST_BLUESKY_HANDLE": bluesky.handle,
        "BROADCAST_BLUESKY_APP_PASSWORD": bluesky.password,
        "BROADCAST_BLUESKY_SERVICE": bluesky.url,
    }


def run(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_nothing_configured_names_both_and_preview_shows_both(tmp_path: Path) -> None:
    """The empty-config hint lists their variables; preview counts as each one counts."""
    (tmp_path / ".env").write_text("")
    empty = run("--env-file", str(tmp_path / ".env"), "check", env={})
    assert empty.exit_code == 2
    assert "BROADCAST_MASTODON_INSTANCE (Mastodon)" in empty.output
    assert "BROADCAST_BLUESKY_HANDLE (Bluesky)" in empty.output
    preview = run("preview", *FLAGS, "We are investigating.", env={})
    assert preview.exit_code == 0, preview.output
    assert "=== mastodon (Mastodon) ===\n--- status 1/1 (" in preview.output
    assert "/300 graphemes, " in preview.output
    assert "/3000 bytes, link facets: 0) ---" in preview.output


def test_check_probes_both_without_posting(fakes: tuple[MastodonFake, BlueskyFake]) -> None:
    """`broadcast check` calls verify_credentials and getSession; posts nothing, shows no secret."""
    mastodon, bluesky = fakes
    result = run("check", env=_env(mastodon, bluesky))
    assert result.exit_code == 0, result.output
    assert "authenticated as @status; statuses up to 500 characters" in result.output
    assert f"authenticated as @{bluesky.handle}" in result.output
    assert mastodon.token not in result.output
    assert bluesky.password not in result.output
    assert (mastodon.statuses, bluesky.posts) == ([], [])


def test_send_posts_to_both_and_a_resend_skips(fakes: tuple[MastodonFake, BlueskyFake]) -> None:
    """`broadcast send` posts once to each; the same send again is skipped by the journal."""
    mastodon, bluesky = fakes
    for _ in range(2):
        result = run("send", *FLAGS, "We are investigating.", env=_env(mastodon, bluesky))
        assert result.exit_code == 0, result.output
    assert (len(mastodon.statuses), len(bluesky.posts)) == (1, 1)
    assert "skipped" in result.output


def test_a_bad_visibility_is_refused_naming_the_variable(
    fakes: tuple[MastodonFake, BlueskyFake],
) -> None:
    """BROADCAST_MASTODON_VISIBILITY=everyone: exit 2, the variable named, nothing sent."""
    mastodon, bluesky = fakes
    env = _env(mastodon, bluesky) | {"BROADCAST_MASTODON_VISIBILITY": "everyone"}
    result = run("send", *FLAGS, "We are investigating.", env=env)
    assert result.exit_code == 2
    assert "BROADCAST_MASTODON_VISIBILITY" in result.output
    assert (mastodon.statuses, bluesky.posts) == ([], [])
