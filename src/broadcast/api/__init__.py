"""The one-call entry points and what they run, above the engine and configuration.

| module | what it does |
|---|---|
| ``_calls.py`` | ``send``/``asend``, ``preview``, ``check``/``acheck``, ``make_update`` |
| ``_check.py`` | ``check_channels``: every channel's credentials probed at once |
| ``_preview.py`` | what every channel would send, rendered, with no I/O |
| ``_dry_run.py`` | a preview plus every fan-out's recipient list read and counted |

Their public names are in ``broadcast`` (``broadcast.send``, ``broadcast.Preview``,
...); this package imports nothing itself, so the engine below never loads it.
"""
