"""Health checks for load balancers; they need no token."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from modelcycle.server.deps import ServicesDep

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    auth: bool
    max_batch: int
    max_body_bytes: int


class Ready(BaseModel):
    status: Literal["ready"]
    database: Literal["ok"]


@router.get("", response_model=Health, summary="Liveness: the process answers")
def health(services: ServicesDep) -> Health:
    """Answers as long as the process runs; also tells clients the server's limits."""
    from modelcycle import __version__

    server = services.settings.server
    return Health(
        status="ok",
        version=__version__,
        auth=services.auth_enabled,
        max_batch=server.max_batch,
        max_body_bytes=int(server.max_body_mb * (1 << 20)),
    )


@router.get("/ready", response_model=Ready, summary="Readiness: the database answers")
def ready(services: ServicesDep) -> Ready:
    """Runs one query on the metadata database.

    Raises:
        StoreUnavailable: the database cannot be reached (503).
    """
    with services.tracking.store.read() as connection:
        connection.execute(text("SELECT 1"))
    return Ready(status="ready", database="ok")
