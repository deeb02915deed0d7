"""``limit`` / ``page_token`` over lists a service returns whole (artifacts, users, history).

Search and experiment listings page in the database; a few service methods return a run's whole
list because it is bounded by what one run logged. The API still pages them, so no response
grows without bound, with the same opaque tokens (bound to the query) as everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from modelcycle._internal import page_tokens

T = TypeVar("T")


def page_of(
    items: Sequence[T], limit: int, page_token: str | None, *query: Any
) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token of the next (``None`` on the last page).

    Raises:
        InvalidInput: the token is malformed or was issued for another query.
    """
    fingerprint = page_tokens.fingerprint(*query)
    offset = page_tokens.decode(page_token, fingerprint)
    end = offset + limit
    token = page_tokens.encode(end, fingerprint) if end < len(items) else None
    return list(items[offset:end]), token
