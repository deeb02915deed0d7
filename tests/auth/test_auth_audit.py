"""The audit log: recording one event or a batch, listing newest first, filters and pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from modelcycle._internal.clock import now_ms
from modelcycle.auth import AuditEvent, AuthService
from modelcycle.errors import InvalidInput
from modelcycle.store import Store
from modelcycle.store.tables.auth import TARGET_LENGTH, audit_log

T0 = 1_800_000_000_000


def _event(i: int, *, user: str | None = "alice", action: str = "runs.create") -> AuditEvent:
    return AuditEvent(user, action, f"runs/{i}", "127.0.0.1", 200, T0 + i * 1000)


def test_record_and_list(auth: AuthService) -> None:
    auth.record(
        AuditEvent("alice", "users.create", "users/bob", "10.0.0.1", 201, T0, {"role": "editor"})
    )
    auth.record(AuditEvent(None, "GET /api/v1/runs", "/api/v1/runs", None, 401, T0 + 5))
    page = auth.list_audit()
    assert page.next_page_token is None
    newest, oldest = page.entries
    assert (newest.user, newest.status, newest.source, newest.details) == (None, 401, None, {})
    assert oldest.user == "alice" and oldest.action == "users.create"
    assert oldest.target == "users/bob" and oldest.source == "10.0.0.1"
    assert oldest.details == {"role": "editor"}
    assert int(oldest.time.timestamp() * 1000) == T0
    assert newest.id > oldest.id


def test_time_defaults_to_now() -> None:
    before = now_ms()
    event = AuditEvent("alice", "x", "y")
    assert before <= event.time_ms <= now_ms()
    assert event.status == 200 and event.source is None and event.details is None


def test_pages_walk_every_entry_once_newest_first(auth: AuthService) -> None:
    assert auth.record_many(_event(i) for i in range(25)) == 25
    seen: list[str] = []
    token = None
    while True:
        page = auth.list_audit(limit=10, page_token=token)
        seen += [e.target for e in page.entries]
        token = page.next_page_token
        if token is None:
            break
        # Entries recorded while paging do not shift the pages still to come.
        auth.record(_event(1000))
    assert seen == [f"runs/{i}" for i in reversed(range(25))]


def test_filters(auth: AuthService) -> None:
    auth.record_many(
        [
            _event(1, user="alice", action="runs.create"),
            _event(2, user="bob", action="runs.create"),
            _event(3, user="alice", action="users.create"),
            _event(4, user=None, action="runs.create"),
        ]
    )
    assert [e.target for e in auth.list_audit(user="alice").entries] == ["runs/3", "runs/1"]
    assert [e.target for e in auth.list_audit(action="runs.create").entries] == [
        "runs/4",
        "runs/2",
        "runs/1",
    ]
    assert [e.target for e in auth.list_audit(user="alice", action="runs.create").entries] == [
        "runs/1"
    ]
    assert [e.target for e in auth.list_audit(since_ms=T0 + 2000).entries] == [
        "runs/4",
        "runs/3",
        "runs/2",
    ]
    assert auth.list_audit(user="nobody").entries == []


def test_page_tokens_are_bound_to_their_filters(auth: AuthService) -> None:
    auth.record_many(_event(i) for i in range(3))
    token = auth.list_audit(limit=1, user="alice").next_page_token
    assert token is not None
    with pytest.raises(InvalidInput, match="different search"):
        auth.list_audit(limit=1, user="bob", page_token=token)
    with pytest.raises(InvalidInput, match="not a token this server issued"):
        auth.list_audit(page_token="garbage!")


@pytest.mark.parametrize("limit", [0, -1, 10_001, 2.5, True])
def test_limit_is_validated(auth: AuthService, limit: object) -> None:
    with pytest.raises(InvalidInput, match="limit must be an integer from 1 to 10000"):
        auth.list_audit(limit=limit)  # type: ignore[arg-type]


def test_since_must_be_milliseconds(auth: AuthService) -> None:
    with pytest.raises(InvalidInput, match="since_ms"):
        auth.list_audit(since_ms="yesterday")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="since_ms"):  # past a 64-bit column: no overflow
        auth.list_audit(since_ms=2**70)


@pytest.mark.parametrize(
    ("filters", "problem"),
    [({"user": 5}, "user"), ({"user": "a\x00b"}, "user"), ({"action": "a\x00b"}, "action")],
)
def test_filters_must_be_text_without_nul(
    auth: AuthService, filters: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidInput, match=f"audit {problem} filter"):
        auth.list_audit(**filters)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (AuditEvent("a", "", "t"), "action"),
        (AuditEvent("a", "x" * 101, "t"), "action"),
        (AuditEvent("a", "act", None), "target"),  # type: ignore[arg-type]
        (AuditEvent("a", "act", "t", source=5), "source"),  # type: ignore[arg-type]
        (AuditEvent("a", "act\x00", "t"), "action"),
        (AuditEvent(5, "act", "t"), "user"),  # type: ignore[arg-type]
        (AuditEvent("a", "act", "t", status=-1), "status"),
        (AuditEvent("a", "act", "t", status=2**31), "status"),
        (AuditEvent("a", "act", "t", time_ms=2**63), "time_ms"),
        (AuditEvent("a", "act", "t", status="ok"), "status"),  # type: ignore[arg-type]
        (AuditEvent("a", "act", "t", time_ms=1.5), "time_ms"),  # type: ignore[arg-type]
        (AuditEvent("a", "act", "t", details={"x": object()}), "JSON"),
        (AuditEvent("a", "act", "t", details=[1]), "dict"),  # type: ignore[arg-type]
        ("not an event", "AuditEvent"),
    ],
)
def test_malformed_events_are_refused(
    auth: AuthService, store: Store, event: AuditEvent, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        auth.record(event)
    with pytest.raises(InvalidInput, match=problem):
        auth.record_many([_event(1), event])
    with store.read() as connection:
        assert connection.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0


def test_long_targets_are_shortened_not_lost(auth: AuthService) -> None:
    auth.record(AuditEvent("a", "GET", "/" + "x" * 5000, "y" * 500, 404))
    entry = auth.list_audit().entries[0]
    assert len(entry.target) == TARGET_LENGTH and entry.target.endswith("…")
    assert entry.source is not None and len(entry.source) == 100


def test_nul_in_client_given_text_is_escaped_not_lost(auth: AuthService) -> None:
    """A request path may hold NUL (the server refuses it, and audits the refusal): PostgreSQL
    text cannot, so it is written as ``\\x00`` rather than the entry being lost."""
    auth.record(AuditEvent("a\x00", "PUT /x/{name}", "/x/a\x00b", "h\x00", 400))
    entry = auth.list_audit().entries[0]
    assert (entry.user, entry.target, entry.source) == ("a\\x00", "/x/a\\x00b", "h\\x00")


def test_recording_nothing_is_a_no_op(auth: AuthService) -> None:
    assert auth.record_many([]) == 0
    assert auth.list_audit().entries == []
