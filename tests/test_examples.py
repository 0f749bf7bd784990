from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml
from fastapi import BackgroundTasks

from broadcast.demo import GraphEndpoint, TwilioEndpoint, XEndpoint
from broadcast.testing import BlueskyFake, LoopbackServer, MastodonFake

from .conftest import SECRET

EXAMPLES = Path(__file__).parent.parent / "examples"


def _run(
    script: str, env: dict[str, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    return subprocess.run(  # noqa: S603 - our own example scripts
        [sys.executable, str(EXAMPLES / script), *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ops_script_sends_from_environment(server: LoopbackServer, tmp_path: Path) -> None:
    """examples/ops_script.py delivers through the env-configured webhook and exits 0."""
    env = {"BROADCAST_WEBHOOK_URL": server.url, "BROADCAST_WEBHOOK_SECRET": SECRET}
    result = _run("ops_script.py", env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "webhook  delivered" in result.stdout
    assert len(server.requests) == 1


def test_ops_script_fails_loudly(server: LoopbackServer, tmp_path: Path) -> None:
    """examples/ops_script.py exits 1 when a channel fails permanently."""
    server.script(401)
    result = _run("ops_script.py", {"BROADCAST_WEBHOOK_URL": server.url}, tmp_path)
    assert result.returncode == 1
    assert "credentials rejected" in result.stdout


def test_backend_example_prints_json_report(server: LoopbackServer, tmp_path: Path) -> None:
    """examples/backend_async.py awaits the Broadcaster and prints a JSON Report."""
    env = {"BLOG_HOOK_URL": server.url, "BLOG_HOOK_SECRET": SECRET}
    result = _run("backend_async.py", env, tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["receipts"][0]["outcome"] == "delivered"
    assert json.loads(server.requests[0].body)["data"]["incident"] == "psn-2011-04"


def test_psn_timeline_threads_three_updates(tmp_path: Path) -> None:
    """examples/psn_timeline.py sends the three updates in order, threaded, and exits 0."""
    result = _run("psn_timeline.py", {}, tmp_path, "--no-wait")
    assert result.returncode == 0, result.stdout + result.stderr
    headlines = [line for line in result.stdout.splitlines() if " UTC, " in line]
    assert headlines == [
        "09:00 UTC, investigating: PlayStation Network is down; we are investigating",
        "10:00 UTC, identified: An intrusion caused the outage; personal information may be "
        "exposed",
        "14:00 UTC, resolved: PlayStation Network is back; please change your password",
    ]
    reports = result.stdout.split("Report for incident psn-2011-04, update ")[1:]
    assert len(reports) == 3
    assert all("-> 12 delivered, 1 partial" in report for report in reports)
    rows = [
        {line.split()[0]: line.split() for line in report.splitlines()[3:8]} for report in reports
    ]
    assert [r["webhook"][2] for r in rows] == ["2", "1", "1"]  # the forced 503, retried once
    # Facebook: the incident's post, then comments under it (ids start with its own part).
    post = rows[0]["facebook"][4]
    assert post.startswith("546349135390552_")
    assert all(r["facebook"][4].startswith(post.split("_")[1] + "_") for r in rows[1:])
    # X: every update continues the same numbered run of posts.
    x_ids = [int(r["twitter"][4].rstrip(",")) for r in rows]
    assert x_ids[0] == 1400000000000000001
    assert x_ids[0] < x_ids[1] < x_ids[2]
    assert "webhook: attempt 1 failed" in result.stderr
    assert list(tmp_path.iterdir()) == []  # the journal was a scratch file
    secrets = [
        XEndpoint.consumer_secret,
        XEndpoint.access_token_secret,
        GraphEndpoint.token,
        GraphEndpoint.app_secret,
        TwilioEndpoint.auth_token,
        MastodonFake.token,
        BlueskyFake.password,
        "whsec_",
    ]
    assert not [s for s in secrets if s in result.stdout + result.stderr]


# examples/fastapi_backend.py


def _load_example(name: str) -> ModuleType:
    """A fresh copy of examples/<name>.py, imported from its path (examples/ is no package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def backend(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example app, its only channel the webhook on the loopback server."""
    for name in list(os.environ):
        if name.startswith("BROADCAST_") and name != "BROADCAST_JOURNAL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("BROADCAST_WEBHOOK_URL", server.url)
    monkeypatch.setenv("BROADCAST_WEBHOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)  # no .env or broadcast.toml from where pytest runs
    return _load_example("fastapi_backend")


@pytest.fixture
async def client(backend: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGITransport, not fastapi.testclient.TestClient: starlette 1.x's TestClient
    # warns (StarletteDeprecationWarning) on import unless httpx2 is installed. Like the
    # TestClient, it returns a response only once the app is done, background tasks too.
    transport = httpx.ASGITransport(app=backend.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backend.test") as c:
        yield c


UPDATES = "/incidents/psn-2011-04/updates"
UPDATE = {
    "title": "PlayStation Network is down",
    "body": "Sign-in and the Store are unavailable. We are investigating.",
    "severity": "critical",
    "author": "Head of Network Operations",
    "url": "https://status.example.com/psn",
}


async def test_fastapi_backend_broadcasts_in_the_background(
    client: httpx.AsyncClient, server: LoopbackServer
) -> None:
    """POST answers 202 with the key and link; the webhook gets one POST; GET shows the Report."""
    response = await client.post(UPDATES, json={**UPDATE, "next_update_in_minutes": 60})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["report"] == f"/broadcasts/{accepted['key']}"
    assert [r.method for r in server.requests] == ["POST"]
    data = json.loads(server.requests[0].body)["data"]
    assert (data["title"], data["incident"]) == (UPDATE["title"], "psn-2011-04")
    assert (data["severity"], data["key"]) == ("critical", accepted["key"])
    assert data["next_update_at"] is not None
    assert "webhook-signature" in server.requests[0].headers
    report = (await client.get(accepted["report"])).json()
    assert report["update_key"] == accepted["key"]
    assert report["ok"] is True
    assert [(r["channel"], r["outcome"]) for r in report["receipts"]] == [("webhook", "delivered")]


async def test_fastapi_backend_says_sending_until_done(
    backend: ModuleType, client: httpx.AsyncClient, server: LoopbackServer
) -> None:
    """GET /broadcasts/{key} answers {"state": "sending"} until the background task ends."""
    tasks = BackgroundTasks()
    accepted = await backend.post_update("psn-2011-04", backend.UpdateIn(**UPDATE), tasks)
    assert (await client.get(accepted["report"])).json() == {"state": "sending"}
    assert server.requests == []
    await tasks()
    assert (await client.get(accepted["report"])).json()["ok"] is True
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("path", "changes", "loc"),
    [
        (UPDATES, {"title": "PlayStation\x1b[2J Network is down"}, ["body", "title"]),
        (UPDATES, {"url": "javascript:alert(1)"}, ["body", "url"]),
        (UPDATES, {"author": "Head of\nNetwork Operations"}, ["body", "author"]),
        (UPDATES, {"next_update_in_minutes": 0}, ["body", "next_update_in_minutes"]),
        (UPDATES, {"body": None}, ["body", "body"]),
        ("/incidents/not an id!/updates", {}, ["path", "incident"]),
    ],
)
async def test_fastapi_backend_rejects_bad_input_with_422(
    client: httpx.AsyncClient,
    server: LoopbackServer,
    path: str,
    changes: dict[str, Any],
    loc: list[str],
) -> None:
    """Bad input (request model or broadcast.Update) is a 422 naming the field; none is sent."""
    body = {k: v for k, v in {**UPDATE, **changes}.items() if v is not None}
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [loc]
    assert server.requests == []


async def test_fastapi_backend_sends_again_only_after_a_failure(
    client: httpx.AsyncClient, server: LoopbackServer
) -> None:
    """The same update posted again is retried after a failure and not sent once delivered."""
    server.script(410, 200)
    key = (await client.post(UPDATES, json=UPDATE)).json()["key"]
    failed = (await client.get(f"/broadcasts/{key}")).json()
    assert (failed["ok"], failed["receipts"][0]["outcome"]) == (False, "failed")
    assert (await client.post(UPDATES, json=UPDATE)).json()["key"] == key
    delivered = (await client.get(f"/broadcasts/{key}")).json()
    assert (delivered["ok"], delivered["receipts"][0]["outcome"]) == (True, "delivered")
    assert (await client.post(UPDATES, json=UPDATE)).status_code == 202
    assert (await client.get(f"/broadcasts/{key}")).json() == delivered  # not sent again
    assert len(server.requests) == 2


async def test_fastapi_backend_reports_a_configuration_error(
    client: httpx.AsyncClient, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no channel configured the broadcast ends in state "error" saying what to set."""
    monkeypatch.delenv("BROADCAST_WEBHOOK_URL")
    monkeypatch.delenv("BROADCAST_WEBHOOK_SECRET")
    key = (await client.post(UPDATES, json=UPDATE)).json()["key"]
    report = (await client.get(f"/broadcasts/{key}")).json()
    assert (report["state"], report["ok"]) == ("error", False)
    assert "no channel is configured" in report["error"]
    assert server.requests == []


async def test_fastapi_backend_unknown_key_is_404(client: httpx.AsyncClient) -> None:
    """GET /broadcasts/{key} for a key this process never saw is a 404."""
    assert (await client.get("/broadcasts/0123456789abcdef")).status_code == 404


# examples/github_actions.yml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _workflow() -> dict[Any, Any]:
    workflow = yaml.safe_load((EXAMPLES / "github_actions.yml").read_text(encoding="utf-8"))
    assert isinstance(workflow, dict)
    return workflow


def _steps() -> dict[str, dict[str, Any]]:
    """The announce job's steps by name (or by what they use)."""
    steps = _workflow()["jobs"]["announce"]["steps"]
    return {step.get("name") or step["uses"]: step for step in steps}


def _env(step: Mapping[str, Any], expressions: Mapping[str, str]) -> dict[str, str]:
    """What GitHub would put in the step's environment: workflow, job and step env:.

    Each ${{ expression }} is replaced by its test value; an expression this test does
    not know fails it, so a new secret or input cannot slip by untested.
    """
    workflow = _workflow()
    env: dict[str, str] = {
        **workflow.get("env", {}),
        **workflow["jobs"]["announce"].get("env", {}),
        **step.get("env", {}),
    }

    def value(match: re.Match[str]) -> str:
        if match.group(1) not in expressions:
            pytest.fail(f"no test value for ${{{{ {match.group(1)} }}}} in {step['name']!r}")
        return expressions[match.group(1)]

    return {name: _EXPRESSION.sub(value, str(text)) for name, text in env.items()}


def _run_step(step: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> int:
    """Run the step's script as GitHub's `shell: bash` does, with the venv's broadcast."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(  # noqa: S603 - our own example's script
        ["bash", "-e", "-o", "pipefail", "-c", step["run"]],  # noqa: S607 - bash from PATH
        env={**inherited, **env, "PATH": path},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    print(result.stdout, result.stderr)  # shown when an assertion fails
    return result.returncode


def _announce(server: LoopbackServer, cwd: Path) -> int:
    steps = _steps()
    assert _run_step(steps["Describe the channels"], {}, cwd) == 0
    announce = steps["Announce the outage"]
    expressions = {
        "steps.health.outputs.incident || format('deploy-{0}', github.run_id)": "deploy-4242",
        "secrets.STATUS_PAGE_HOOK_URL": server.url,
        "secrets.STATUS_PAGE_HOOK_SECRET": SECRET,
    }
    return _run_step(announce, _env(announce, expressions), cwd)


def test_github_actions_workflow_shape() -> None:
    """The workflow runs on a failed Deploy and on a schedule, and announces with --yes."""
    workflow = _workflow()
    on = workflow[True]  # YAML 1.1, which PyYAML reads, takes the key `on` for true
    assert on["workflow_run"]["workflows"] == ["Deploy"]
    assert on["workflow_run"]["types"] == ["completed"]
    assert on["schedule"][0]["cron"]
    job = workflow["jobs"]["announce"]
    assert "github.event.workflow_run.conclusion == 'failure'" in job["if"]
    steps = _steps()
    command = steps["Announce the outage"]["run"]
    assert "broadcast send --yes --json" in command
    assert "--to everyone" in command
    assert command.rstrip().endswith("> report.json")
    assert steps["actions/setup-python@v5"]
    assert steps["Keep the Report"]["with"]["path"] == "report.json"
    assert "!cancelled()" in steps["Keep the Report"]["if"]
    assert steps["Fail if a promised update is late"]["run"].startswith("broadcast overdue")
    assert "schedule" in steps["Fail if a promised update is late"]["if"]
    assert "schedule" in steps["Check health"]["if"]
    assert "curl --fail" in steps["Check health"]["run"]
    # GitHub's script-injection guidance: expressions in env: values, never in scripts.
    assert not [name for name, step in steps.items() if "${{" in step.get("run", "")]


def test_github_actions_announce_step_delivers(server: LoopbackServer, tmp_path: Path) -> None:
    """The announce step's script sends through broadcast.toml's webhook and writes report.json."""
    assert _announce(server, tmp_path) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert (report["ok"], report["incident"]) == (True, "deploy-4242")
    assert [(r["channel"], r["outcome"]) for r in report["receipts"]] == [
        ("status-page", "delivered")
    ]
    assert [r.method for r in server.requests] == ["POST"]
    data = json.loads(server.requests[0].body)["data"]
    assert data["title"] == "Some of our services are failing"
    assert (data["incident"], data["author"], data["severity"]) == (
        "deploy-4242",
        "On-call lead",
        "major",
    )
    assert data["next_update_at"] is not None
    assert "webhook-signature" in server.requests[0].headers
    assert (tmp_path / ".broadcast" / "broadcast.db").is_file()  # the path the cache keeps
    assert SECRET not in (tmp_path / "report.json").read_text(encoding="utf-8")


def test_github_actions_announce_step_fails_the_job(server: LoopbackServer, tmp_path: Path) -> None:
    """When a channel fails (HTTP 410) the script exits 1, and report.json says why."""
    server.script(410)
    assert _announce(server, tmp_path) == 1
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["ok"] is False
    assert report["receipts"][0]["outcome"] == "failed"
    assert "410" in report["receipts"][0]["reason"]
    assert len(server.requests) == 1
