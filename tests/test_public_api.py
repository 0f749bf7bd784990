from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

import broadcast
import broadcast.channels
from broadcast import ConfigError
from broadcast.channels import available, load
from broadcast.testing import RecordingChannel


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and names every public attribute the package exports."""
    assert broadcast.__all__ == sorted(broadcast.__all__)
    public = {n for n in dir(broadcast) if not n.startswith("_")} - broadcast._SUBPACKAGES
    assert public <= set(broadcast.__all__)
    for name in broadcast.__all__:
        assert hasattr(broadcast, name), name
    # The lazy loader's table names exactly the public names (less the eager version).
    assert set(broadcast._WHERE) == set(broadcast.__all__) - {"__version__"}


def test_import_is_lazy_and_fast() -> None:
    """import broadcast loads none of its dependencies until a name is used."""
    code = (
        "import sys, broadcast\n"
        "assert not {'httpx', 'pydantic', 'tenacity'} & set(sys.modules), sys.modules\n"
        "assert broadcast.Update.__module__ == 'broadcast._update'\n"
        "assert 'pydantic' in sys.modules\n"
        "assert broadcast.channels.Webhook.__name__ == 'Webhook'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own code


def test_version() -> None:
    """The package has a version string."""
    assert broadcast.__version__.count(".") == 2


def test_import_does_not_load_channels() -> None:
    """import broadcast loads no channel module; the first attribute access does."""
    code = (
        "import sys, broadcast\n"
        "assert 'broadcast.channels._webhook' not in sys.modules\n"
        "from broadcast.channels import Webhook\n"
        "assert 'broadcast.channels._webhook' in sys.modules\n"
        "assert 'aiosmtplib' not in sys.modules\n"
        "assert 'aiohttp' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own code


def test_builtin_channels_are_registered() -> None:
    """Built-in channel names resolve to their classes."""
    assert "webhook" in available()
    assert load("webhook") is broadcast.channels.Webhook


def test_unknown_channel_name_lists_the_known_ones() -> None:
    """An unknown channel name is a ConfigError listing what exists and the entry-point group."""
    with pytest.raises(ConfigError, match=r"unknown channel 'pigeon'; available: webhook"):
        load("pigeon")


def test_unknown_attribute() -> None:
    """broadcast.channels raises AttributeError for names it does not have."""
    with pytest.raises(AttributeError, match="Pigeon"):
        broadcast.channels.Pigeon  # noqa: B018


def test_third_party_channel_via_entry_point(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A channel installed with a broadcast.channels entry point is found by name."""
    dist = tmp_path / "broadcast_pager-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broadcast-pager\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[broadcast.channels]\npager = broadcast.testing:RecordingChannel\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load("pager") is RecordingChannel
    assert available()[-1] == "pager"
    assert available()[0] == "webhook"


def test_py_typed_ships() -> None:
    """The package is marked as typed."""
    assert files("broadcast").joinpath("py.typed").is_file()
