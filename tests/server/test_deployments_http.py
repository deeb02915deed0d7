"""Deployments through a live ``modelcycle server``: ``mc.deployments`` and ``modelcycle deploy``
with MODELCYCLE_URI=http://… create, split, roll back and read status; the token's user is the
actor of every change; viewers may read but not change; bad input and unknown names get the API's
error shape and change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer
from typer.testing import CliRunner

import modelcycle as mc
from modelcycle.client import HttpDeploymentService
from modelcycle.config import config_context, reset_settings_cache
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from modelcycle.registry.service import RegistryService
from modelcycle.serving._deploy_fluent import close_all, deployment_service

pytest.importorskip("skops")

PRIMARY = "models:/churn@champion"
CANDIDATE = "models:/churn/2"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny saved classifier: what the versions are does not matter to routing."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from modelcycle.registry.model_format import save_model

    features = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.9]])
    path = tmp_path_factory.mktemp("deploy-model") / "model"
    save_model(LogisticRegression().fit(features, [0, 1, 1, 0]), path, input_example=features)
    return path


@pytest.fixture
def churn(server: LiveServer, model_dir: Path) -> LiveServer:
    """The server with ``churn`` versions 1 and 2, ``@champion`` → 1, written to its store."""
    registry = RegistryService(server.store)
    for _ in range(2):
        registry.register_model_version("churn", model_dir, created_by="admin")
    registry.set_alias("churn", "champion", 1, actor="admin")
    return server


@pytest.fixture
def sdk(churn: LiveServer) -> Iterator[LiveServer]:
    """The SDK pointed at the live server as its admin."""
    with config_context(uri=churn.url, token=churn.admin_token, user="someone-else"):
        yield churn
    close_all()


def _error(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()["error"]
    assert body["code"] == code and body["message"]
    return str(body["message"])


def test_create_split_rollback_and_status_through_the_sdk(sdk: LiveServer) -> None:
    assert isinstance(deployment_service(), HttpDeploymentService)
    created = mc.deployments.create("churn-prod", PRIMARY)
    assert (created.revision, created.routing.primary, created.created_by) == (1, PRIMARY, "admin")
    with pytest.raises(AlreadyExists, match="churn-prod"):
        mc.deployments.create("churn-prod", PRIMARY)

    split = mc.deployments.split("churn-prod", CANDIDATE, "10%", sticky_header="X-User-Id")
    assert split.revision == 2 and split.routing.primary_percent() == 90.0
    assert [(s.target, s.percent) for s in split.routing.splits] == [(CANDIDATE, 10.0)]
    assert split.routing.sticky_header == "X-User-Id"

    back = mc.deployments.rollback("churn-prod")
    assert (back.revision, back.routing.splits) == (3, ())
    assert mc.deployments.get("churn-prod") == back
    assert [d.name for d in mc.deployments.list()] == ["churn-prod"]

    found = mc.deployments.status("churn-prod", window_s=60)
    assert found.deployment == back and found.resolved == {PRIMARY: 1}
    assert [(s["role"], s["version"], s["percent"]) for s in found.shares] == [
        ("primary", 1, 100.0)
    ]
    assert (found.traffic, found.replicas, found.canary) == ([], 0, None)
    history = mc.deployments.history("churn-prod")
    assert [(r.revision, r.action, r.actor) for r in history] == [
        (3, "rollback", "admin"),  # the token's user, not MODELCYCLE_USER's claim
        (2, "split", "admin"),
        (1, "create", "admin"),
    ]
    assert history[0].details == {"to_revision": 1, "from_revision": 2}

    mc.deployments.shadow("churn-prod", CANDIDATE)
    canary = mc.deployments.canary("churn-prod", CANDIDATE, steps=[5, 50], interval_s=60)
    assert canary.routing.canary is not None and canary.routing.canary.percent == 5.0
    assert canary.routing.shadows == ()  # a canary is served for real, not mirrored too
    promoted = mc.deployments.promote("churn-prod")
    assert (promoted.revision, promoted.routing.primary) == (6, CANDIDATE)
    with sdk.client() as admin:
        audited = admin.get("/audit", params={"action": "POST /api/v1/deployments/{name}/split"})
    [entry] = audited.json()["entries"]
    assert (entry["user"], entry["status"], entry["target"]) == (
        "admin",
        200,
        "/api/v1/deployments/churn-prod/split",
    )


def test_a_viewer_reads_but_cannot_change(churn: LiveServer) -> None:
    viewer = churn.make_user("vera", "viewer")
    with churn.client() as admin:
        assert admin.post("/deployments", json={"name": "churn-prod", "model": PRIMARY}).is_success
    with churn.client(viewer) as as_viewer:
        assert as_viewer.get("/deployments/churn-prod").status_code == 200
        assert as_viewer.get("/deployments/churn-prod/status").status_code == 200
        message = _error(
            as_viewer.post("/deployments/churn-prod/rollback"), 403, "PermissionDenied"
        )
        assert "needs editor" in message
    with config_context(uri=churn.url, token=viewer):
        with pytest.raises(PermissionDenied, match="needs editor"):
            mc.deployments.split("churn-prod", CANDIDATE, 10)
        assert mc.deployments.get("churn-prod").revision == 1
    close_all()


def test_unknown_and_bad_input_get_the_error_shape_and_change_nothing(churn: LiveServer) -> None:
    with churn.client() as admin:
        _error(admin.get("/deployments/nope"), 404, "NotFound")
        _error(admin.post("/deployments/nope/promote"), 404, "NotFound")
        _error(admin.get("/deployments/Bad_Name"), 400, "InvalidInput")
        missing = {"name": "churn-prod", "model": "models:/churn/9"}
        _error(admin.post("/deployments", json=missing), 404, "NotFound")
        assert admin.post("/deployments", json={"name": "churn-prod", "model": PRIMARY}).is_success
        over = {"target": CANDIDATE, "percent": 150}
        message = _error(
            admin.post("/deployments/churn-prod/split", json=over), 400, "InvalidInput"
        )
        assert "--percent must be a percentage from 0 to 100" in message
        typo = {"target": CANDIDATE, "percnt": 10}
        _error(admin.post("/deployments/churn-prod/split", json=typo), 422, "InvalidInput")
        steps = {"target": CANDIDATE, "steps": [50, 5]}
        _error(admin.post("/deployments/churn-prod/canary", json=steps), 400, "InvalidInput")
        _error(admin.post("/deployments/churn-prod/rollback"), 400, "InvalidInput")
        _error(admin.get("/deployments/churn-prod/status?window_s=0"), 422, "InvalidInput")
        assert admin.get("/deployments/churn-prod").json()["revision"] == 1
    with config_context(uri=churn.url, token=churn.admin_token):
        with pytest.raises(NotFound, match="nope"):
            mc.deployments.status("nope")
        with pytest.raises(InvalidInput, match="invalid deployment name"):
            mc.deployments.get("")
    close_all()


def test_the_cli_goes_through_the_server(
    churn: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelcycle.cli.main import app

    monkeypatch.setenv("MODELCYCLE_URI", churn.url)
    monkeypatch.setenv("MODELCYCLE_TOKEN", churn.admin_token)
    reset_settings_cache()
    runner = CliRunner()
    try:
        created = runner.invoke(app, ["deploy", "create", "churn-prod", "--model", PRIMARY])
        assert created.exit_code == 0, created.output
        refused = runner.invoke(
            app, ["deploy", "split", "churn-prod", "--to", CANDIDATE, "--percent", "150"]
        )
        assert refused.exit_code == 2 and "percentage from 0 to 100" in refused.output
        listed = runner.invoke(app, ["deploy", "list", "--json"])
    finally:
        close_all()
    assert listed.exit_code == 0, listed.output
    [deployment] = json.loads(listed.output)["deployments"]
    assert (deployment["name"], deployment["revision"], deployment["created_by"]) == (
        "churn-prod",
        1,
        "admin",
    )
    assert deployment["routing"]["primary"] == PRIMARY
