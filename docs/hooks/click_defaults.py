"""mkdocs hook: show click >= 8.3 option defaults correctly in the mkdocs-click tables.

click 8.3 made an option without a default hold the ``Sentinel.UNSET`` object, which
mkdocs-click 0.9 prints as is (mkdocs/mkdocs-click#95, not yet released). The table
row is rendered from a copy of the option whose default is what
``Option.to_info_dict()`` reports: ``None``, or ``False`` for a flag. Remove this hook
once a fixed mkdocs-click is released.
"""

from __future__ import annotations

import copy

import click
from mkdocs_click import _docs

_format_row = _docs._format_table_option_row


def _format_table_option_row(option: click.Option) -> str:
    shown = copy.copy(option)
    shown.default = option.to_info_dict().get("default")
    return _format_row(shown)


_docs._format_table_option_row = _format_table_option_row
