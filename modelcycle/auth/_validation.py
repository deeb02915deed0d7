"""Checks on what callers hand the auth service, each failing with a message naming the problem."""

from __future__ import annotations

import re

from modelcycle.auth._tokens import TOKEN_ID
from modelcycle.errors import InvalidInput
from modelcycle.store.tables.auth import (
    ACTION_LENGTH,
    DESCRIPTION_LENGTH,
    SOURCE_LENGTH,
    TARGET_LENGTH,
    USER_NAME_LENGTH,
)

MAX_AUDIT_PAGE = 10_000

# Names end up in URLs (/api/v1/users/NAME), audit entries and shell commands: keep them plain.
# '@' and '.' allow e-mail addresses and service accounts such as ci.bot.
_USER_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@-]{{0,{USER_NAME_LENGTH - 1}}}")


def user_name(name: object) -> str:
    """A user name: 1 to 64 letters, digits, ``.``, ``_``, ``@`` or ``-``, starting with a letter
    or a digit."""
    if not isinstance(name, str) or _USER_NAME.fullmatch(name) is None:
        raise InvalidInput(
            f"user name {name!r} is not valid: use 1 to {USER_NAME_LENGTH} letters, digits, "
            "'.', '_', '@' or '-', starting with a letter or a digit",
            details={"user": str(name)},
        )
    return name


def description(text: str | None) -> str | None:
    """A token's description: free text up to 500 characters, or none."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidInput(
            f"a token description must be text, got {type(text).__name__}",
            details={"description": repr(text)},
        )
    if "\x00" in text:  # PostgreSQL text cannot hold NUL: refused on every backend alike
        raise InvalidInput(
            "a token description cannot contain a NUL character",
            details={"description": repr(text)},
        )
    if len(text) > DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"the token description is {len(text)} characters; the limit is {DESCRIPTION_LENGTH}",
            details={"length": len(text)},
        )
    return text or None


def token_id(value: object) -> str:
    """A token id as listings show it (12 hex characters); a full token is refused so that a
    secret pasted by mistake is not echoed into logs."""
    if isinstance(value, str) and TOKEN_ID.fullmatch(value):
        return value
    shown = "a full token" if isinstance(value, str) and value.startswith("mct_") else repr(value)
    raise InvalidInput(
        f"{shown} is not a token id; pass the 12-character id `modelcycle tokens list` shows",
        details={},
    )


def audit_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_AUDIT_PAGE:
        raise InvalidInput(
            f"limit must be an integer from 1 to {MAX_AUDIT_PAGE}, got {limit!r}",
            details={"limit": repr(limit)},
        )
    return limit


def audit_action(action: object) -> str:
    if (
        not isinstance(action, str)
        or not action.strip()
        or len(action) > ACTION_LENGTH
        or "\x00" in action
    ):
        raise InvalidInput(
            f"an audit action must be non-empty text of at most {ACTION_LENGTH} characters "
            f"without NUL, got {action!r}",
            details={"action": repr(action)},
        )
    return action


def audit_filter(value: object, what: str) -> str | None:
    """A user or action to list entries by: text without NUL (no entry holds one), or none."""
    if value is not None and (not isinstance(value, str) or "\x00" in value):
        raise InvalidInput(
            f"the audit {what} filter must be text without NUL characters, got {value!r}",
            details={what: repr(value)},
        )
    return value


def clip(text: str | None, length: int) -> str | None:
    """``text`` made storable: NUL written as ``\\x00`` (PostgreSQL text cannot hold it), then
    cut to fit its column. Users, targets (request paths) and sources come from clients: an odd
    one must still be recorded, not lose the entry."""
    if text is None:
        return None
    text = text.replace("\x00", "\\x00")
    if len(text) <= length:
        return text
    return text[: length - 1] + "…"


def audit_target(target: object) -> str:
    if not isinstance(target, str):
        raise InvalidInput(
            f"an audit target must be text, got {type(target).__name__}",
            details={"target": repr(target)},
        )
    return clip(target, TARGET_LENGTH) or ""


def audit_source(source: object) -> str | None:
    return _optional_text(source, "source", SOURCE_LENGTH)


def audit_user(user: object) -> str | None:
    return _optional_text(user, "user", USER_NAME_LENGTH)


def audit_status(status: object) -> int:
    """An HTTP status; the column is a 32-bit integer."""
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status < 2**31:
        raise InvalidInput(
            f"an audit status must be a non-negative integer (an HTTP status), got {status!r}",
            details={"status": repr(status)},
        )
    return status


def millis(value: object, what: str) -> int:
    """Integer milliseconds since the epoch that a 64-bit column holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise InvalidInput(
            f"{what} must be integer milliseconds since the epoch, got {value!r}",
            details={what: repr(value)},
        )
    return value


def _optional_text(value: object, what: str, length: int) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(
            f"an audit {what} must be text or None, got {type(value).__name__}",
            details={what: repr(value)},
        )
    return clip(value, length)
