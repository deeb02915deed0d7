"""The ONNX twin (``save_model(onnx=True)``): kept only when it answers like the model, covered by
the manifest's digests, loaded by ``runtime="onnx"`` without importing scikit-learn."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

import modelcycle as mc
from modelcycle.config import config_context
from modelcycle.errors import IntegrityError, InvalidInput
from modelcycle.registry.model_format import load_model, read_manifest, save_model

COLUMNS = ["a", "b", "c", "d"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS)


def _binary(frame: pd.DataFrame) -> np.ndarray:
    return (frame["a"] + 0.5 * frame["b"] > 0).astype(int).to_numpy()


TRAIN = _frame(400, 0)
UNSEEN = _frame(200, 1)

CASES: dict[str, tuple[Any, Any]] = {
    "logistic, named columns": (LogisticRegression(), _binary(TRAIN)),
    "logistic, three string classes": (
        LogisticRegression(),
        np.select([TRAIN["a"] > 0.5, TRAIN["a"] < -0.5], ["high", "low"], "mid"),
    ),
    "scaler + logistic pipeline": (
        make_pipeline(StandardScaler(), LogisticRegression()),
        _binary(TRAIN),
    ),
    "random forest": (RandomForestClassifier(n_estimators=11, random_state=0), _binary(TRAIN)),
    "linear regression": (LinearRegression(), TRAIN["a"] * 3 - TRAIN["c"]),
    "svc without probabilities": (SVC(), _binary(TRAIN)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_twin_answers_like_the_model(case: str, tmp_path: Path) -> None:
    estimator, target = CASES[case]
    estimator.fit(TRAIN, target)
    manifest = save_model(estimator, tmp_path / "m", input_example=TRAIN.head(20), onnx=True)
    twin = manifest.onnx_twin
    assert twin is not None and twin.path == "onnx/model.onnx"
    assert twin.path in manifest.digests
    assert twin.converter.startswith("skl2onnx==")
    assert any(line.startswith("onnxruntime==") for line in manifest.requirements)

    native = load_model(tmp_path / "m")
    onnx = load_model(tmp_path / "m", runtime="onnx")
    assert (native.runtime, onnx.runtime) == ("native", "onnx")
    assert onnx.flavor == "sklearn"  # still the model's own flavor; only the runtime differs
    assert onnx.has_proba == native.has_proba
    assert onnx.classes == native.classes
    expected = native.predict(UNSEEN)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(onnx.predict(UNSEEN), expected, rtol=1e-6)
    else:
        assert onnx.predict(UNSEEN).tolist() == expected.tolist()
        assert onnx.predict_array(UNSEEN.to_numpy()).tolist() == expected.tolist()
    if native.has_proba:
        np.testing.assert_allclose(
            onnx.predict_proba(UNSEEN), native.predict_proba(UNSEEN), atol=1e-5
        )


def test_a_boolean_classifier_twin_answers_booleans(tmp_path: Path) -> None:
    """skl2onnx computes boolean classes as 0/1: served as they are, clients would get 1 where
    the model says true (and True == 1 would hide it from a plain comparison)."""
    model = LogisticRegression().fit(TRAIN, TRAIN["a"] > 0)
    save_model(model, tmp_path / "m", input_example=TRAIN.head(20), onnx=True)
    twin = load_model(tmp_path / "m", runtime="onnx")
    answers = twin.predict(UNSEEN)
    assert answers.dtype == np.bool_ and answers.tolist() == model.predict(UNSEEN).tolist()
    assert twin.predict_array(UNSEEN.to_numpy()).dtype == np.bool_
    assert twin.classes == [False, True]


def test_float64_graphs_agree_to_rounding_and_tree_boosting_falls_back_to_float32(
    tmp_path: Path,
) -> None:
    logistic = LogisticRegression().fit(TRAIN, _binary(TRAIN))
    exact = save_model(logistic, tmp_path / "lr", input_example=TRAIN.head(20), onnx=True)
    assert exact.onnx_twin is not None
    assert exact.onnx_twin.dtype == "float64" and exact.onnx_twin.max_difference < 1e-12
    assert exact.onnx_twin.layout == "tensor"  # all numeric: the one-array fast path
    # onnxruntime has no float64 kernel for skl2onnx's gradient-boosting graph.
    boosted = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(
        TRAIN, _binary(TRAIN)
    )
    fallback = save_model(boosted, tmp_path / "gb", input_example=TRAIN.head(20), onnx=True)
    assert fallback.onnx_twin is not None and fallback.onnx_twin.dtype == "float32"


def test_a_twin_needs_an_input_example(tmp_path: Path) -> None:
    model = LogisticRegression().fit(TRAIN, _binary(TRAIN))
    with pytest.raises(InvalidInput, match="needs an input_example"):
        save_model(model, tmp_path / "m", onnx=True)
    assert not (tmp_path / "m").exists()


def test_string_columns_get_one_graph_input_each(tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer

    frame = TRAIN.assign(plan=np.where(TRAIN["a"] > 0, "pro", "free"))
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(frame, _binary(TRAIN))
    manifest = save_model(model, tmp_path / "m", input_example=frame.head(20), onnx=True)
    assert manifest.onnx_twin is not None and manifest.onnx_twin.layout == "columns"
    twin = load_model(tmp_path / "m", runtime="onnx")
    unseen = UNSEEN.assign(plan=np.where(UNSEEN["b"] > 1, "gold", "free"))  # "gold": unseen
    assert twin.predict(unseen).tolist() == model.predict(unseen).tolist()
    np.testing.assert_allclose(twin.predict_proba(unseen), model.predict_proba(unseen), atol=1e-5)


def test_a_date_column_gets_no_twin(tmp_path: Path) -> None:
    from sklearn.dummy import DummyClassifier

    frame = TRAIN.assign(when=pd.Timestamp("2026-01-01"))
    model = DummyClassifier().fit(frame, _binary(TRAIN))
    with pytest.raises(InvalidInput, match="numeric and string columns; column 'when'"):
        save_model(model, tmp_path / "m", input_example=frame.head(5), onnx=True)
    assert not (tmp_path / "m").exists()


def test_only_scikit_learn_models_get_a_twin(tmp_path: Path) -> None:
    from skl2onnx import to_onnx

    graph = to_onnx(LogisticRegression().fit(TRAIN, _binary(TRAIN)), TRAIN.to_numpy("float32"))
    with pytest.raises(InvalidInput, match="converts scikit-learn models; this is a onnx model"):
        save_model(graph, tmp_path / "m", input_example=TRAIN.head(5).astype("float32"), onnx=True)


def test_a_model_skl2onnx_cannot_convert_is_refused_whole(tmp_path: Path) -> None:
    model = HistGradientBoostingClassifier(max_iter=5).fit(TRAIN, _binary(TRAIN))
    with pytest.raises(InvalidInput, match="could not be converted to an ONNX twin") as caught:
        save_model(model, tmp_path / "m", input_example=TRAIN.head(5), onnx=True)
    assert [attempt.split(":")[0] for attempt in caught.value.details["attempts"]] == [
        "float64 tensor",
        "float32 tensor",
        "float64 columns",
        "float32 columns",
    ]
    assert not (tmp_path / "m").exists()
    assert list(tmp_path.iterdir()) == []  # the scratch directory is gone too


@pytest.fixture
def twin_dir(tmp_path: Path) -> Path:
    model = LogisticRegression().fit(TRAIN, _binary(TRAIN))
    save_model(model, tmp_path / "m", input_example=TRAIN.head(20), onnx=True)
    return tmp_path / "m"


def test_loading_a_twin_that_is_not_there_or_an_unknown_runtime_is_refused(
    tmp_path: Path,
) -> None:
    save_model(LinearRegression().fit(TRAIN, TRAIN["a"]), tmp_path / "m")
    with pytest.raises(InvalidInput, match="has no ONNX twin"):
        load_model(tmp_path / "m", runtime="onnx")
    with pytest.raises(
        InvalidInput,
        match="unknown runtime 'tensorrt'; choose one of native, onnx",
    ):
        load_model(tmp_path / "m", runtime="tensorrt")


def test_a_changed_twin_is_refused_by_both_runtimes(twin_dir: Path) -> None:
    graph = twin_dir / "onnx" / "model.onnx"
    data = bytearray(graph.read_bytes())
    data[-10] ^= 0x01
    graph.write_bytes(bytes(data))
    for runtime in ("native", "onnx"):
        with pytest.raises(IntegrityError, match="onnx/model.onnx") as caught:
            load_model(twin_dir, runtime=runtime)
        assert caught.value.details["problem"] == "changed"


def test_a_manifest_pointing_the_twin_elsewhere_is_damaged(twin_dir: Path) -> None:
    manifest = json.loads((twin_dir / "model.json").read_text())
    manifest["onnx_twin"]["path"] = "../elsewhere/model.onnx"
    (twin_dir / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="damaged"):
        load_model(twin_dir, runtime="onnx")


def test_the_onnx_runtime_imports_no_scikit_learn(twin_dir: Path) -> None:
    script = (
        "import sys, numpy as np\n"
        "from modelcycle.registry.model_format import load_model\n"
        f"model = load_model({str(twin_dir)!r}, runtime='onnx')\n"
        "print(model.predict_array(np.zeros((3, 4))).tolist())\n"
        "print(sorted(m for m in ('sklearn', 'skops', 'scipy', 'pandas') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    labels, imported = result.stdout.splitlines()
    expected = load_model(twin_dir).predict_array(np.zeros((3, 4))).tolist()
    assert labels == str(expected)
    assert imported == "[]"


def test_registered_and_logged_with_a_twin_and_loaded_by_uri(tmp_path: Path) -> None:
    model = LogisticRegression().fit(TRAIN, _binary(TRAIN))
    with config_context(uri=str(tmp_path / "home")):
        version = mc.registry.register_model(
            model, "churn", input_example=TRAIN.head(10), onnx=True
        )
        with mc.start_run() as run:
            logged = run.log_model(model, "churn", input_example=TRAIN.head(10), onnx=True)
        for uri in (version.uri, logged.uri, f"runs:/{run.id}/churn"):
            loaded = mc.registry.load(uri, runtime="onnx")
            assert loaded.runtime == "onnx"
            assert loaded.predict(UNSEEN).tolist() == model.predict(UNSEEN).tolist()
        plain = mc.registry.register_model(model, "plain", input_example=TRAIN.head(10))
        with pytest.raises(InvalidInput, match="has no ONNX twin"):
            mc.registry.load(plain.uri, runtime="onnx")
        local = mc.registry.local_path(version.uri)
    assert read_manifest(local).onnx_twin is not None


def test_a_saved_directory_with_a_twin_copies_and_registers_as_is(
    twin_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(twin_dir, copy)
    with config_context(uri=str(tmp_path / "home")):
        version = mc.registry.register_model(copy, "churn")
        loaded = mc.registry.load(version.uri, runtime="onnx")
    assert loaded.predict(UNSEEN).tolist() == load_model(twin_dir).predict(UNSEEN).tolist()


def test_onnx_true_with_a_saved_directory_is_refused(tmp_path: Path) -> None:
    save_model(LinearRegression().fit(TRAIN, TRAIN["a"]), tmp_path / "m")
    with config_context(uri=str(tmp_path / "home")):
        with pytest.raises(InvalidInput, match="save_model\\(..., onnx=True\\)"):
            mc.registry.register_model(tmp_path / "m", "plain", onnx=True)
        assert mc.registry.list_models() == []  # nothing registered
