"""The one error tree of modelcycle.

Every error the platform raises on purpose is a :class:`ModelcycleError`. Each class knows the HTTP
status the server answers with and the exit code the CLI ends with, and carries a short
``headline`` for people. The tree::

    ModelcycleError
    ├── InvalidInput(ValueError)        400, exit 2   bad argument, malformed filter, wrong type
    ├── NotFound(LookupError)           404, exit 3   unknown experiment, run, artifact, object
    ├── AlreadyExists                   409, exit 4   a name or value that is taken
    ├── IntegrityError                  500, exit 5   stored bytes no longer match their hash
    ├── Unauthenticated                 401, exit 9   no token, a wrong one, or a revoked one
    ├── PermissionDenied                403, exit 6   the caller may not do this
    ├── GateFailed                      409, exit 10  a promotion's gate or approval is unmet
    ├── StoreUnavailable                503, exit 7   the database or object store is unreachable
    └── SchemaOutdated                  409, exit 8   the database needs `modelcycle db upgrade`

Third-party errors (SQLAlchemy, fsspec, OS errors) are translated at the store boundary and
re-raised ``from`` the original, so callers catch these classes and never a driver's.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "IntegrityError",
    "InvalidInput",
    "GateFailed",
    "ModelcycleError",
    "NotFound",
    "PermissionDenied",
    "SchemaOutdated",
    "StoreUnavailable",
    "Unauthenticated",
]


class ModelcycleError(Exception):
    """Base of every error modelcycle raises on purpose.

    Args:
        message: what went wrong, naming the object, and how to fix it.
        details: machine-readable context (the offending token, the object's name, ...).
    """

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    headline: ClassVar[str] = "Error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def code(self) -> str:
        """The wire name of this error: its class name."""
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the server sends: ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(ModelcycleError, ValueError):
    """An argument, a filter or a value is malformed or out of range."""

    http_status = 400
    exit_code = 2
    headline = "Invalid input"


class NotFound(ModelcycleError, LookupError):
    """The named experiment, run, artifact or object does not exist."""

    http_status = 404
    exit_code = 3
    headline = "Not found"


class AlreadyExists(ModelcycleError):
    """The name or the value is already taken and may not be overwritten."""

    http_status = 409
    exit_code = 4
    headline = "Already exists"


class IntegrityError(ModelcycleError):
    """Stored bytes no longer match the hash they were stored under."""

    http_status = 500
    exit_code = 5
    headline = "Integrity check failed"


class PermissionDenied(ModelcycleError):
    """The caller is not allowed to do this."""

    http_status = 403
    exit_code = 6
    headline = "Permission denied"


class Unauthenticated(ModelcycleError):
    """The request carries no valid credentials: no token, an unknown one, or a revoked one."""

    http_status = 401
    exit_code = 9
    headline = "Not authenticated"


class GateFailed(ModelcycleError):
    """A stage transition's policy is not met: a metric gate fails or an approval is missing."""

    http_status = 409
    exit_code = 10
    headline = "Gate not met"


class StoreUnavailable(ModelcycleError):
    """The metadata database or the object store cannot be reached."""

    http_status = 503
    exit_code = 7
    headline = "Store unavailable"


class SchemaOutdated(ModelcycleError):
    """The database schema is older than this version of modelcycle."""

    http_status = 409
    exit_code = 8
    headline = "Database schema out of date"


ERRORS_BY_CODE: dict[str, type[ModelcycleError]] = {
    cls.__name__: cls
    for cls in (
        ModelcycleError,
        InvalidInput,
        NotFound,
        AlreadyExists,
        IntegrityError,
        PermissionDenied,
        Unauthenticated,
        GateFailed,
        StoreUnavailable,
        SchemaOutdated,
    )
}
"""Wire code → class, so a client can raise the same class the server raised."""
