"""Requests refused for their path are audited too, whatever the path holds."""

from __future__ import annotations

import httpx
from live_server import LiveServer

from modelcycle.store.tables.auth import ACTION_LENGTH


def test_refused_odd_paths_still_leave_an_audit_row(server: LiveServer) -> None:
    """A NUL (which PostgreSQL text cannot hold) and an unrouted path longer than the action
    column were each a lost row: the service refused it and the middleware only logged that."""
    with server.client() as admin:
        base = str(admin.base_url).rstrip("/")
        assert admin.put(httpx.URL(f"{base}/experiments/by-name/a%00b")).status_code == 400
        assert admin.post("/" + "x" * 300, json={}).status_code == 404
    entries = server.auth.list_audit().entries
    by_status = {entry.status: entry for entry in entries}
    assert by_status[400].target == "/api/v1/experiments/by-name/a\\x00b"
    assert by_status[400].action == "PUT /api/v1/experiments/by-name/{name}"
    long = by_status[404]
    assert long.target == "/api/v1/" + "x" * 300
    assert len(long.action) == ACTION_LENGTH and long.action.endswith("…")
