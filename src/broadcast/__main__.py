"""``python -m broadcast`` and the ``broadcast`` command, when its extra is installed."""

from __future__ import annotations

import sys

MISSING = "broadcast's command needs click and rich: pip install 'broadcast-crisis[cli]'"


def main() -> None:
    """Run the command line; without click or rich, say which extra to install, exit 2."""
    try:
        import click  # noqa: F401, PLC0415 - only to learn whether the extra is installed
        import rich  # noqa: F401, PLC0415
    except ImportError:
        print(MISSING, file=sys.stderr)
        raise SystemExit(2) from None
    from .cli import main as command  # noqa: PLC0415 - needs click

    command()


if __name__ == "__main__":
    main()
