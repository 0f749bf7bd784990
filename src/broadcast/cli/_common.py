"""What every command shares: options, error handling, exit codes, logging, output.

Exit codes: 0 everything delivered (or already delivered), 1 some channel failed
(or, for ``overdue``, some incident is late), 2 a usage, configuration or input error.
Only click and the standard library are imported here, so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .._config_load import Config

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Settings", "fail", "guarded", "pass_settings"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    """The group's options, handed to every command."""

    config: str | None = None
    env_file: str = ".env"
    verbose: int = 0
    secrets: set[str] = field(default_factory=set)
    """Credential values to mask in anything printed or logged."""

    def load(self, *, require_secrets: bool = True, allow_empty: bool = False) -> Config:
        """The configuration; its credentials join the set masked in output."""
        from .._config_load import load_config  # noqa: PLC0415 - keep --help fast

        config = load_config(
            self.config,
            env_file=self.env_file,
            require_secrets=require_secrets,
            allow_empty=allow_empty,
        )
        self.secrets |= config.secrets
        return config

    def mask(self, text: str) -> str:
        """``text`` with every known credential (and its encoded forms) masked."""
        from .._redact import redact  # noqa: PLC0415

        return redact(mask_values(text, self.secrets))


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret, plain, URL-encoded or base64-encoded, with ``***``."""
    import base64  # noqa: PLC0415
    from urllib.parse import quote  # noqa: PLC0415

    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) < 4:
            continue
        forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
        for form in forms:
            text = text.replace(form, "***")
    return text


def fail(message: str, code: int = EXIT_USAGE) -> click.exceptions.Exit:
    """Print ``error: message`` to stderr; return the exit to raise."""
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(code)


def guarded(command: F) -> F:
    """Turn the library's errors into one clear line and the right exit code.

    Configuration, input and journal errors exit 2 (nothing was sent); a bug exits 1
    with a masked one-line reason (and the masked traceback under ``--debug``).
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError  # noqa: PLC0415

        from .._errors import ConfigError, JournalError  # noqa: PLC0415
        from ._inputs import explain  # noqa: PLC0415

        settings = click.get_current_context().find_object(Settings) or Settings()
        try:
            return command(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `broadcast preview | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_FAILED) from None
        except ValidationError as exc:
            raise fail(settings.mask(explain(exc))) from None
        except (ConfigError, JournalError) as exc:
            raise fail(settings.mask(str(exc))) from None
        except Exception as exc:  # noqa: BLE001 - never a raw traceback with secrets in it
            if settings.verbose > 1:
                click.echo(settings.mask("".join(traceback.format_exception(exc))), err=True)
            raise fail(settings.mask(f"{type(exc).__name__}: {exc}"), EXIT_FAILED) from None

    return run  # type: ignore[return-value]  # same signature as command


class _Masking(logging.Formatter):
    def __init__(self, settings: Settings) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self._settings = settings

    def format(self, record: logging.LogRecord) -> str:
        return self._settings.mask(super().format(record))

    def formatException(self, ei: Any) -> str:
        return self._settings.mask(super().formatException(ei))


TRANSPORTS = ("httpx", "httpcore", "aiohttp", "aiosmtplib", "oauthlib")
"""Libraries whose own logs ``--debug`` shows too (every request, every SMTP step)."""


def setup_logging(settings: Settings) -> None:
    """Logs on stderr, masked: warnings; ``-v`` info; ``--debug`` (``-vv``) debug.

    ``--debug`` shows the transport libraries' own debug logs as well.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(settings.verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Masking(settings))
    names = ("broadcast", *TRANSPORTS) if level == logging.DEBUG else ("broadcast",)
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
