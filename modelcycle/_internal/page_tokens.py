"""Opaque page tokens: an offset bound to the query that produced it.

A token from one search must not page through another, so it carries a fingerprint of the query;
a token that does not decode, or belongs to another query, is ``InvalidInput``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from modelcycle.errors import InvalidInput


def fingerprint(*parts: Any) -> str:
    """A short stable digest of a query's defining arguments."""
    encoded = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def encode(offset: int, query_fingerprint: str) -> str:
    payload = json.dumps({"o": offset, "q": query_fingerprint}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode(token: str | None, query_fingerprint: str) -> int:
    """The offset a token stands for (0 for no token).

    Raises:
        InvalidInput: the token is malformed or was issued for a different query.
    """
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(payload["o"])
        issued_for = str(payload["q"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"page_token {token!r} is not a token this server issued; pass the "
            "next_page_token of the previous page unchanged.",
            details={"page_token": token},
        ) from exc
    if issued_for != query_fingerprint or offset < 0:
        raise InvalidInput(
            "page_token belongs to a different search; page with the same experiment, filter "
            "and order_by that produced it.",
            details={"page_token": token},
        )
    return offset
