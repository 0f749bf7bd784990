from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from broadcast.testing import LoopbackServer

from .conftest import SECRET

EXAMPLES = Path(__file__).parent.parent / "examples"


def _run(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    return subprocess.run(  # noqa: S603 - our own example scripts
        [sys.executable, str(EXAMPLES / script)],
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
