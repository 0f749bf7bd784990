"""``python -m broadcast``: the ``broadcast`` command."""

from .cli import main

main()
