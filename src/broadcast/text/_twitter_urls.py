"""The links X counts as 23: twitter-text 3.1.0's ``extractUrlsWithIndices``, step for step.

The reference is the official JavaScript implementation (npm ``twitter-text`` 3.1.0), and
this module follows it rather than a reading of it, because the details decide the count:

- One pattern finds candidates: a preceding character (not a letter, digit, ``@``, ``$``,
  ``#`` or invalid character), an optional ``http://`` or ``https://``, a domain, an
  optional ``:port``, ``/path`` and ``?query``. The domain is labels of any characters but
  punctuation, spaces, invalid and directional characters: underscores only in
  subdomains, no label starting or ending with ``-``, and a top-level domain from
  ``_tlds.py`` (or ``xn--`` punycode).
- A candidate with a protocol is a link as found (a ``t.co`` link ends after its slug, and
  is none with a slug over 40 characters). A candidate without one is not a link after
  ``-``, ``_``, ``.`` or ``/``; otherwise the ASCII (and accented Latin) domains inside it
  are the links, so ``a_b.example.com`` links ``b.example.com`` and ``あい.co.uk`` links
  ``co.uk``. Only when a path follows does the last of them take the port, path and query
  with it: ``example.com:8080`` is ``example.com`` and ``:8080``, 23 + 5.
- Every label must be 1 to 63 characters once punycode-encoded, and the protocol
  (``https://`` when none is written) and the link together at most 4,096 UTF-16 units.

JavaScript runs these patterns case-insensitively, and its ``i`` flag never lets a
non-ASCII character stand for an ASCII one, where Python's ``re.IGNORECASE`` lets the
dotless i (U+0131), the dotted capital I (U+0130), the long s (U+017F) and the Kelvin sign
(U+212A) match ``i``, ``s`` and ``k``. So no pattern here is case-insensitive: ASCII
letters are written in both cases, and the few non-ASCII letters that JavaScript folds
into the accented-Latin and Cyrillic ranges, or into a top-level domain, are listed.

Everything works on UTF-16 code units, as JavaScript does (see ``_twitter.units``):
indices, lengths and the characters the patterns see are JavaScript's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from ._tlds import CASE_VARIANTS, TLDS

__all__ = ["Url", "urls"]

_MAX_URL_LENGTH = 4096
_MAX_LABEL_LENGTH = 63
_MAX_TCO_SLUG = 40

_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCT = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
# Accented Latin, and what JavaScript's i flag folds into it (U+0260 into U+0193, ...).
_LATIN = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    r"\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
    r"\u0260\u0269\u0275\u0280\u0283\u0288\u028a\u028c\u0292\u0399\u03b9\u1fbe\u2c65\u2c66"
    r"\u2c7e\u2c7f\ua7dc"
)
_CYRILLIC = r"\u0400-\u04ff\u1c80-\u1c87"  # and the letters the i flag folds into it

_DOMAIN_CHAR = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
_PATH = rf"[a-zA-Z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN}]"
_PARENS = rf"\((?:{_PATH}+|{_PATH}*\({_PATH}+\){_PATH}*)\)"
_PATH_END = rf"[+\-a-zA-Z{_CYRILLIC}0-9=_#/{_LATIN}]"
# twitter-text's validUrlPath, whose ending-character alternation is spliced in without a
# group: a step of a path is characters ending in an ending character, or a bare (...).
_PATH_STEP = rf"(?:{_PATH}*(?:{_PARENS}{_PATH}*)*{_PATH_END}|{_PARENS}|@{_PATH}+/)"
_QUERY = r"\?[a-zA-Z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-zA-Z0-9\-_&=#/]"

_Trie = dict[str, "_Trie"]


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, longest first, in either case: a trie."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def char_class(char: str) -> str:
        variants = char + (char.upper() if char.isascii() else CASE_VARIANTS.get(char, ""))
        return re.escape(char) if len(variants) == 1 else f"[{re.escape(variants)}]"

    def emit(node: _Trie) -> str:
        branches = [char_class(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        if len(branches) > 1 or ("" in node and len(branches[0]) > 1):
            group = "(?:" + "|".join(branches) + ")"
        else:
            group = branches[0]
        return group + "?" if "" in node else group

    return emit(root)


_TLD = rf"(?:{_trie(TLDS)})(?=[^0-9a-zA-Z@+\-]|$)"
_PUNYCODE = r"[xX][nN]--[\-0-9a-zA-Z]+"
_SUBDOMAIN = rf"(?:(?:{_DOMAIN_CHAR}(?:[_\-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\.)"
_DOMAIN_NAME = rf"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\.)"
_CANDIDATE = re.compile(
    rf"""
    (?P<before>[^A-Za-z0-9@\uff20$\#\uff03{_INVALID}]|[{_DIRECTIONAL}]|^)
    (?P<url>
        (?P<protocol>[hH][tT][tT][pP][sS]?://)?
        (?P<domain>{_SUBDOMAIN}*{_DOMAIN_NAME}(?:{_TLD}|{_PUNYCODE}))
        (?::[0-9]+)?
        (?P<path>/{_PATH_STEP}*)?
        (?:{_QUERY})?
    )
    """,
    re.VERBOSE,
)
# Every domain ends in a label's last character, a dot and a top-level domain.
_TLD_AFTER_DOT = re.compile(rf"{_DOMAIN_CHAR}\.(?:{_TLD}|[xX][nN]--)")
_ASCII_DOMAIN = re.compile(rf"(?:[\-a-zA-Z0-9{_LATIN}]+\.)+(?:{_TLD}|{_PUNYCODE})")
_INVALID_BEFORE_BARE = re.compile(r"[\-_./]\Z")
_TCO = re.compile(rf"[hH][tT][tT][pP][sS]?://[tT]\.[cC][oO]/([a-zA-Z0-9]+)(?:{_QUERY})?")
_LABEL_SEPARATOR = re.compile("[.\u3002\uff0e\uff61]")
_BASIC = re.compile("[\x20-\x7e]*")
# A link needs a dot; none spans a space, save the one before it.
_SPACE_RUN = re.compile(f"[{_SPACES}]+")


class Url(NamedTuple):
    """One link, in UTF-16 code units."""

    start: int
    end: int
    length: int
    """The length of the link's text as twitter-text reports it, which its weighted
    length skips. It is ``end - start`` except when a bare domain with non-ASCII labels
    after its last ASCII domain takes a path along (``a.com.みんな/x`` is ``a.com/x``)."""


def urls(units: str) -> list[Url]:
    """The links in ``units`` (a text as UTF-16 code units), in order."""
    if "." not in units:
        return []
    found: list[Url] = []
    # Each run of non-space with the space before it, so "^" and "before" see what the
    # whole-text search sees. A run with no label, dot and top-level domain in it holds
    # no link and is not searched: in a long run of labels, JavaScript's search (and so
    # this one) tries every start, which takes time quadratic in the run's length.
    start = 0
    for space in _SPACE_RUN.finditer(units):
        if _TLD_AFTER_DOT.search(units, start, space.start()):
            found.extend(_urls_in(units, max(start - 1, 0), space.start()))
        start = space.end()
    if _TLD_AFTER_DOT.search(units, start):
        found.extend(_urls_in(units, max(start - 1, 0), len(units)))
    return found


def _urls_in(units: str, start: int, end: int) -> list[Url]:
    found: list[Url] = []
    # A slice starts at the text's start or at a space, where "^" finds no link either.
    text = units[start:end]
    for match in _CANDIDATE.finditer(text):
        found.extend(_links(match, start))
    return found


def _links(match: re.Match[str], offset: int) -> list[Url]:
    url, protocol, domain = match.group("url", "protocol", "domain")
    begin, end = match.start("url") + offset, match.end("url") + offset
    if not _valid_length(url, protocol or "https://", domain):
        return []
    if protocol:
        tco = _TCO.match(url)
        if tco:
            if len(tco.group(1)) > _MAX_TCO_SLUG:
                return []
            end = begin + tco.end()
        return [Url(begin, end, end - begin)]
    if _INVALID_BEFORE_BARE.search(match.group("before")):
        return []
    links = []
    searched = 0
    for ascii_domain in _ASCII_DOMAIN.finditer(domain):
        # indexOf, as twitter-text finds each one again.
        at = domain.find(ascii_domain.group(), searched)
        searched = at + len(ascii_domain.group())
        links.append(Url(begin + at, begin + searched, searched - at))
    if links and match.group("path"):
        last = links[-1]
        length = last.length + len(url) - len(domain)  # the domain swapped for its ASCII part
        links[-1] = Url(last.start, end, length)
    return links


def _valid_length(url: str, protocol: str, domain: str) -> bool:
    """twitter-text's ``isValidUrl``: punycode labels of 1-63, and 4,096 units at most."""
    if domain.startswith("xn--") and not _ASCII_DOMAIN.search(domain):
        return False
    for label in domain.split("."):
        if not 1 <= _punycode_length(label) <= _MAX_LABEL_LENGTH:
            return False
    return len(protocol) + len(url) <= _MAX_URL_LENGTH


def _punycode_length(label: str) -> int:
    """The length of punycode.js 1.4.1's ``toASCII(label)``."""
    parts = _LABEL_SEPARATOR.split(label)
    length = len(parts) - 1  # the dots between them
    for part in parts:
        if _BASIC.fullmatch(part):
            length += len(part)
        else:  # code points, as punycode.js decodes the UTF-16 first
            code_points = part.encode("utf-16-le", "surrogatepass").decode(
                "utf-16-le", "surrogatepass"
            )
            length += 4 + len(code_points.encode("punycode"))
    return length
