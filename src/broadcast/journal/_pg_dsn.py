"""PostgreSQL journal locations: which settings name one, and how to show them.

A ``BROADCAST_JOURNAL`` (or ``[settings] journal``) that starts with ``postgresql://``
or ``postgres://`` is a PostgresJournal; anything else is an SQLite file. The password
in it is a secret: ``masked`` is the only form that is printed, logged or raised.
Nothing here imports psycopg, so ``import broadcast`` and ``--help`` stay light.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .._redact import MASK, register_secret

__all__ = ["is_postgres", "masked", "password_of"]

_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(setting: str | None) -> bool:
    """Whether a journal setting names a PostgreSQL database."""
    return setting is not None and setting.strip().lower().startswith(_SCHEMES)


def password_of(dsn: str) -> str | None:
    """The password in ``dsn`` (in the URL or as ``?password=``), if any."""
    parts = urlsplit(dsn)
    if parts.password:
        return unquote(parts.password)
    return dict(parse_qsl(parts.query)).get("password")


def masked(dsn: str) -> str:
    """``dsn`` with its password as ``***``: the form shown in every output."""
    register_secret(password_of(dsn))
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{MASK}@{host}"
    query = parts.query
    if "password" in dict(parse_qsl(query)):
        query = urlencode(
            [(k, MASK if k == "password" else v) for k, v in parse_qsl(query)], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
