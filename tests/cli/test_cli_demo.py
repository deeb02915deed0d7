"""``modelcycle demo`` end to end: real training, tracked in a temporary home."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

import modelcycle as mc
from modelcycle.cli import demo

Invoke = Callable[..., Result]

pytest.importorskip("sklearn")
pytest.importorskip("skops")


@pytest.mark.slow
def test_demo_json_tracks_every_run(invoke: Invoke, tmp_path: Path) -> None:
    import skops.io

    result = invoke("demo", "--json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    expected_runs = len(demo.LOGREG_C) + len(demo.SGD_ALPHAS)
    assert len(document["runs"]) == expected_runs
    assert document["experiment"] == "demo"
    aucs = {run["id"]: run["metrics"]["val_auc"] for run in document["runs"]}
    assert document["best_run_id"] == max(aucs, key=aucs.__getitem__)
    assert all(0.9 < auc <= 1 for auc in aucs.values())
    assert document["next_commands"][0].startswith("modelcycle runs list -e demo")
    served = document["serving"]
    assert served["uri"] == f"models:/{demo.MODEL_NAME}@champion"
    assert served["errors"] == 0 and served["requests"] == demo.SERVED_REQUESTS
    assert served["agreeing"] == served["requests"] == served["metrics_requests"]

    listed = mc.search_runs(experiment="demo")
    assert set(listed["run_id"]) == set(aucs)
    sgd = next(run for run in document["runs"] if run["params"]["model"] == "SGDClassifier")
    history = mc.get_metric_history(sgd["id"], "train_loss")
    assert list(history["step"]) == list(range(1, demo.SGD_EPOCHS + 1))
    record = mc.get_run(sgd["id"])
    assert record.tags["source"] == "modelcycle demo"
    assert {item.role for item in record.inputs} == {"train", "validation"}

    [artifact] = mc.list_artifacts(document["best_run_id"])
    assert artifact.path == "model/model.skops"
    model_file = mc.download_artifacts(document["best_run_id"], artifact.path, tmp_path)
    assert skops.io.get_untrusted_types(file=model_file) == []
    model = skops.io.load(model_file)
    split = demo.load_split()
    assert model.predict(split.scaler.inverse_transform(split.x_valid[:5])).shape == (5,)


@pytest.mark.slow
def test_demo_for_people(invoke: Invoke) -> None:
    result = invoke("demo")

    assert result.exit_code == 0, result.stderr
    for text in ("Trained 5 models", "Best run:", "val_auc", "logreg-C1", "sgd-alpha",
                 "Explore further:", "modelcycle runs show ", "Served models:/",
                 "0 errors"):  # fmt: skip
        assert text in result.stdout, text


def test_demo_without_skops_says_how_to_install_it(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "skops", None)
    monkeypatch.setitem(sys.modules, "skops.io", None)

    result = invoke("demo")

    assert result.exit_code == 1
    assert result.stderr.startswith("Missing dependency: modelcycle demo needs the package")
    assert "pip install 'modelcycle[sklearn]'" in result.stderr
    assert mc.list_experiments() == []  # nothing was started
