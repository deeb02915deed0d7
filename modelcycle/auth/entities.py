"""Records of the auth domain: roles, the authenticated principal, users, tokens, audit entries.

Only pydantic, the standard library and ``errors`` here, so the server's schemas and anything
else light can import them without SQLAlchemy. Times the service returns are timezone-aware UTC
datetimes; the store keeps integer milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from modelcycle._internal.clock import now_ms
from modelcycle.errors import InvalidInput, PermissionDenied

__all__ = [
    "AuditEntry",
    "AuditEvent",
    "AuditPage",
    "Principal",
    "Role",
    "TokenInfo",
    "User",
]


class Role(StrEnum):
    """What a user may do; each role includes everything the ones before it may do.

    ============  =====================================================================
    ``viewer``    read everything: runs, datasets, models, deployments
    ``editor``    + write runs, data and models, and approve stage transitions
    ``admin``     + manage users and tokens, and read the audit log
    ============  =====================================================================

    >>> Role.ADMIN.allows(Role.EDITOR), Role.VIEWER.allows(Role.EDITOR)
    (True, False)
    """

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in viewer < editor < admin (a StrEnum's own ``<`` compares the text)."""
        return _RANKS[self]

    def allows(self, needed: Role | str) -> bool:
        """Whether a holder of this role may do what ``needed`` is required for."""
        return self.rank >= Role.parse(needed).rank

    @classmethod
    def parse(cls, value: Role | str) -> Role:
        """The role named ``value`` (case and surrounding spaces ignored).

        Raises:
            InvalidInput: no role has that name; the message lists the ones there are.
        """
        if isinstance(value, Role):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise InvalidInput(
                f"unknown role {value!r}; the roles are {', '.join(r.value for r in cls)}",
                details={"role": str(value), "allowed": [r.value for r in cls]},
            ) from None


_RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the token's user and their role at the moment it was checked."""

    user: str
    role: Role
    token_id: str

    def allows(self, needed: Role | str) -> bool:
        """Whether this principal's role includes ``needed``."""
        return self.role.allows(needed)

    def require(self, needed: Role | str, action: str = "do this") -> None:
        """Stop here unless this principal's role includes ``needed``: the one wording of a
        refusal, whichever edge (server route, serving app) applies the check.

        Raises:
            PermissionDenied: the role is lower than ``needed``.
        """
        role = Role.parse(needed)
        if not self.role.allows(role):
            raise PermissionDenied(
                f"user {self.user!r} is {self.role.value} and may not {action}: that needs the "
                f"{role.value} role; an admin can grant it with "
                f"`modelcycle users set-role {self.user} {role.value}`",
                details={"user": self.user, "role": self.role.value, "needed": role.value},
            )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing to write to the audit log (the input of ``AuthService.record``).

    A dataclass rather than a pydantic model: the server builds one per request, and nothing in
    it needs validating beyond what ``record`` checks.

    Args:
        user: who acted; ``None`` when the caller is unknown (no token or a bad one).
        action: what was done, e.g. ``"users.create"`` or ``"POST /api/v1/runs"``.
        target: what it was done to, e.g. ``"users/alice"`` or a request path.
        source: where the request came from (client address, ``"cli"``), if known.
        status: the outcome as an HTTP status (200, 401, 403, ...).
        time_ms: when, in milliseconds since the epoch (UTC); now by default.
        details: small JSON-serialisable context (never secrets).
    """

    user: str | None
    action: str
    target: str
    source: str | None = None
    status: int = 200
    time_ms: int = field(default_factory=now_ms)
    details: dict[str, Any] | None = None


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class User(_Record):
    """A person or a service account that holds API tokens."""

    name: str
    role: Role
    created_at: datetime
    disabled: bool = False


class TokenInfo(_Record):
    """What may be shown of an API token: everything but its secret, which is never stored."""

    token_id: str
    user: str
    description: str | None = None
    created_at: datetime
    last_used_at: datetime | None = Field(
        None, description="Updated at most once a minute, so it may lag by that much."
    )
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the token is not revoked (its user may still be disabled)."""
        return self.revoked_at is None


class AuditEntry(_Record):
    """One recorded audit event, as listed."""

    id: int
    time: datetime
    user: str | None = None
    action: str
    target: str
    source: str | None = None
    status: int
    details: dict[str, Any] = Field(default_factory=dict)


class AuditPage(_Record):
    """A page of audit entries, newest first; pass ``next_page_token`` back for the next one."""

    entries: list[AuditEntry]
    next_page_token: str | None = None


def from_millis(value: int) -> datetime:
    """A stored millisecond timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)
