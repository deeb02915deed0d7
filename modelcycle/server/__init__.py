"""The platform's REST API (``modelcycle server``): FastAPI routers over the domain services.

Map of the package::

    app.py         create_app(settings, store=…) and app_from_env() (uvicorn's --factory)
    deps.py        Services on app.state; the Annotated dependencies routes take
                   (TrackingDep, AuthDep, PrincipalDep) and the role checks
    _errors.py     the exception handlers: every error is {"error": {code, message, details}}
    _limits.py     body-size limit (413) as ASGI middleware; artifact uploads stream, exempt
    _audit.py      ASGI middleware writing one audit row per mutating request
    _idempotency.py  remembers the answers to requests sent with an Idempotency-Key
    _json.py       RecordResponse: fast JSON of frozen records, NaN and ±inf as strings
    _pages.py      limit/page_token over lists a service returns whole
    schemas/       request bodies, grouped by domain
    routers/       one module per domain; app.py includes each with one line

Routers call the same services as the SDK (``TrackingService``, ``AuthService``); no business
rule lives here, only HTTP: parsing, limits, authorization and audit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr

if TYPE_CHECKING:
    from modelcycle.server.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]

__getattr__ = lazy_getattr(
    __name__,
    {
        "create_app": "modelcycle.server.app:create_app",
        "app_from_env": "modelcycle.server.app:app_from_env",
    },
)
