"""The model registry through a live ``modelcycle server``: the SDK with MODELCYCLE_URI=http://…
registers, loads (verified, cached), moves aliases and promotes through the approval gate, with
the authenticated user as the actor of every decision; bad input gets the API's error shape."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer

import modelcycle as mc
from modelcycle._internal.hashing import hash_bytes
from modelcycle.client import HttpRegistryService
from modelcycle.config import config_context
from modelcycle.errors import GateFailed, InvalidInput, NotFound, PermissionDenied
from modelcycle.registry._fluent import registry_service

pytest.importorskip("skops")

TARGET = "label"


@functools.cache
def _frame() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    data = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    data[TARGET] = (data["a"] + 0.5 * data["b"] > 0).astype(int)
    return data


def _features() -> Any:
    return _frame().drop(columns=[TARGET])


@functools.cache
def _model(c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c).fit(_features(), _frame()[TARGET])


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh user home: the download cache (~/.cache/modelcycle/models) lives there."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def sdk(server: LiveServer, home: Path) -> Iterator[LiveServer]:
    """The SDK pointed at the live server as its admin."""
    with config_context(uri=server.url, token=server.admin_token):
        yield server
    mc.registry._fluent.close_all()


def _as(server: LiveServer, token: str, user: str | None = None) -> Any:
    """The SDK as another user (``user`` is what MODELCYCLE_USER would claim)."""
    return config_context(uri=server.url, token=token, user=user)


def test_register_load_and_a_tampered_cache_is_fetched_again(sdk: LiveServer, home: Path) -> None:
    assert isinstance(registry_service(), HttpRegistryService)
    with mc.start_run(experiment="churn") as run:
        first = run.log_model(_model(), "churn", input_example=_features().head(5))
    second = mc.registry.register_model(
        _model(0.01), "churn", input_example=_features().head(5), tags={"k": "v"}
    )
    assert (first.version, first.run_id, second.version, second.tags) == (1, run.id, 2, {"k": "v"})
    assert first.created_by == "admin"  # the token's user, not the operating-system user
    mc.registry.set_alias("churn", "champion", 1)

    expected = list(_model().predict(_features()))
    champion = mc.registry.load("models:/churn@champion")
    assert list(champion.predict(_features())) == expected
    assert list(mc.registry.load(f"runs:/{run.id}/churn").predict(_features())) == expected
    assert mc.registry.resolve("models:/churn/latest").version == 2
    assert [v.version for v in mc.registry.list_versions("churn")] == [2, 1]
    assert mc.registry.get_model("churn").aliases == {"champion": 1}

    cached = home / ".cache" / "modelcycle" / "models" / first.manifest_digest
    payload = max((p for p in cached.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    original = payload.read_bytes()
    payload.write_bytes(b"not the model")
    assert list(mc.registry.load("models:/churn/1").predict(_features())) == expected
    assert payload.read_bytes() == original  # fetched again from the server, verified

    mc.registry.set_alias("churn", "champion", 2)
    moves = [e for e in mc.registry.history("churn") if e.kind == "alias_set"]
    assert [(e.details["from"], e.details["to"], e.actor) for e in moves] == [
        (None, 1, "admin"),
        (1, 2, "admin"),
    ]
    mc.registry.delete_alias("churn", "champion")
    with pytest.raises(NotFound, match="champion"):
        mc.registry.load("models:/churn@champion")


def test_promotion_needs_an_approval_by_another_user(sdk: LiveServer) -> None:
    alice = sdk.make_user("alice", "editor")
    bob = sdk.make_user("bob", "editor")
    viewer = sdk.make_user("vera", "viewer")
    version = mc.registry.register_model(_model(), "churn", input_example=_features().head(5))
    mc.registry.set_policy("churn", require_approval=True, gates=["accuracy >= 0.5"])
    with _as(sdk, alice, user="bob"):  # claiming to be bob changes nothing: the token is alice's
        result = mc.evaluate(version.uri, _frame(), TARGET, feature_importance=False)
        request = mc.registry.request_transition("churn", 1, "production", comment="ship it")
        assert (request.status, request.requested_by) == ("pending", "alice")
        with pytest.raises(PermissionDenied, match="cannot also approve"):
            mc.registry.approve("churn", 1)
        with pytest.raises(PermissionDenied, match="needs admin"):
            mc.registry.set_policy("churn", require_approval=False)
    with sdk.client(viewer) as as_viewer:
        refused = as_viewer.post(f"/transition-requests/{request.id}/approve", json={})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "PermissionDenied"
    with _as(sdk, bob, user="alice"):
        approved = mc.registry.approve("churn", 1, comment="checked")
    assert (approved.status, approved.decided_by) == ("applied", "bob")
    assert mc.registry.get_model_version("churn", 1).stage == "production"
    [evaluation] = registry_service().list_evaluations("churn", 1)
    assert evaluation.metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert evaluation.created_by == "alice" and evaluation.run_id is not None
    kinds = [(e.kind, e.actor) for e in mc.registry.history("churn", 1)]
    assert ("transition_approved", "bob") in kinds and ("evaluation_attached", "alice") in kinds


def test_a_failed_gate_is_409_with_its_numbers(sdk: LiveServer) -> None:
    version = mc.registry.register_model(_model(), "churn", input_example=_features().head(5))
    mc.registry.set_policy("churn", require_approval=False, gates=["accuracy >= 1.5"])
    result = mc.evaluate(version.uri, _frame(), TARGET, feature_importance=False)
    accuracy = result.metrics["accuracy"]
    with pytest.raises(GateFailed, match=f"accuracy = {accuracy:.6g} is not >= 1.5") as caught:
        mc.registry.request_transition("churn", 1, "production")
    [gate] = caught.value.details["gates"]
    assert gate["value"] == pytest.approx(accuracy) and gate["passed"] is False
    with sdk.client() as admin:
        answer = admin.post("/models/churn/versions/1/transitions", json={"stage": "production"})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "GateFailed"
    assert mc.registry.get_model_version("churn", 1).stage == "none"
    applied = mc.registry.request_transition("churn", 1, "staging")
    assert applied.status == "applied"


def test_model_card_as_markdown_and_html(sdk: LiveServer) -> None:
    mc.registry.register_model(
        _model(), "churn", input_example=_features().head(5), description="Churn risk"
    )
    markdown = mc.registry.card("churn", 1)
    assert markdown.startswith("# Model card: churn version 1") and "Churn risk" in markdown
    with sdk.client() as admin:
        page = admin.get("/models/churn/versions/1/card", params={"format": "html"})
        bad = admin.get("/models/churn/versions/1/card", params={"format": "pdf"})
    assert page.headers["content-type"].startswith("text/html") and "<html" in page.text
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "InvalidInput"


def _error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()["error"]
    assert body["code"] == code and body["message"]
    return dict(body)


def test_bad_input_gets_the_error_shape_and_stores_nothing(
    sqlite_server: LiveServer, home: Path, tmp_path: Path
) -> None:
    with config_context(uri=sqlite_server.url, token=sqlite_server.admin_token):
        mc.registry.register_model(_model(), "churn", input_example=_features().head(5))
        with pytest.raises(InvalidInput, match="invalid model name"):
            mc.registry.get_model("-bad name")
        with pytest.raises(NotFound, match="version 9"):
            mc.registry.load("models:/churn/9")
    mc.registry._fluent.close_all()
    viewer = sqlite_server.make_user("vera", "viewer")
    with sqlite_server.client() as admin:
        assert (
            "invalid model name" in _error(admin.get("/models/-x"), 400, "InvalidInput")["message"]
        )
        _error(admin.get("/models/nope"), 404, "NotFound")
        _error(admin.get("/models/churn/versions/9"), 404, "NotFound")
        _error(admin.get("/models/churn/aliases/nope"), 404, "NotFound")
        _error(admin.get("/models/churn/aliases/Bad_Alias"), 400, "InvalidInput")
        _error(admin.get("/models/churn/versions/1/files/nothing.bin"), 404, "NotFound")
        _error(
            admin.put("/models/churn/aliases/champion", json={"version": 0}), 422, "InvalidInput"
        )
        # A blob whose bytes are not its digest is refused and not stored.
        content = b"payload"
        wrong = admin.put(f"/models/churn/blobs/{'0' * 64}", content=content)
        assert _error(wrong, 400, "InvalidInput")["details"]["actual"] == hash_bytes(content)
        missing = admin.post("/models/churn/blobs/missing", json={"digests": ["0" * 64]})
        assert missing.json() == {"missing": ["0" * 64]}
        # Registering files that were never uploaded, or that climb out of the directory.
        files = [{"path": "model.json", "digest": "1" * 64, "size": 3}]
        answer = admin.post("/models/churn/versions", json={"files": files})
        assert _error(answer, 404, "NotFound")["details"]["missing"] == ["1" * 64]
        digest = admin.put(f"/models/churn/blobs/{hash_bytes(content)}", content=content)
        assert digest.status_code == 201
        for path in ("../model.json", "/etc/passwd", "a//b", "a\\b"):
            files = [{"path": path, "digest": hash_bytes(content), "size": len(content)}]
            files.append({"path": "model.json", "digest": hash_bytes(content), "size": 7})
            answer = admin.post("/models/churn/versions", json={"files": files})
            _error(answer, 400, "InvalidInput")
        no_manifest = [{"path": "x.bin", "digest": hash_bytes(content), "size": 7}]
        answer = admin.post("/models/churn/versions", json={"files": no_manifest})
        assert "model.json" in _error(answer, 400, "InvalidInput")["message"]
        not_a_model = [{"path": "model.json", "digest": hash_bytes(content), "size": 7}]
        answer = admin.post("/models/churn/versions", json={"files": not_a_model})
        message = _error(answer, 400, "InvalidInput")["message"]  # model.json: no manifest
        # The message names the file, not the server's scratch directory.
        assert "model.json in the model directory is damaged" in message
        assert "modelcycle-register-" not in message
        assert [v["version"] for v in admin.get("/models/churn/versions").json()["versions"]] == [
            1
        ]
    with sqlite_server.client(viewer) as as_viewer:
        assert as_viewer.get("/models/churn").status_code == 200
        _error(as_viewer.post("/models", json={"name": "other"}), 403, "PermissionDenied")
        _error(
            as_viewer.put("/models/churn/aliases/champion", json={"version": 1}),
            403,
            "PermissionDenied",
        )


def test_a_model_with_its_onnx_twin_round_trips_through_the_server(sdk: LiveServer) -> None:
    """The twin is a nested payload file (``onnx/model.onnx``): uploaded, digested and
    downloaded like the others, and loadable with ``runtime="onnx"``."""
    version = mc.registry.register_model(
        _model(), "churn", input_example=_features().head(10), onnx=True
    )
    loaded = mc.registry.load(version.uri, runtime="onnx")
    assert loaded.runtime == "onnx"
    assert loaded.predict(_features()).tolist() == _model().predict(_features()).tolist()
    files = registry_service().model_version_files("churn", version.version)
    assert "onnx/model.onnx" in {item.path for item in files}
