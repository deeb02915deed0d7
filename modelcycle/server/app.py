"""``create_app``: the platform's REST API as one FastAPI application.

>>> from modelcycle.server import create_app
>>> app = create_app()  # doctest: +SKIP  (the store MODELCYCLE_URI names, auth on)

Layers of a request, outermost first: the audit middleware (one row per mutating request,
whatever its outcome), the body-size limit (413), FastAPI's routing with the router's role check
(401/403), the route, and the exception handlers that give every error one JSON shape.

To add a domain: write ``routers/<domain>.py`` with an ``APIRouter`` named ``router`` (and
``dependencies=[role_by_method]``), then add one ``include_router`` line in ``_ROUTERS`` below.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request

from modelcycle.auth import AuthService
from modelcycle.config import Settings, current_settings, resolve_uri
from modelcycle.errors import InvalidInput
from modelcycle.server import _errors
from modelcycle.server._audit import AuditMiddleware
from modelcycle.server._idempotency import IdempotencyCache
from modelcycle.server._limits import BodyLimitMiddleware
from modelcycle.server.deps import Services
from modelcycle.server.routers import (
    API_PREFIX,
    artifacts,
    audit,
    datasets,
    deployments,
    experiments,
    health,
    models,
    runs,
    users,
)
from modelcycle.store import Store, open_store
from modelcycle.tracking.service import TrackingService

if TYPE_CHECKING:
    from argon2 import PasswordHasher

_ROUTERS = (
    health.router,
    experiments.router,
    runs.router,
    artifacts.router,
    users.router,
    audit.router,
    models.router,
    datasets.router,
    deployments.router,
)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    auth: bool | None = None,
    hasher: PasswordHasher | None = None,
) -> FastAPI:
    """The REST API over the store ``settings`` name (or over ``store``).

    Args:
        settings: defaults to :func:`current_settings`.
        store: an open store to serve; opened from ``settings.uri`` when omitted (an embedded
            SQLite store is migrated, a server database must be current) and closed at shutdown.
        auth: require API tokens; defaults to ``settings.server.auth``.
        hasher: argon2 hasher of token secrets (tests pass a cheap one).

    Raises:
        InvalidInput: the settings name a modelcycle server rather than a store.
        SchemaOutdated: the database needs ``modelcycle db upgrade``.
        StoreUnavailable: the database cannot be reached.
    """
    settings = settings or current_settings()
    owns_store = store is None
    if store is None:
        location = resolve_uri(settings.uri, settings.artifacts)
        if location.kind == "http":
            raise InvalidInput(
                f"MODELCYCLE_URI={location.url} names a server; the server itself needs a "
                "store: a directory, sqlite:///FILE or postgresql+psycopg://… (with "
                "MODELCYCLE_ARTIFACTS)",
                details={"uri": location.url},
            )
        store = open_store(location)
    services = Services(
        settings=settings,
        tracking=TrackingService(store),
        auth=AuthService(store, hasher=hasher),
        idempotency=IdempotencyCache(store),
        auth_enabled=settings.server.auth if auth is None else auth,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_store:
            services.tracking.store.close()

    from modelcycle import __version__

    app = FastAPI(
        title="modelcycle",
        version=__version__,
        summary="Experiment tracking, users and the audit log of a modelcycle platform.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(_reject_nul)],
    )
    app.state.services = services
    _errors.install(app)
    for router in _ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    max_bytes = int(settings.server.max_body_mb * (1 << 20))
    # add_middleware wraps: the last added is the outermost, so audit sees the 413s too.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)
    app.add_middleware(AuditMiddleware, auth=services.auth)
    return app


def app_from_env() -> FastAPI:
    """The app of the settings in the environment: uvicorn's ``--factory`` target, which each
    worker process calls (``modelcycle server --workers N``)."""
    return create_app()


def _reject_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL; no name, id or path of the API may contain one."""
    if (
        "\x00" in request.url.path
        or "\x00" in request.scope["path"]
        or any(
            "\x00" in key or "\x00" in value for key, value in request.query_params.multi_items()
        )
    ):
        raise InvalidInput(
            "the request's path or query holds a NUL character, which no name or path may contain",
            details={"path": request.scope["path"].replace("\x00", "\\x00")},
        )
