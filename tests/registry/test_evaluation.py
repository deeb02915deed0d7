"""evaluate_model: every metric equals scikit-learn's on the same data; slices, fairness,
permutation importance, comparison, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelcycle.errors import InvalidInput
from modelcycle.registry.evaluation import EvaluationResult, compare_results, evaluate_model
from modelcycle.registry.model_format import load_model, save_model


def _classification(classes: int, rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "noise"])
    score = frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.8, size=rows)
    edges = np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])
    frame["label"] = np.digitize(score, edges)
    frame["region"] = rng.choice(["north", "south", "east"], size=rows)
    return frame


def _regression(rows: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 2)), columns=["a", "b"])
    frame["y"] = 3 * frame["a"] - frame["b"] + rng.normal(scale=0.5, size=rows)
    frame["region"] = rng.choice(["north", "south"], size=rows)
    return frame


FEATURES = ["a", "b", "noise"]


def test_binary_metrics_equal_sklearn() -> None:
    data = _classification(2)
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    result = evaluate_model(model, data, "label", feature_importance=False)
    y, pred = data["label"], model.predict(data[FEATURES])
    proba = model.predict_proba(data[FEATURES])
    assert result.task == "classification"
    assert result.metrics == pytest.approx(
        {
            "accuracy": metrics.accuracy_score(y, pred),
            "precision": metrics.precision_score(y, pred),
            "recall": metrics.recall_score(y, pred),
            "f1": metrics.f1_score(y, pred),
            "roc_auc": metrics.roc_auc_score(y, proba[:, 1]),
            "log_loss": metrics.log_loss(y, proba),
        },
        rel=1e-12,
    )
    assert result.labels == [0, 1]
    assert result.confusion_matrix == metrics.confusion_matrix(y, pred).tolist()


def test_multiclass_metrics_equal_sklearn() -> None:
    data = _classification(3)
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    result = evaluate_model(model, data, "label", feature_importance=False)
    y, pred = data["label"], model.predict(data[FEATURES])
    proba = model.predict_proba(data[FEATURES])
    expected = {
        "accuracy": metrics.accuracy_score(y, pred),
        "roc_auc": metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro"),
        "log_loss": metrics.log_loss(y, proba),
    }
    for average, suffix in (("macro", ""), ("weighted", "_weighted")):
        expected["precision" + suffix] = metrics.precision_score(y, pred, average=average)
        expected["recall" + suffix] = metrics.recall_score(y, pred, average=average)
        expected["f1" + suffix] = metrics.f1_score(y, pred, average=average)
    assert result.metrics == pytest.approx(expected, rel=1e-12)
    assert result.confusion_matrix == metrics.confusion_matrix(y, pred).tolist()
    assert result.labels == [0, 1, 2]


def test_string_labels_use_the_last_sorted_label_as_positive() -> None:
    data = _classification(2)
    data["label"] = np.where(data["label"] == 1, "yes", "no")
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    result = evaluate_model(model, data, "label", feature_importance=False)
    pred = model.predict(data[FEATURES])
    assert result.metrics["precision"] == pytest.approx(
        metrics.precision_score(data["label"], pred, pos_label="yes")
    )
    flipped = evaluate_model(model, data, "label", feature_importance=False, pos_label="no")
    assert flipped.metrics["recall"] == pytest.approx(
        metrics.recall_score(data["label"], pred, pos_label="no")
    )


def test_regression_metrics_equal_sklearn() -> None:
    data = _regression()
    model = LinearRegression().fit(data[["a", "b"]], data["y"])
    result = evaluate_model(model, data, "y", feature_importance=False)
    pred = model.predict(data[["a", "b"]])
    assert result.task == "regression"
    assert result.metrics == pytest.approx(
        {
            "mse": metrics.mean_squared_error(data["y"], pred),
            "rmse": metrics.root_mean_squared_error(data["y"], pred),
            "mae": metrics.mean_absolute_error(data["y"], pred),
            "r2": metrics.r2_score(data["y"], pred),
        },
        rel=1e-12,
    )
    assert result.confusion_matrix == []


def test_loaded_model_evaluates_like_the_estimator(tmp_path: Path) -> None:
    data = _classification(2)
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    save_model(model, tmp_path / "m", input_example=data[FEATURES].head())
    loaded = load_model(tmp_path / "m")
    direct = evaluate_model(model, data, "label", slice_by="region", n_repeats=2)
    through = evaluate_model(loaded, data, "label", slice_by="region", n_repeats=2)
    assert through.metrics == pytest.approx(direct.metrics)
    for column in FEATURES:
        assert through.feature_importance[column] == pytest.approx(
            direct.feature_importance[column]
        )


def test_slices_equal_metrics_on_each_subset() -> None:
    data = _classification(2)
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    result = evaluate_model(model, data, "label", slice_by=["region"], feature_importance=False)
    assert set(result.slices["region"]) == {"north", "south", "east"}
    for value, found in result.slices["region"].items():
        part = data[data["region"] == value]
        pred = model.predict(part[FEATURES])
        assert found["count"] == len(part)
        assert found["accuracy"] == pytest.approx(metrics.accuracy_score(part["label"], pred))
        assert found["roc_auc"] == pytest.approx(
            metrics.roc_auc_score(part["label"], model.predict_proba(part[FEATURES])[:, 1])
        )
    limited = evaluate_model(model, data, "label", slice_by="region", max_slices=1,
                             feature_importance=False)  # fmt: skip
    assert len(limited.slices["region"]) == 1


def test_regression_slices() -> None:
    data = _regression()
    model = LinearRegression().fit(data[["a", "b"]], data["y"])
    result = evaluate_model(model, data, "y", slice_by="region", feature_importance=False)
    part = data[data["region"] == "north"]
    assert result.slices["region"]["north"]["mse"] == pytest.approx(
        metrics.mean_squared_error(part["y"], model.predict(part[["a", "b"]]))
    )


def test_fairness_rates_and_differences() -> None:
    # Hand-made predictions: the numbers can be checked by eye.
    class Fixed:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return frame["p"].to_numpy()

    data = pd.DataFrame(
        {
            "p": [1, 1, 0, 0, 1, 0, 0, 0],
            "y": [1, 0, 1, 0, 1, 1, 0, 0],
            "group": ["a", "a", "a", "a", "b", "b", "b", "b"],
        }
    )
    result = evaluate_model(
        Fixed(), data.drop(columns="group").assign(group=data["group"]), "y",
        sensitive="group", task="classification", feature_importance=False,
    )  # fmt: skip
    fairness = result.fairness
    assert fairness is not None
    # a: selection 2/4, TPR 1/2, FPR 1/2; b: selection 1/4, TPR 1/2, FPR 0/2.
    assert fairness.groups["a"]["selection_rate"] == pytest.approx(0.5)
    assert fairness.groups["b"]["selection_rate"] == pytest.approx(0.25)
    assert fairness.demographic_parity_difference == pytest.approx(0.25)
    assert fairness.true_positive_rate_difference == pytest.approx(0.0)
    assert fairness.false_positive_rate_difference == pytest.approx(0.5)
    assert fairness.equalized_odds_difference == pytest.approx(0.5)
    logged = result.to_metrics_for_logging()
    assert logged["fairness.demographic_parity_difference"] == pytest.approx(0.25)


def test_fairness_needs_binary_classification() -> None:
    data = _classification(3)
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    with pytest.raises(InvalidInput, match="binary classifier.*3 classes"):
        evaluate_model(model, data, "label", sensitive="region", feature_importance=False)
    reg = _regression()
    regressor = LinearRegression().fit(reg[["a", "b"]], reg["y"])
    with pytest.raises(InvalidInput, match="binary classification only"):
        evaluate_model(regressor, reg, "y", sensitive="region", feature_importance=False)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_permutation_importance_equals_sklearn(task: str) -> None:
    if task == "classification":
        data, target, columns = _classification(2), "label", FEATURES
        model = LogisticRegression().fit(data[columns], data[target])
    else:
        data, target, columns = _regression(), "y", ["a", "b"]
        model = LinearRegression().fit(data[columns], data[target])
    result = evaluate_model(model, data, target, n_repeats=4, random_state=7)
    expected = permutation_importance(
        model, data[columns], data[target], n_repeats=4, random_state=7
    )
    for i, column in enumerate(columns):
        assert result.feature_importance[column]["mean"] == pytest.approx(
            expected.importances_mean[i], abs=1e-12
        )
        assert result.feature_importance[column]["std"] == pytest.approx(
            expected.importances_std[i], abs=1e-12
        )
    assert result.feature_importance[columns[0]]["mean"] > 0.1


def test_to_dict_and_logging_keys_are_plain_and_valid() -> None:
    import json
    import re

    data = _classification(2)
    data["region"] = data["region"].map({"north": "n.1", "south": "s=2", "east": "e"})
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    result = evaluate_model(model, data, "label", slice_by="region", n_repeats=1)
    again = EvaluationResult.model_validate(json.loads(json.dumps(result.to_dict())))
    assert again.metrics == result.metrics
    logged = result.to_metrics_for_logging()
    assert "slice.region.n_1.accuracy" in logged
    assert "slice.region.s_2.count" in logged
    assert "importance.a" in logged
    assert all(re.fullmatch(r"[A-Za-z0-9_\-./ :]+", key) for key in logged)


def test_compare_results_says_which_is_better() -> None:
    data = _classification(2)
    good = LogisticRegression().fit(data[FEATURES], data["label"])
    bad = LogisticRegression().fit(data[["noise"]], data["label"])
    champion = evaluate_model(bad, data, "label", feature_importance=False)
    challenger = evaluate_model(good, data, "label", feature_importance=False)
    table = compare_results(champion, challenger).set_index("metric")
    assert list(table.columns) == [
        "champion", "challenger", "delta", "higher_is_better", "better"
    ]  # fmt: skip
    assert table.loc["accuracy", "better"] == "challenger"
    assert table.loc["log_loss", "better"] == "challenger"
    assert not table.loc["log_loss", "higher_is_better"]
    assert table.loc["accuracy", "delta"] == pytest.approx(
        challenger.metrics["accuracy"] - champion.metrics["accuracy"]
    )
    assert compare_results(champion, champion)["better"].eq("tie").all()
    reg = _regression()
    regression = evaluate_model(
        LinearRegression().fit(reg[["a", "b"]], reg["y"]), reg, "y", feature_importance=False
    )
    with pytest.raises(InvalidInput, match="cannot compare"):
        compare_results(champion, regression)


def test_bad_input() -> None:
    data = _classification(2)
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    with pytest.raises(InvalidInput, match="no target column 'churn'"):
        evaluate_model(model, data, "churn")
    with pytest.raises(InvalidInput, match="no rows"):
        evaluate_model(model, data.iloc[0:0], "label")
    with pytest.raises(InvalidInput, match="2 null"):
        evaluate_model(model, data.assign(label=[None, None] + [1] * 298), "label")
    with pytest.raises(InvalidInput, match="no column 'city'"):
        evaluate_model(model, data, "label", slice_by="city")
    with pytest.raises(InvalidInput, match="lacks the model's input column 'b'"):
        evaluate_model(model, data.drop(columns="b"), "label")
    with pytest.raises(InvalidInput, match="unknown task"):
        evaluate_model(model, data, "label", task="ranking")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="must be a pandas DataFrame"):
        evaluate_model(model, data.to_numpy(), "label")


def test_task_mismatch() -> None:
    reg = _regression()
    regressor = LinearRegression().fit(reg[["a", "b"]], reg["y"])
    with pytest.raises(InvalidInput, match="continuous values.*regression"):
        evaluate_model(regressor, reg, "y", task="classification")
    data = _classification(2)
    data["label"] = np.where(data["label"] == 1, "yes", "no")
    model = LogisticRegression().fit(data[FEATURES], data["label"])
    with pytest.raises(InvalidInput, match="regression' needs a numeric target"):
        evaluate_model(model, data, "label", task="regression")


@pytest.mark.parametrize("zipmap", [False, True])
def test_onnx_model_evaluates_like_sklearn(tmp_path: Path, zipmap: bool) -> None:
    from skl2onnx import to_onnx

    data = _classification(3)
    model = LogisticRegression().fit(data[FEATURES].to_numpy(), data["label"])
    proto = to_onnx(model, data[FEATURES].to_numpy(np.float32)[:1], options={"zipmap": zipmap})
    save_model(proto, tmp_path / "m", input_example=data[FEATURES].head())
    result = evaluate_model(load_model(tmp_path / "m"), data, "label", feature_importance=False)
    proba = model.predict_proba(data[FEATURES].to_numpy())
    assert result.metrics["log_loss"] == pytest.approx(
        metrics.log_loss(data["label"], proba), abs=1e-5
    )
    assert result.metrics["accuracy"] == pytest.approx(
        metrics.accuracy_score(data["label"], model.predict(data[FEATURES].to_numpy()))
    )


def test_a_classifier_without_probabilities_has_no_auc_or_log_loss() -> None:
    class Threshold:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return (frame["a"] > 0).astype(int).to_numpy()

    data = _classification(2)[["a", "label"]]
    result = evaluate_model(Threshold(), data, "label", feature_importance=False)
    assert result.task == "classification"
    assert "roc_auc" not in result.metrics and "log_loss" not in result.metrics
    assert result.metrics["accuracy"] == pytest.approx(
        metrics.accuracy_score(data["label"], (data["a"] > 0).astype(int))
    )
