"""One audit row per mutating request (POST, PUT, PATCH, DELETE), refused ones included.

ASGI middleware, so it sees every outcome: a 401 from a missing token, a 403 from a low role,
a 413 from the body limit, a 404 for a route that does not exist, a 500. The row is written
when the response starts, before the client receives it: a client that saw its answer can find
its entry in the log. A failure to write the row is logged and does not fail the request.

What a row holds: the user (``None`` when the caller could not be authenticated, with the
token's public id in ``details`` when one was sent), the action (``METHOD /route/{template}``),
the target (the concrete path, whose segments are the path parameters, also in ``details``), the
time, the client's address and the status answered.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelcycle.auth import AuditEvent, AuthService
from modelcycle.auth._validation import clip
from modelcycle.server.routers import API_PREFIX
from modelcycle.store.tables.auth import ACTION_LENGTH

logger = logging.getLogger("modelcycle.server.audit")

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditMiddleware:
    """Record mutating requests through ``auth.record``."""

    def __init__(self, app: ASGIApp, auth: AuthService) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING_METHODS:
            await self.app(scope, receive, send)
            return
        recorded = False

        async def auditing_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                await self._record(scope, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, auditing_send)
        except BaseException:
            if not recorded:
                recorded = True
                await self._record(scope, 500)
            raise

    async def _record(self, scope: Scope, status: int) -> None:
        event = audit_event(scope, status)
        try:
            await anyio.to_thread.run_sync(self.auth.record, event)
        except Exception:  # the request's own outcome must not depend on the log
            logger.exception("could not write the audit entry for %s", event.action)


def route_template(scope: Scope) -> str:
    """``/api/v1/runs/{run_id}/metrics`` for a routed request, else the concrete path."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return str(scope["path"])
    if not template.startswith(API_PREFIX) and scope["path"].startswith(API_PREFIX):
        template = API_PREFIX + template  # the route as declared, without the include prefix
    return str(template).replace(":path}", "}")


def audit_event(scope: Scope, status: int) -> AuditEvent:
    """The audit row of a request that was answered ``status``."""
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    template = route_template(scope)
    path_params = {str(k): str(v) for k, v in (scope.get("path_params") or {}).items()}
    details: dict[str, Any] = {}
    if path_params:
        details["path_params"] = path_params
    if principal is None and state.get("token_id"):
        details["token_id"] = state["token_id"]
    client = scope.get("client")
    return AuditEvent(
        user=None if principal is None else principal.user,
        # An unrouted path is the client's text: cut to the column and NUL escaped, or the
        # service would refuse the row and the request would go unaudited.
        action=clip(f"{scope['method']} {template}", ACTION_LENGTH) or "",
        target=scope["path"],
        source=None if client is None else str(client[0]),
        status=status,
        details=details or None,
    )
