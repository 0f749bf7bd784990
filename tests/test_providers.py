"""The provider fakes are one set, in broadcast.testing, named by each channel's spec."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

import broadcast.testing
from broadcast.channels import BUILTIN
from broadcast.config._registry import spec as builtin_spec
from broadcast.testing import ChaosServer, TwilioEndpoint, XEndpoint
from broadcast.testing._providers import SHAPES, x

ROOT = Path(__file__).parent.parent
TESTING = ROOT / "src" / "broadcast" / "testing"

# What only a provider fake writes: X's snowflake ids, Twilio's SIDs, aiosmtpd's
# controller started by hand, Graph's and Twilio's error bodies.
SHAPE_MARKS = (
    "1_400_000_000_000_000_000",
    '"sid": f"SM',
    "Controller(",
    '"fbtrace_id": ',
    '"more_info": ',
)


PSEUDO = ("status-page",)
"""Built-ins that talk to no provider: the status page writes or PUTs files of its own."""


@pytest.mark.parametrize("name", [n for n in BUILTIN if n not in PSEUDO])
def test_each_built_in_channel_names_its_fake_in_broadcast_testing(name: str) -> None:
    """A built-in channel's stand-in is a public fake of broadcast.testing."""
    standin = builtin_spec(name).standin
    assert standin is not None
    module, _, fake = standin.partition(":")
    assert module == "broadcast.testing"
    assert fake in broadcast.testing.__all__
    assert getattr(importlib.import_module(module), fake) is getattr(broadcast.testing, fake)


def test_no_provider_shape_is_written_outside_the_fakes() -> None:
    """Outside testing/_providers, no module in src or benchmarks writes a provider's answer."""
    found = []
    for folder in ("src", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "_providers" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}: {mark}" for mark in SHAPE_MARKS if mark in text]
    assert found == []


def _imports(path: Path) -> set[str]:
    """The modules of broadcast.testing that ``path`` imports (relative imports resolved)."""
    package = ["broadcast", *path.relative_to(TESTING.parent).with_suffix("").parts][:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            out.add(".".join([*base, *(node.module or "").split(".")]).rstrip("."))
    return {m for m in out if m.startswith("broadcast.testing")}


def test_the_testing_package_has_no_import_cycle() -> None:
    """No module of broadcast.testing imports, at any depth, one that imports it."""
    graph = {}
    for path in TESTING.rglob("*.py"):
        parts = ["broadcast", *path.relative_to(TESTING.parent).with_suffix("").parts]
        name = ".".join(parts[:-1] if path.name == "__init__.py" else parts)
        graph[name] = _imports(path)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = [
        name
        for name in graph
        if name.rsplit(".", 1)[-1] != "testing"  # a package's own __init__ is its parent
        and any(reaches(dep, name, {dep}) for dep in graph[name] if not name.startswith(dep))
    ]
    assert "broadcast.testing._chaos_channels" in graph
    assert "broadcast.testing._chaos" not in graph["broadcast.testing._chaos_channels"]
    assert cycles == []


def test_chaos_server_serves_every_registered_provider_shape() -> None:
    """ChaosServer answers like each provider registered in SHAPES, and refuses any other."""
    assert set(SHAPES) == {
        "x",
        "graph",
        "twilio",
        "webhook",
        "slack",
        "discord",
        "telegram",
        "teams",
        "mastodon",
        "bluesky",
        "apprise",
        "statuspage",
    }
    for name in SHAPES:
        with ChaosServer(name) as server:  # type: ignore[arg-type]
            assert server.provider == name
    with pytest.raises(ValueError, match="provider must be one of x, graph, twilio, webhook"):
        ChaosServer("pigeon")  # type: ignore[arg-type]


async def test_the_chaos_server_and_the_demo_stand_in_answer_x_alike() -> None:
    """ChaosServer("x") and XEndpoint answer a first post with the same body."""
    import httpx  # noqa: PLC0415

    with ChaosServer("x") as chaos, XEndpoint() as endpoint:
        async with httpx.AsyncClient() as client:
            bare = await client.post(f"{chaos.url}/2/tweets", json={"text": "PSN is down"})
        channel = endpoint.channel()
        from broadcast import Broadcaster, Update  # noqa: PLC0415
        from broadcast.testing import fast_retries  # noqa: PLC0415

        async with Broadcaster([channel], retry=fast_retries()) as broadcaster:
            report = await broadcaster.send(
                Update(title="PSN is down", body="Investigating.", incident="psn-2011-04")
            )
    assert bare.status_code == 201
    assert bare.json() == json.loads(x.created(1, "PSN is down").body)
    assert report["twitter"].ids == (x.post_id(1),) == (bare.json()["data"]["id"],)
    assert endpoint.verified()


def test_twilio_fake_refuses_bad_basic_auth_with_twilio_s_error_body() -> None:
    """TwilioEndpoint answers a wrong Basic auth with Twilio's 20003 error body."""
    import httpx  # noqa: PLC0415

    with TwilioEndpoint() as twilio:
        answer = httpx.post(
            f"{twilio._server.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
            data={"To": "+14155550101", "Body": "hi"},
            auth=(twilio.account_sid, "wrong"),
        )
    assert answer.status_code == 401
    assert answer.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
