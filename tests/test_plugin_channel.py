"""A third-party channel installed from a real dist-info is configured like a built-in.

The plugin below is written to a directory with its ``acme-0.1.dist-info`` (METADATA and
entry_points.txt), put on ``PYTHONPATH``, and driven through ``python -m broadcast`` in
a subprocess: nothing is patched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast.testing import LoopbackServer

TOKEN = "acme-tok-7d41c9e2b88f0a13"

PLUGIN = '''
"""acme: a plugin channel that posts to an HTTP endpoint, with its token in the URL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr

from broadcast.channels import Delivery
from broadcast.channels import ChannelSpec, setting
from broadcast.http import ClientSlot, get, post


@dataclass(frozen=True)
class AcmeMessage:
    text: str

    def preview(self) -> str:
        return self.text


class Acme:
    def __init__(self, url: str, token: str, *, name: str = "acme") -> None:
        self.name = name
        self._url = url
        self._token = token
        self._http = ClientSlot()

    def render(self, update: Any) -> AcmeMessage:
        return AcmeMessage(f"ACME [{update.status}] {update.title}")

    def use_http_client(self, client: Any) -> None:
        self._http.share(client)

    async def deliver(self, rendered: AcmeMessage) -> Delivery:
        body = json.dumps({"text": rendered.text}).encode()
        answer = await post(self._http.get(), f"{self._url}/post?token={self._token}", content=body)
        return Delivery(ids=(answer.headers.get("x-acme-id", "?"),))

    async def check(self) -> str:
        await get(self._http.get(), f"{self._url}/me", params={"token": self._token})
        return "acme token accepted"

    async def aclose(self) -> None:
        await self._http.aclose()


class AcmeSettings(BaseModel):
    url: str = setting(doc="Enables the Acme channel.")
    token: SecretStr = setting(doc="Acme API token.")


SPEC = ChannelSpec(
    name="acme",
    channel=Acme,
    settings=AcmeSettings,
    example=lambda: Acme("https://acme.example", "example-only"),
)
'''

FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04", "Body."]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site-packages holding the plugin and its dist-info, as pip would leave them."""
    root = tmp_path / "site"
    (root / "acme_broadcast").mkdir(parents=True)
    (root / "acme_broadcast" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    dist = root / "acme-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[broadcast.channels]\nacme = acme_broadcast:SPEC\n")
    return root


@pytest.fixture
def acme() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def broadcast(site: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m broadcast ARGS`` with the plugin's site on PYTHONPATH."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    path = os.pathsep.join(p for p in (str(site), inherited.get("PYTHONPATH")) if p)
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "broadcast", *args],
        cwd=cwd,
        env={**inherited, "PYTHONPATH": path, "BROADCAST_JOURNAL": "off", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_toml(where: Path, server: LoopbackServer) -> None:
    (where / "broadcast.toml").write_text(
        f'[channels.acme-main]\ntype = "acme"\nurl = "{server.url}"\ntoken = "${{ACME_TOKEN}}"\n'
    )


def test_plugin_from_broadcast_toml_is_sent_checked_previewed_and_masked(
    site: Path, tmp_path: Path, acme: LoopbackServer
) -> None:
    """type = "acme" in broadcast.toml: send --only, check and preview work; --debug masks it."""
    write_toml(tmp_path, acme)
    sent = broadcast(
        site, tmp_path, "--debug", "send", "--only", "acme-main", "--json", *FLAGS,
        ACME_TOKEN=TOKEN,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert [r["outcome"] for r in json.loads(sent.stdout)["receipts"]] == ["delivered"]
    [request] = acme.requests
    assert request.path == f"/post?token={TOKEN}"
    assert json.loads(request.body)["text"] == "ACME [investigating] PlayStation Network is down"
    assert "HTTP Request: POST" in sent.stderr  # httpx's own log of the URL, shown by --debug
    assert TOKEN not in sent.stderr + sent.stdout

    checked = broadcast(site, tmp_path, "--debug", "check", "--only", "acme-main", ACME_TOKEN=TOKEN)
    assert checked.returncode == 0, checked.stderr
    assert "ok   acme-main  acme token accepted" in checked.stdout
    assert acme.requests[-1].path.startswith("/me?token=")
    assert TOKEN not in checked.stderr + checked.stdout

    previewed = broadcast(site, tmp_path, "preview", *FLAGS, ACME_TOKEN=TOKEN)
    assert previewed.returncode == 0, previewed.stderr
    assert "ACME [investigating] PlayStation Network is down" in previewed.stdout


def test_plugin_from_broadcast_acme_variables(
    site: Path, tmp_path: Path, acme: LoopbackServer
) -> None:
    """BROADCAST_ACME_URL and BROADCAST_ACME_TOKEN configure the plugin, named acme."""
    env = {"BROADCAST_ACME_URL": acme.url, "BROADCAST_ACME_TOKEN": TOKEN}
    sent = broadcast(site, tmp_path, "--debug", "send", "--only", "acme", *FLAGS, **env)
    assert sent.returncode == 0, sent.stderr
    assert "acme" in sent.stdout
    assert "delivered" in sent.stdout
    assert len(acme.requests) == 1
    assert TOKEN not in sent.stderr + sent.stdout


def test_plugin_settings_errors_name_the_variable_or_key(site: Path, tmp_path: Path) -> None:
    """A missing plugin setting is a clear error naming the variable (or the file's key)."""
    missing = broadcast(site, tmp_path, "check", BROADCAST_ACME_URL="http://127.0.0.1:9")
    assert missing.returncode == 2
    assert "BROADCAST_ACME_TOKEN is required" in missing.stderr
    (tmp_path / "broadcast.toml").write_text('[channels.a]\ntype = "acme"\nurl = "http://x"\n')
    in_file = broadcast(site, tmp_path, "check")
    assert in_file.returncode == 2
    assert "[channels.a]: token is required" in in_file.stderr


def test_plugin_preview_without_configuration_shows_its_example(site: Path, tmp_path: Path) -> None:
    """With nothing configured, preview renders an example of each type, the plugin's too."""
    previewed = broadcast(site, tmp_path, "preview", *FLAGS)
    assert previewed.returncode == 0, previewed.stderr
    assert "ACME [investigating] PlayStation Network is down" in previewed.stdout
    assert "webhook" in previewed.stdout
