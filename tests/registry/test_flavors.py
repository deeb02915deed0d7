"""Flavors: discovery, and a save → load → predict round trip for each one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from modelcycle.errors import InvalidInput, NotFound, PermissionDenied
from modelcycle.registry.flavors import available_flavors, flavor_for, get_flavor
from modelcycle.registry.model_format import load_model, read_manifest, save_model


def _data(rows: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    target = rng.integers(0, 3, size=rows)
    return frame, target


class MeanModel:
    """A model in plain Python: the pyfunc flavor's case."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame.to_numpy().mean(axis=1) + self.offset


class Unsavable:
    pass


def test_flavors_are_discovered_from_the_package() -> None:
    assert available_flavors() == ["onnx", "pyfunc", "sklearn"]
    assert get_flavor("sklearn").name == "sklearn"
    with pytest.raises(NotFound, match="known flavors: onnx, pyfunc, sklearn"):
        get_flavor("tensorflow")


def test_flavor_detection_prefers_the_specific_flavor() -> None:
    frame, target = _data()
    estimator = LogisticRegression().fit(frame, target)
    assert flavor_for(estimator).name == "sklearn"
    assert flavor_for(make_pipeline(StandardScaler(), LogisticRegression())).name == "sklearn"
    assert flavor_for(to_onnx(estimator, frame.to_numpy(np.float32)[:1])).name == "onnx"
    assert flavor_for(MeanModel(1.0)).name == "pyfunc"
    with pytest.raises(InvalidInput, match="no model flavor can save"):
        flavor_for(Unsavable())


def test_sklearn_round_trip(tmp_path: Path) -> None:
    frame, target = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, target)
    manifest = save_model(model, tmp_path / "m", input_example=frame.head())
    assert manifest.flavor == "sklearn"
    assert any(line.startswith("scikit-learn==") for line in manifest.requirements)
    assert any(line.startswith("skops==") for line in manifest.requirements)
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict_array(frame.to_numpy()), model.predict(frame))
    assert loaded.classes == [0, 1, 2]
    assert loaded.has_proba


def test_sklearn_model_fitted_on_arrays_predicts_from_frames(tmp_path: Path) -> None:
    frame, target = _data()
    model = LinearRegression().fit(frame.to_numpy(), target)
    save_model(model, tmp_path / "m", input_example=frame.to_numpy()[:5])
    loaded = load_model(tmp_path / "m")
    assert loaded.signature is not None
    assert loaded.signature.input_names == ["x0", "x1", "x2"]
    np.testing.assert_allclose(loaded.predict(frame.to_numpy()), model.predict(frame.to_numpy()))
    assert not loaded.has_proba
    with pytest.raises(InvalidInput, match="no class probabilities"):
        loaded.predict_proba(frame.to_numpy())


def test_sklearn_mixed_types_pipeline_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"city": ["oslo", "rome", "oslo", "lima"] * 5, "size": np.arange(20, dtype=float)}
    )
    target = (frame["size"] > 9).astype(int)
    model = make_pipeline(
        ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough"),
        LogisticRegression(),
    ).fit(frame, target)
    save_model(model, tmp_path / "m", input_example=frame.head())
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert not loaded.supports_array
    with pytest.raises(InvalidInput, match="all numeric"):
        loaded.predict_array(np.zeros((1, 2)))


def test_sklearn_refuses_types_outside_the_allow_list(tmp_path: Path) -> None:
    frame, target = _data()
    model = make_pipeline(FunctionTransformer(_double), LinearRegression()).fit(frame, target)
    save_model(model, tmp_path / "m", input_example=frame.head())
    with pytest.raises(PermissionDenied, match="_double") as caught:
        load_model(tmp_path / "m")
    assert any("_double" in name for name in caught.value.details["types"])
    loaded = load_model(tmp_path / "m", trusted=True)
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))


def _double(values: Any) -> Any:
    return values * 2


@pytest.mark.parametrize("zipmap", [False, True])
def test_onnx_round_trip_matches_sklearn(tmp_path: Path, zipmap: bool) -> None:
    frame, target = _data()
    model = LogisticRegression().fit(frame.to_numpy(), target)
    proto = to_onnx(
        model, frame.to_numpy(np.float32)[:1], options={"zipmap": zipmap}, target_opset=17
    )
    manifest = save_model(proto, tmp_path / "m", input_example=frame.head())
    assert manifest.flavor == "onnx"
    assert any(line.startswith("onnxruntime==") for line in manifest.requirements)
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame.to_numpy()))
    np.testing.assert_allclose(
        loaded.predict_proba(frame), model.predict_proba(frame.to_numpy()), atol=1e-5
    )
    assert loaded.classes == [0, 1, 2]
    np.testing.assert_array_equal(
        loaded.predict_array(frame.to_numpy()), model.predict(frame.to_numpy())
    )


def test_onnx_regressor_has_no_probabilities(tmp_path: Path) -> None:
    frame, target = _data()
    regressor = LinearRegression().fit(frame.to_numpy(), target.astype(float))
    proto = to_onnx(regressor, frame.to_numpy(np.float32)[:1], target_opset=17)
    save_model(proto, tmp_path / "m", input_example=frame.head())
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(
        loaded.predict(frame), regressor.predict(frame.to_numpy()), atol=1e-5
    )
    assert not loaded.has_proba


def test_pyfunc_round_trip_needs_trust(tmp_path: Path) -> None:
    frame, _ = _data()
    manifest = save_model(MeanModel(2.0), tmp_path / "m", input_example=frame.head())
    assert manifest.flavor == "pyfunc"
    with pytest.raises(PermissionDenied, match="trusted=True"):
        load_model(tmp_path / "m")
    loaded = load_model(tmp_path / "m", trusted=True)
    np.testing.assert_allclose(loaded.predict(frame), frame.to_numpy().mean(axis=1) + 2.0)
    np.testing.assert_allclose(
        loaded.predict_array(frame.to_numpy()), frame.to_numpy().mean(axis=1) + 2.0
    )
    assert read_manifest(tmp_path / "m").flavor_options["python_class"].endswith("MeanModel")


def test_explicit_flavor_that_cannot_save_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="sklearn flavor cannot save"):
        save_model(MeanModel(0.0), tmp_path / "m", flavor="sklearn")
    assert not (tmp_path / "m").exists()


def test_onnx_graph_with_one_input_per_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"city": rng.choice(["a", "b", "c"], 50).astype(object), "size": rng.normal(size=50)}
    )
    target = (frame["size"] > 0).astype(int)
    model = make_pipeline(
        ColumnTransformer(
            [("city", OneHotEncoder(), ["city"]), ("size", StandardScaler(), ["size"])]
        ),
        LogisticRegression(),
    ).fit(frame, target)
    proto = to_onnx(model, frame[:1].astype({"size": "float32"}), options={"zipmap": False})
    save_model(proto, tmp_path / "m", input_example=frame.head())
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame), atol=1e-5)


@pytest.mark.parametrize("kind", ["estimator", "pipeline", "column_transformer"])
def test_sklearn_predict_array_of_a_model_fitted_on_named_columns(
    tmp_path: Path, kind: str
) -> None:
    from modelcycle.registry.flavors import sklearn as flavor

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(80, 4)), columns=["a", "b", "c", "d"])
    target = (frame["a"] + frame["c"] > 0).astype(int)
    model = {
        "estimator": LogisticRegression(),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()),
        "column_transformer": make_pipeline(
            ColumnTransformer([("scaled", StandardScaler(), ["c", "a"])]), LogisticRegression()
        ),
    }[kind].fit(frame, target)
    save_model(model, tmp_path / "m", input_example=frame.head())
    loaded = load_model(tmp_path / "m")

    # No warning about missing feature names (warnings are errors here), same answers.
    np.testing.assert_array_equal(loaded.predict_array(frame.to_numpy()), model.predict(frame))
    # Names matter to a ColumnTransformer: it keeps the frame path, never a nameless copy.
    copy = flavor._array_estimator(loaded.raw, list(frame.columns))
    assert (copy is None) is (kind == "column_transformer")
    assert loaded.raw.feature_names_in_.tolist() == ["a", "b", "c", "d"]  # the original keeps them
