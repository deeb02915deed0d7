"""The audit log: append events, list them newest first a page at a time.

Pages are keyed by id, not by offset: the log grows while someone pages through it, and an
offset would then show an entry twice or skip one. The page token carries the id below which
the next page starts (``page_tokens`` calls it an offset; here it is that cursor), bound to the
filters that produced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from modelcycle._internal import page_tokens
from modelcycle.auth import _validation as check
from modelcycle.auth.entities import AuditEntry, AuditEvent, AuditPage, from_millis
from modelcycle.errors import InvalidInput
from modelcycle.store.tables.auth import audit_log


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """The row ``event`` is stored as, after checking each field."""
    if not isinstance(event, AuditEvent):
        raise InvalidInput(
            f"record takes an AuditEvent, got {type(event).__name__}",
            details={"type": type(event).__name__},
        )
    _check_details(event.details)
    return {
        "time_ms": check.millis(event.time_ms, "time_ms"),
        "user_name": check.audit_user(event.user),
        "action": check.audit_action(event.action),
        "target": check.audit_target(event.target),
        "source": check.audit_source(event.source),
        "status": check.audit_status(event.status),
        "details": event.details or None,
    }


def _check_details(details: object) -> None:
    # Checked here: a value JSON cannot hold would otherwise fail deep inside the driver.
    if details is None:
        return
    try:
        if not isinstance(details, dict):
            raise TypeError(type(details).__name__)
        json.dumps(details, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"audit details must be a dict of JSON values: {exc}",
            details={"details": type(details).__name__},
        ) from exc


def insert_events(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert checked rows in one statement (an executemany for several)."""
    if rows:
        connection.execute(insert(audit_log), list(rows))


def list_entries(
    connection: Connection,
    *,
    user: str | None,
    action: str | None,
    since_ms: int | None,
    limit: int,
    page_token: str | None,
) -> AuditPage:
    """A page of entries matching every given filter, newest first."""
    check.audit_limit(limit)
    check.audit_filter(user, "user")
    check.audit_filter(action, "action")
    if since_ms is not None:
        check.millis(since_ms, "since_ms")
    fingerprint = page_tokens.fingerprint("audit", user, action, since_ms)
    before_id = page_tokens.decode(page_token, fingerprint)
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit + 1)
    if before_id:
        query = query.where(audit_log.c.id < before_id)
    if user is not None:
        query = query.where(audit_log.c.user_name == user)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if since_ms is not None:
        query = query.where(audit_log.c.time_ms >= since_ms)
    rows = connection.execute(query).all()
    entries = [_entry(row) for row in rows[:limit]]
    more = len(rows) > limit
    token = page_tokens.encode(entries[-1].id, fingerprint) if more else None
    return AuditPage(entries=entries, next_page_token=token)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        time=from_millis(row.time_ms),
        user=row.user_name,
        action=row.action,
        target=row.target,
        source=row.source,
        status=row.status,
        details=row.details or {},
    )
