"""One router per domain, each an ``APIRouter`` named ``router`` in its own module.

``app.py`` includes them under :data:`API_PREFIX`. A new domain (models, datasets, …) adds a
module here with its router (role rule on the router: ``dependencies=[role_by_method]``) and one
``include_router`` line in ``app.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

API_PREFIX = "/api/v1"

ID_MAX = 2**31 - 1
"""Experiment ids are 32-bit integers in the store; a larger one cannot name anything and is
refused as 422 rather than sent to the database (which raises an overflow)."""

PageToken = Annotated[
    str | None,
    Query(max_length=512, description="The previous page's next_page_token."),
]


def page_limit(maximum: int) -> Any:
    """The type of a list's ``limit`` query parameter: 1 to ``maximum`` items a page."""
    return Annotated[int, Query(ge=1, le=maximum, description=f"Items per page (1–{maximum:,}).")]
