"""``--runtime onnx`` wherever a model is loaded to predict: batch scoring (``modelcycle
predict``) and deployments serve the ONNX twin, answer like the model, and refuse a model
without one before anything is written or served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from modelcycle.cli.main import app
from modelcycle.config import config_context
from modelcycle.errors import InvalidInput
from modelcycle.registry.model_format import load_model
from modelcycle.serving._deploy_app import create_deployment_app
from modelcycle.serving.deployments import DeploymentService
from modelcycle.store import Store, open_store, resolve_uri
from tests.serving.conftest import Saved
from tests.serving.deploy_helpers import ACTOR, Clock, register_versions, service_for
from tests.serving.test_batch import Model, customers, expected, save_classifier, write_parquet


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return save_classifier(tmp_path_factory.mktemp("twin-models"), onnx=True)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return save_classifier(tmp_path_factory.mktemp("plain-models"))


def test_predict_with_the_onnx_runtime_equals_the_native_one(twin: Model, tmp_path: Path) -> None:
    frame = customers(300)
    source = write_parquet(frame, tmp_path / "in.parquet")
    outputs = {}
    for runtime in ("native", "onnx"):
        target = tmp_path / f"{runtime}.parquet"
        result = CliRunner().invoke(
            app, ["predict", str(twin.path), str(source), str(target), "--proba",
                  "--runtime", runtime],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs[runtime] = pd.read_parquet(target)
    native, onnx = outputs["native"], outputs["onnx"]
    assert onnx["prediction"].tolist() == native["prediction"].tolist() == expected(twin, frame)
    proba = [column for column in native.columns if column.startswith("proba_")]
    assert proba and proba == [c for c in onnx.columns if c.startswith("proba_")]
    np.testing.assert_allclose(onnx[proba].to_numpy(), native[proba].to_numpy(), atol=1e-9)


def test_predict_with_the_onnx_runtime_and_no_twin_writes_nothing(
    plain: Model, tmp_path: Path
) -> None:
    source = write_parquet(customers(10), tmp_path / "in.parquet")
    result = CliRunner().invoke(
        app, ["predict", str(plain.path), str(source), str(tmp_path / "out.parquet"),
              "--runtime", "onnx"],
    )  # fmt: skip
    assert result.exit_code == InvalidInput.exit_code, result.output
    assert "has no ONNX twin" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def _saved(model: Model) -> Saved:
    return Saved(model.path, model.loaded, customers(5))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The store of the platform in force: the deployment's loader reads the registry there."""
    home = str(tmp_path / "home")
    store = open_store(resolve_uri(home))
    with config_context(uri=home):
        yield store
    store.close()


@pytest.mark.anyio
async def test_a_deployment_serves_every_version_from_its_twin(store: Store, twin: Model) -> None:
    register_versions(store, _saved(twin), count=2)
    service: DeploymentService = service_for(store, Clock())
    service.create("churn-prod", "models:/churn@champion", actor=ACTOR)
    service.split("churn-prod", "models:/churn/2", 50, actor=ACTOR)
    deployment = create_deployment_app(service, "churn-prod", runtime="onnx")
    handles = deployment.state.sync.router.handles()
    assert len(handles) == 2 and {h.model.runtime for h in handles} == {"onnx"}
    rows = customers(8)[["age", "income", "tenure"]]
    body = {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
    transport = httpx.ASGITransport(app=deployment)
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
        answers = [(await http.post("/invocations", json=body)) for _ in range(6)]
    native = load_model(twin.path).predict(rows).tolist()
    assert all(a.status_code == 200 and a.json()["predictions"] == native for a in answers)


def test_a_deployment_with_a_version_without_a_twin_does_not_start(
    store: Store, twin: Model, plain: Model
) -> None:
    register_versions(store, _saved(twin), count=1)
    register_versions(store, _saved(plain), count=1)  # version 2 has no twin
    service = service_for(store, Clock())
    service.create("churn-prod", "models:/churn@champion", actor=ACTOR)
    service.split("churn-prod", "models:/churn/2", 10, actor=ACTOR)
    with pytest.raises(InvalidInput, match="has no ONNX twin"):
        create_deployment_app(service, "churn-prod", runtime="onnx")
    native = create_deployment_app(service, "churn-prod")
    assert {h.model.runtime for h in native.state.sync.router.handles()} == {"native"}
