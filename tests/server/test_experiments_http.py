"""Rename, delete and restore of experiments over HTTP: roles, error shape, audit, retries."""

from __future__ import annotations

import httpx
import pytest
from live_server import LiveServer

from modelcycle.client import HttpTrackingService
from modelcycle.errors import PermissionDenied


def _experiment(server: LiveServer, name: str = "churn") -> int:
    with server.client() as admin:
        answer = admin.post("/experiments", json={"name": name})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_viewer_cannot_rename_delete_or_restore(sqlite_server: LiveServer) -> None:
    experiment = _experiment(sqlite_server)
    viewer = sqlite_server.make_user("vera", "viewer")
    with sqlite_server.client(viewer) as http:
        assert http.get("/experiments", params={"include_deleted": True}).status_code == 200
        for answer in (
            http.delete(f"/experiments/{experiment}"),
            http.patch(f"/experiments/{experiment}", json={"name": "x"}),
            http.post(f"/experiments/{experiment}/restore"),
        ):
            assert answer.status_code == 403
            assert answer.json()["error"]["code"] == "PermissionDenied"
            assert "editor" in answer.json()["error"]["message"]
    client = HttpTrackingService(sqlite_server.url, token=viewer)
    with pytest.raises(PermissionDenied, match="vera"):
        client.delete_experiment("churn")
    client.close()
    with sqlite_server.client() as admin:
        assert admin.get(f"/experiments/{experiment}").json()["lifecycle_stage"] == "active"


def test_editor_deletes_and_restores_and_each_write_is_audited(
    sqlite_server: LiveServer,
) -> None:
    experiment = _experiment(sqlite_server)
    editor = sqlite_server.make_user("eddie", "editor")
    with sqlite_server.client(editor) as http:
        renamed = http.patch(f"/experiments/{experiment}", json={"name": "churn-2024"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "churn-2024"
        deleted = http.delete(f"/experiments/{experiment}")
        assert deleted.status_code == 200 and deleted.json()["lifecycle_stage"] == "deleted"
        assert http.get("/experiments").json()["experiments"] == []
        listed = http.get("/experiments", params={"include_deleted": "true"}).json()
        assert [e["lifecycle_stage"] for e in listed["experiments"]] == ["deleted"]
        restored = http.post(f"/experiments/{experiment}/restore")
        assert restored.status_code == 200 and restored.json()["lifecycle_stage"] == "active"
    with sqlite_server.client() as admin:
        entries = admin.get("/audit", params={"user": "eddie", "limit": 100}).json()["entries"]
    assert [(e["action"], e["status"]) for e in reversed(entries)] == [
        ("PATCH /api/v1/experiments/{experiment_id}", 200),
        ("DELETE /api/v1/experiments/{experiment_id}", 200),
        ("POST /api/v1/experiments/{experiment_id}/restore", 200),
    ]
    assert entries[0]["details"]["path_params"] == {"experiment_id": str(experiment)}


def test_bad_requests_answer_4xx_in_the_error_shape(sqlite_server: LiveServer) -> None:
    experiment = _experiment(sqlite_server)
    _experiment(sqlite_server, "fraud")
    path = f"/experiments/{experiment}"
    with sqlite_server.client() as http:
        cases = [
            (http.delete("/experiments/424242"), 404, "NotFound"),
            (http.post("/experiments/424242/restore"), 404, "NotFound"),
            (http.patch("/experiments/424242", json={"name": "x"}), 404, "NotFound"),
            (http.patch(path, json={"name": "fraud"}), 409, "AlreadyExists"),
            (http.patch(path, json={"name": ""}), 422, "InvalidInput"),
            (http.patch(path, json={"name": "  "}), 400, "InvalidInput"),
            (http.patch(path, json={}), 422, "InvalidInput"),
            (http.patch(path, json={"name": "x", "y": 1}), 422, "InvalidInput"),
            (http.delete(f"/experiments/{2**40}"), 422, "InvalidInput"),
        ]
        for answer, status, code in cases:
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (
                answer.request.method,
                answer.request.url,
                answer.text,
            )
            assert set(answer.json()["error"]) == {"code", "message", "details"}
        default = _default_experiment(http)
        refused = http.delete(f"/experiments/{default}")
        assert refused.status_code == 400 and "default experiment" in refused.text
        http.delete(path)
        run = http.post("/runs", json={"experiment_id": experiment})
        assert run.status_code == 400
        assert "restore" in run.json()["error"]["message"]
        assert run.json()["error"]["details"]["experiment"] == "churn"
        taken = http.post("/experiments", json={"name": "churn"})
        assert taken.status_code == 409 and "restore" in taken.json()["error"]["message"]


def _default_experiment(http: httpx.Client) -> int:
    return int(http.put("/experiments/by-name/Default").json()["id"])


def test_a_retried_restore_is_answered_from_its_key(sqlite_server: LiveServer) -> None:
    experiment = _experiment(sqlite_server)
    headers = {"Idempotency-Key": "restore-key-0001"}
    with sqlite_server.client() as http:
        http.delete(f"/experiments/{experiment}")
        first = http.post(f"/experiments/{experiment}/restore", headers=headers)
        http.delete(f"/experiments/{experiment}")
        again = http.post(f"/experiments/{experiment}/restore", headers=headers)
        assert again.status_code == 200 and again.json() == first.json()
        # The replay did not restore it a second time.
        assert http.get(f"/experiments/{experiment}").json()["lifecycle_stage"] == "deleted"


def test_client_resolves_names_and_renames_by_id(sqlite_server: LiveServer) -> None:
    _experiment(sqlite_server, "42")  # a name made of digits is a name, not an id
    client = HttpTrackingService(sqlite_server.url, token=sqlite_server.admin_token)
    try:
        renamed = client.rename_experiment("42", "forty-two")
        assert client.get_experiment(renamed.id).name == "forty-two"
        assert client.delete_experiment("forty-two").lifecycle_stage == "deleted"
        assert client.restore_experiment(renamed.id).lifecycle_stage == "active"
    finally:
        client.close()
