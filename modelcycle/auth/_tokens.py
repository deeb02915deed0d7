"""The API token format: ``mct_<id>_<secret>``.

The id (12 hex characters) is public: it keys the stored row, appears in listings and audit
entries, and is what ``tokens revoke`` takes. The secret (32 random bytes, URL-safe base64) is
known only to the holder; the store keeps its argon2id hash. The ``mct_`` prefix lets secret
scanners (GitHub, gitleaks) recognise a leaked modelcycle token.
"""

from __future__ import annotations

import re
import secrets
from typing import NamedTuple

from modelcycle._internal.hashing import hash_bytes

PREFIX = "mct"
ID_BYTES = 6
SECRET_BYTES = 32

_TOKEN = re.compile(r"mct_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43,128})")
TOKEN_ID = re.compile(r"[0-9a-f]{12}")


class ParsedToken(NamedTuple):
    token_id: str
    secret: str


def new_token() -> tuple[str, str, str]:
    """A fresh token: ``(token_id, secret, full_token)``."""
    token_id = secrets.token_hex(ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return token_id, secret, f"{PREFIX}_{token_id}_{secret}"


def parse(token: str) -> ParsedToken | None:
    """The id and secret of a well-formed token, or ``None`` for anything else.

    The secret's alphabet includes ``_``, so the token is split by a pattern, not by ``_``.
    """
    if not isinstance(token, str):
        return None
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        return None
    return ParsedToken(match["id"], match["secret"])


def fingerprint(token: str) -> str:
    """The key a verified token is remembered under: its blake3, so the process never keeps
    the token itself."""
    return hash_bytes(token.strip().encode())
