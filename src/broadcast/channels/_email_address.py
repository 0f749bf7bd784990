"""Email addresses as the email channel sends to them: checked, normalised, ASCII."""

from __future__ import annotations

import functools
import re
from typing import Literal

from email_validator import EmailNotValidError, validate_email

__all__ = ["MAX_POOL_SIZE", "TLS", "normalise_address"]

MAX_POOL_SIZE = 100
"""Most SMTP connections at once ``BROADCAST_SMTP_POOL_SIZE`` may ask for."""

TLS = Literal["starttls", "implicit", "none"]

_PLAIN = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """A checked, normalised domain; cached, since a list has few distinct domains."""
    return _full_check(f"postmaster@{domain}").rpartition("@")[2]


def normalise_address(address: str) -> str:
    """The canonical ASCII form of an email address; ValueError saying why if invalid.

    Plain ASCII addresses take a fast path (a strict dot-atom match plus a cached
    domain check), giving what email-validator gives; anything else goes through it.
    """
    plain = _PLAIN.fullmatch(address)
    if plain and len(address) <= 254 and len(plain["local"]) <= 64:
        return f"{plain['local']}@{_domain(plain['domain'])}"
    return _full_check(address)


def _full_check(address: str) -> str:
    try:
        checked = validate_email(
            address, check_deliverability=False, allow_smtputf8=False, allow_display_name=False
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.ascii_email or checked.normalized
