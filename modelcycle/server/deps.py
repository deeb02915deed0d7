"""What routes depend on: the services on ``app.state`` and who the caller is.

Routes declare ``TrackingDep`` / ``AuthDep`` for the services and ``PrincipalDep`` for the
caller. Authorization sits on each router (``dependencies=[...]``):

* :func:`role_by_method`: reads (GET, HEAD) need ``viewer``, everything else ``editor``;
* :func:`require` (``Role.ADMIN``): users, tokens, the audit log.

The principal is also left on ``request.state`` for the audit middleware, which records who
acted even when the request is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from modelcycle.auth import AuthService, Principal, Role
from modelcycle.config import Settings
from modelcycle.errors import InvalidInput, PermissionDenied, Unauthenticated
from modelcycle.server._idempotency import IdempotencyCache
from modelcycle.tracking.service import TrackingService

ANONYMOUS = Principal(user="anonymous", role=Role.ADMIN, token_id="-")
"""Who every request acts as when the server runs with ``--no-auth`` (loopback only)."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Services:
    """Everything a request may use, built once by ``create_app``."""

    settings: Settings
    tracking: TrackingService
    auth: AuthService
    idempotency: IdempotencyCache
    auth_enabled: bool


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def tracking(request: Request) -> TrackingService:
    return services(request).tracking


def auth(request: Request) -> AuthService:
    return services(request).auth


TrackingDep = Annotated[TrackingService, Depends(tracking)]
AuthDep = Annotated[AuthService, Depends(auth)]


def principal(request: Request) -> Principal:
    """Who sent the request: the user of its bearer token (or anonymous without auth).

    Raises:
        Unauthenticated: no ``Authorization: Bearer`` header, or a token that is malformed,
            unknown, revoked, or whose user is disabled.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    found = services(request)
    if not found.auth_enabled:
        request.state.principal = ANONYMOUS
        return ANONYMOUS
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(
            "this server requires an API token: send `Authorization: Bearer TOKEN` (the SDK "
            "sends MODELCYCLE_TOKEN); an admin creates one with `modelcycle tokens create USER`"
        )
    try:
        who = found.auth.authenticate(token)
    except Unauthenticated:
        request.state.token_id = _token_id(token)
        raise
    request.state.principal = who
    return who


PrincipalDep = Annotated[Principal, Depends(principal)]


def require(role: Role) -> object:
    """A dependency that lets through only callers whose role includes ``role``."""

    def check(request: Request, who: PrincipalDep) -> Principal:
        _check(who, role, request)
        return who

    return Depends(check)


def _role_by_method(request: Request, who: PrincipalDep) -> Principal:
    _check(who, Role.VIEWER if request.method in READ_METHODS else Role.EDITOR, request)
    return who


role_by_method = Depends(_role_by_method)
"""Reads need ``viewer``, writes ``editor``: the rule of every domain router."""


def _check(who: Principal, needed: Role, request: Request) -> None:
    if not who.allows(needed):
        raise PermissionDenied(
            f"user {who.user!r} has role {who.role.value}; {request.method} "
            f"{request.url.path} needs {needed.value} or higher. An admin can change it with "
            f"`modelcycle users set-role {who.user} {needed.value}`.",
            details={"user": who.user, "role": who.role.value, "needed": needed.value},
        )


def _token_id(token: str) -> str | None:
    try:
        return AuthService.token_id_of(token)
    except InvalidInput:  # not a modelcycle token at all: nothing to record
        return None
