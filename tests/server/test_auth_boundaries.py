"""Every role boundary of the API, and the audit rows the requests leave behind."""

from __future__ import annotations

import httpx
import pytest
from live_server import LiveServer

from modelcycle.client import HttpTrackingService
from modelcycle.errors import PermissionDenied, Unauthenticated


def _audit(server: LiveServer, **filters: str) -> list[dict]:
    with server.client() as admin:
        answer = admin.get("/audit", params={"limit": 1000, **filters})
    assert answer.status_code == 200
    return answer.json()["entries"]


def test_viewer_reads_but_cannot_write(sqlite_server: LiveServer) -> None:
    viewer = sqlite_server.make_user("vera", "viewer")
    with sqlite_server.client(viewer) as http:
        assert http.get("/experiments").status_code == 200
        assert http.get("/runs").status_code == 200
        refused = http.post("/experiments", json={"name": "x"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "PermissionDenied"
    assert "editor" in refused.json()["error"]["message"]
    client = HttpTrackingService(sqlite_server.url, token=viewer)
    with pytest.raises(PermissionDenied, match="vera"):
        client.get_or_create_experiment("x")
    client.close()
    entry = _audit(sqlite_server, user="vera", action="POST /api/v1/experiments")[0]
    assert entry["status"] == 403 and entry["target"] == "/api/v1/experiments"


def test_viewer_cannot_upload_an_artifact(sqlite_server: LiveServer) -> None:
    viewer = sqlite_server.make_user("vera", "viewer")
    with sqlite_server.client() as admin:
        experiment = admin.put("/experiments/by-name/e").json()["id"]
        run_id = admin.post("/runs", json={"experiment_id": experiment}).json()["id"]
    with sqlite_server.client(viewer) as http:
        answer = http.put(
            f"/runs/{run_id}/artifacts/f.txt",
            content=b"x",
            headers={"X-Content-Blake3": "0" * 64},
        )
    assert answer.status_code == 403


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer mct_nope_nope", "Basic abc"])
def test_missing_or_wrong_token_is_401(sqlite_server: LiveServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    answer = httpx.get(f"{sqlite_server.url}/api/v1/runs", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["error"]["code"] == "Unauthenticated"


def test_revoked_token_is_401(sqlite_server: LiveServer) -> None:
    token = sqlite_server.make_user("eddie", "editor")
    with sqlite_server.client(token) as http:
        assert http.get("/experiments").status_code == 200
        sqlite_server.auth.revoke_token(sqlite_server.auth.token_id_of(token))
        answer = http.post("/experiments", json={"name": "late"})
    assert answer.status_code == 401
    client = HttpTrackingService(sqlite_server.url, token=token)
    with pytest.raises(Unauthenticated):
        client.list_experiments()
    client.close()
    entry = _audit(sqlite_server, action="POST /api/v1/experiments")[0]
    assert entry["user"] is None and entry["status"] == 401
    assert entry["details"]["token_id"] == sqlite_server.auth.token_id_of(token)


def test_editor_writes_but_cannot_read_audit_or_manage_users(sqlite_server: LiveServer) -> None:
    editor = sqlite_server.make_user("eddie", "editor")
    with sqlite_server.client(editor) as http:
        assert http.post("/experiments", json={"name": "mine"}).status_code == 201
        assert http.get("/audit").status_code == 403
        assert http.get("/users").status_code == 403
        assert http.post("/users", json={"name": "mallory", "role": "admin"}).status_code == 403
        assert http.post("/runs/purge").status_code == 403
    assert [u.name for u in sqlite_server.auth.list_users()] == ["admin", "eddie"]


def test_admin_reads_audit_and_manages_users(sqlite_server: LiveServer) -> None:
    with sqlite_server.client() as admin:
        created = admin.post("/users", json={"name": "nina", "role": "viewer"})
        assert created.status_code == 201
        token = created.json()["token"]
        assert admin.patch("/users/nina", json={"role": "editor"}).json()["role"] == "editor"
        both = admin.patch("/users/nina", json={"role": "viewer", "disabled": True}).json()
        assert (both["role"], both["disabled"]) == ("viewer", True)
        assert admin.patch("/users/nina", json={"disabled": False}).json()["disabled"] is False
        refused = admin.patch("/users/admin", json={"role": "editor", "disabled": True})
        assert refused.status_code == 400 and "no enabled admin" in refused.text
        assert admin.patch("/users/ghost", json={}).status_code == 404
        tokens = admin.get("/users/nina/tokens").json()["tokens"]
        assert len(tokens) == 1
        revoked = admin.delete(f"/users/nina/tokens/{tokens[0]['token_id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert admin.get("/users").json()["users"][1]["name"] == "nina"
        assert admin.get("/audit").status_code == 200
    with sqlite_server.client(token) as http:
        assert http.get("/experiments").status_code == 401
    actions = {e["action"] for e in _audit(sqlite_server, user="admin")}
    assert {
        "POST /api/v1/users",
        "PATCH /api/v1/users/{name}",
        "DELETE /api/v1/users/{name}/tokens/{token_id}",
    } <= actions


def test_every_mutation_is_audited_reads_are_not(sqlite_server: LiveServer) -> None:
    with sqlite_server.client() as admin:
        experiment = admin.put("/experiments/by-name/e").json()["id"]
        run_id = admin.post("/runs", json={"experiment_id": experiment}).json()["id"]
        admin.get(f"/runs/{run_id}")
        admin.patch(f"/runs/{run_id}/tags", json={"tags": {"a": "1"}})
        admin.post(f"/runs/{run_id}/end", json={"status": "FINISHED"})
        admin.post(f"/runs/{run_id}/end", json={"status": "FINISHED"})  # refused: 400
        admin.delete(f"/runs/{run_id}")
    entries = _audit(sqlite_server, user="admin")
    assert [(e["action"], e["status"]) for e in reversed(entries)] == [
        ("PUT /api/v1/experiments/by-name/{name}", 200),
        ("POST /api/v1/runs", 201),
        ("PATCH /api/v1/runs/{run_id}/tags", 204),
        ("POST /api/v1/runs/{run_id}/end", 204),
        ("POST /api/v1/runs/{run_id}/end", 400),
        ("DELETE /api/v1/runs/{run_id}", 204),
    ]
    assert entries[0]["details"]["path_params"] == {"run_id": run_id}
    assert entries[0]["source"] == "127.0.0.1"


def test_health_needs_no_token(sqlite_server: LiveServer) -> None:
    health = httpx.get(f"{sqlite_server.url}/api/v1/health")
    assert health.status_code == 200 and health.json()["auth"] is True
    assert httpx.get(f"{sqlite_server.url}/api/v1/health/ready").json()["database"] == "ok"
