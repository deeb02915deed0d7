"""``/api/v1/audit``: the audit log, newest first (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from modelcycle.auth import AuditPage, Role
from modelcycle.server._json import RecordResponse
from modelcycle.server.deps import AuthDep, require
from modelcycle.server.routers import PageToken, page_limit

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[require(Role.ADMIN)])


@router.get("", response_model=AuditPage, summary="Audit entries matching every given filter")
def list_audit(
    auth: AuthDep,
    user: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    action: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^[^\x00]*$", description="e.g. POST /api/v1/runs"),
    ] = None,
    since_ms: Annotated[
        int | None, Query(ge=0, le=2**53, description="Only entries at or after this time (ms)")
    ] = None,
    limit: page_limit(10_000) = 100,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    return RecordResponse(
        auth.list_audit(
            user=user, action=action, since_ms=since_ms, limit=limit, page_token=page_token
        )
    )
