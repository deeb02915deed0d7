"""Users, API tokens, roles and the audit log.

Map of the objects: a :class:`User` has a :class:`Role` (viewer < editor < admin) and any number
of API tokens (:class:`TokenInfo` shows one without its secret). ``AuthService.authenticate``
turns a token into a :class:`Principal` (user, role, token id), which the edges (server, CLI,
serving app) check with ``principal.allows(Role.EDITOR)``. Whatever they did is appended to the
audit log as an :class:`AuditEvent` and listed back as :class:`AuditEntry` pages.

``service.py`` holds :class:`AuthService`; ``_tokens.py`` the token format; ``_hashing.py`` the
argon2id hashing of secrets; ``_verified.py`` the per-process memory of verified tokens;
``_audit.py`` the log's queries. The records in ``entities.py`` import no SQLAlchemy, so they are
re-exported eagerly and the service loads on first use. No other domain imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr
from modelcycle.auth.entities import (
    AuditEntry,
    AuditEvent,
    AuditPage,
    Principal,
    Role,
    TokenInfo,
    User,
)

if TYPE_CHECKING:
    from modelcycle.auth.service import AuthService

__all__ = [
    "AuditEntry",
    "AuditEvent",
    "AuditPage",
    "AuthService",
    "Principal",
    "Role",
    "TokenInfo",
    "User",
]

__getattr__ = lazy_getattr(__name__, {"AuthService": "modelcycle.auth.service:AuthService"})
