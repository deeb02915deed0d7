"""Model evaluation as pure computation: metrics, slices, fairness and feature importance.

``evaluate_model`` takes a loaded model (or anything with ``predict``) and labelled rows and
returns an :class:`EvaluationResult`; it stores nothing. ``mc.evaluate`` wraps it to log the
result to a run and attach it to a model version.

Every number is scikit-learn's formula on the same arrays (see ``_eval_metrics`` for the
averaging rules). The model predicts once on the whole data; slices and fairness index those
predictions instead of predicting again.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from modelcycle.errors import InvalidInput
from modelcycle.registry import _eval_metrics

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["EvaluationResult", "Fairness", "compare_results", "evaluate_model"]

Task = Literal["classification", "regression"]
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-/ :]")
_MAX_CLASSES_WITHOUT_PROBA = 20


class Fairness(BaseModel):
    """Group fairness of a binary classifier across the values of a sensitive column."""

    model_config = ConfigDict(frozen=True)

    sensitive: str
    positive_label: Any
    demographic_parity_difference: float
    equalized_odds_difference: float
    true_positive_rate_difference: float
    false_positive_rate_difference: float
    groups: dict[str, dict[str, float]]
    """group → count, selection_rate, true_positive_rate, false_positive_rate."""


class EvaluationResult(BaseModel):
    """What ``evaluate_model`` found. Plain data: ``to_dict()`` is JSON-ready."""

    model_config = ConfigDict(frozen=True)

    task: Task
    target: str
    n_rows: int
    metrics: dict[str, float]
    labels: list[Any]
    """Class labels (classification), the order of the confusion matrix's rows and columns."""
    confusion_matrix: list[list[int]]
    slices: dict[str, dict[str, dict[str, float]]]
    """column → value → metrics (with ``count``)."""
    fairness: Fairness | None
    feature_importance: dict[str, dict[str, float]]
    """feature → ``{"mean", "std"}`` drop in accuracy (classification) or R² (regression)."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (NaN becomes None)."""
        return _json_ready(self.model_dump(mode="python"))

    def to_metrics_for_logging(self) -> dict[str, float]:
        """Flat metric names for a run or a gate: ``accuracy``,
        ``slice.<column>.<value>.accuracy``, ``fairness.demographic_parity_difference``,
        ``importance.<feature>``. Characters a metric key cannot hold become ``_``."""
        flat = dict(self.metrics)
        for column, values in self.slices.items():
            for value, metrics in values.items():
                prefix = f"slice.{_key(column)}.{_key(value)}"
                flat.update({f"{prefix}.{name}": number for name, number in metrics.items()})
        if self.fairness is not None:
            for name in (
                "demographic_parity_difference",
                "equalized_odds_difference",
                "true_positive_rate_difference",
                "false_positive_rate_difference",
            ):
                flat[f"fairness.{name}"] = getattr(self.fairness, name)
        for feature, importance in self.feature_importance.items():
            flat[f"importance.{_key(feature)}"] = importance["mean"]
        return flat


def evaluate_model(
    model: Any,
    data: pd.DataFrame,
    target: str,
    *,
    task: Task | None = None,
    slice_by: str | list[str] | None = None,
    sensitive: str | None = None,
    feature_importance: bool = True,
    n_repeats: int = 5,
    random_state: int = 0,
    max_slices: int = 50,
    pos_label: Any = None,
) -> EvaluationResult:
    """Evaluate ``model`` on the labelled rows of ``data``.

    Args:
        model: a ``LoadedModel``, or any object with ``predict`` (and ``predict_proba`` for ROC
            AUC and log loss).
        data: the features and the ``target`` column. The model gets its signature's columns
            (or a scikit-learn model's ``feature_names_in_``); without either, every column but
            the target.
        target: the label column.
        task: ``"classification"`` or ``"regression"``; inferred when None (probabilities, or a
            non-numeric or integer target with few values, mean classification).
        slice_by: column(s) whose values each get their own metrics (the ``max_slices`` most
            frequent values per column).
        sensitive: a column to measure group fairness across (binary classification only).
        feature_importance: compute permutation importance (``n_repeats`` shuffles per
            feature, seeded by ``random_state``); costs one prediction pass per feature.
        pos_label: the positive class of a binary task; the last sorted label by default.

    Returns:
        The metrics, confusion matrix, slices, fairness and importance.

    Raises:
        InvalidInput: no such target, slice or sensitive column; empty data; nulls in the
            target; a task that does not fit the target; fairness asked of anything but binary
            classification.

    Example:
        >>> result = evaluate_model(model, df, "churned", slice_by="region")  # doctest: +SKIP
        >>> result.metrics["roc_auc"]  # doctest: +SKIP
        0.91
    """
    import numpy as np

    frame = _check_data(data, target, slice_by, sensitive)
    slice_columns = [slice_by] if isinstance(slice_by, str) else list(slice_by or [])
    if n_repeats < 1 or max_slices < 1:
        raise InvalidInput(
            "n_repeats and max_slices must be at least 1",
            details={"n_repeats": n_repeats, "max_slices": max_slices},
        )
    features = _features(model, frame, target)
    y_true = frame[target].to_numpy()
    y_pred = np.asarray(_predict(model, features))
    if y_pred.ndim != 1 or len(y_pred) != len(frame):
        raise InvalidInput(
            f"the model returned predictions of shape {y_pred.shape} for {len(frame)} rows; "
            "evaluation needs one prediction per row",
            details={"shape": list(y_pred.shape)},
        )
    has_proba = _has_proba(model)
    chosen = _task(task, frame[target], has_proba)
    if chosen == "regression":
        return _regression_result(
            model, frame, target, features, y_true, y_pred, slice_columns, sensitive,
            feature_importance, n_repeats, random_state, max_slices,
        )  # fmt: skip
    proba = _probabilities(_predict_proba(model, features)) if has_proba else None
    classes = _classes(model, y_true, y_pred, proba)
    positive = _positive(classes, pos_label)
    labels = _labels(classes, y_true, y_pred)

    def metrics_of(index: np.ndarray | slice) -> dict[str, float]:
        return _eval_metrics.classification(
            y_true[index], y_pred[index], None if proba is None else proba[index], classes,
            positive,
        )  # fmt: skip

    fairness = None
    if sensitive is not None:
        if len(classes) != 2:
            raise InvalidInput(
                f"fairness across {sensitive!r} needs a binary classifier; this one has "
                f"{len(classes)} classes",
                details={"column": sensitive, "classes": len(classes)},
            )
        groups = frame[sensitive].astype(object).where(frame[sensitive].notna(), "null")
        fairness = Fairness(
            sensitive=sensitive,
            positive_label=_plain(positive),
            **_eval_metrics.fairness(y_true, y_pred, groups.astype(str).to_numpy(), positive),
        )
    importance = {}
    if feature_importance:
        from modelcycle.registry._eval_importance import permutation_importance

        importance = permutation_importance(
            lambda batch: np.asarray(_predict(model, batch)),
            features,
            lambda predicted: float(np.mean(predicted == y_true)),
            n_repeats=n_repeats,
            random_state=random_state,
        )
    return EvaluationResult(
        task="classification",
        target=target,
        n_rows=len(frame),
        metrics=metrics_of(slice(None)),
        labels=[_plain(label) for label in labels],
        confusion_matrix=_eval_metrics.confusion(y_true, y_pred, labels),
        slices=_slices(frame, slice_columns, max_slices, metrics_of),
        fairness=fairness,
        feature_importance=importance,
    )


def compare_results(champion: EvaluationResult, challenger: EvaluationResult) -> pd.DataFrame:
    """Champion against challenger, metric by metric.

    Returns:
        One row per metric both results have: ``metric``, ``champion``, ``challenger``,
        ``delta`` (challenger − champion), ``higher_is_better`` and ``better`` (which of the
        two is better on it: ``"champion"``, ``"challenger"`` or ``"tie"``).

    Raises:
        InvalidInput: the two results are of different tasks.
    """
    import pandas as pd

    if champion.task != challenger.task:
        raise InvalidInput(
            f"cannot compare a {champion.task} result with a {challenger.task} one",
            details={"champion": champion.task, "challenger": challenger.task},
        )
    rows = []
    for name, before in champion.metrics.items():
        if name not in challenger.metrics:
            continue
        after = challenger.metrics[name]
        higher = name.split("_weighted")[0] not in _eval_metrics.LOWER_IS_BETTER
        if after == before:
            better = "tie"
        else:
            better = "challenger" if (after > before) == higher else "champion"
        rows.append(
            {
                "metric": name,
                "champion": before,
                "challenger": after,
                "delta": after - before,
                "higher_is_better": higher,
                "better": better,
            }
        )
    columns = ["metric", "champion", "challenger", "delta", "higher_is_better", "better"]
    return pd.DataFrame(rows, columns=columns)


def _regression_result(
    model: Any,
    frame: pd.DataFrame,
    target: str,
    features: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    slice_columns: list[str],
    sensitive: str | None,
    feature_importance: bool,
    n_repeats: int,
    random_state: int,
    max_slices: int,
) -> EvaluationResult:
    import numpy as np

    if sensitive is not None:
        raise InvalidInput(
            f"fairness across {sensitive!r} is measured for binary classification only; "
            "this is a regression",
            details={"column": sensitive, "task": "regression"},
        )
    y_true = y_true.astype("float64")
    y_pred = _numeric_predictions(y_pred)

    def metrics_of(index: np.ndarray | slice) -> dict[str, float]:
        return _eval_metrics.regression(y_true[index], y_pred[index])

    importance = {}
    if feature_importance:
        from sklearn.metrics import r2_score

        from modelcycle.registry._eval_importance import permutation_importance

        importance = permutation_importance(
            lambda batch: _numeric_predictions(np.asarray(_predict(model, batch))),
            features,
            lambda predicted: float(r2_score(y_true, predicted)),
            n_repeats=n_repeats,
            random_state=random_state,
        )
    return EvaluationResult(
        task="regression",
        target=target,
        n_rows=len(frame),
        metrics=metrics_of(slice(None)),
        labels=[],
        confusion_matrix=[],
        slices=_slices(frame, slice_columns, max_slices, metrics_of),
        fairness=None,
        feature_importance=importance,
    )


def _check_data(
    data: Any, target: str, slice_by: str | list[str] | None, sensitive: str | None
) -> pd.DataFrame:
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(
            f"evaluation data must be a pandas DataFrame, got {type(data).__name__}",
            details={"type": type(data).__name__},
        )
    if target not in data.columns:
        raise InvalidInput(
            f"the data has no target column {target!r} (columns: "
            f"{', '.join(map(str, data.columns))})",
            details={"column": target, "problem": "missing"},
        )
    if data.empty:
        raise InvalidInput("the evaluation data has no rows", details={"problem": "empty"})
    nulls = int(data[target].isna().sum())
    if nulls:
        raise InvalidInput(
            f"the target column {target!r} holds {nulls} null value(s); drop or fill them",
            details={"column": target, "problem": "null", "count": nulls},
        )
    named = [slice_by] if isinstance(slice_by, str) else list(slice_by or [])
    for column in [*named, *([sensitive] if sensitive is not None else [])]:
        if column not in data.columns:
            raise InvalidInput(
                f"the data has no column {column!r} to slice or group by",
                details={"column": column, "problem": "missing"},
            )
    return data.reset_index(drop=True)


def _features(model: Any, frame: pd.DataFrame, target: str) -> pd.DataFrame:
    signature = getattr(model, "signature", None)
    names = getattr(signature, "input_names", None)
    if names is None:
        fitted = getattr(model, "feature_names_in_", None)
        names = None if fitted is None else [str(name) for name in fitted]
    if names is None:
        return frame.drop(columns=[target])
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InvalidInput(
            f"the data lacks the model's input column {missing[0]!r} (missing: "
            f"{', '.join(missing)})",
            details={"column": missing[0], "problem": "missing", "missing": missing},
        )
    if target in names:
        raise InvalidInput(
            f"the target {target!r} is one of the model's inputs", details={"column": target}
        )
    return frame[names]


def _wants_array(model: Any) -> bool:
    """A scikit-learn estimator fitted on an array warns when given named columns."""
    return hasattr(model, "n_features_in_") and getattr(model, "feature_names_in_", None) is None


def _predict(model: Any, features: pd.DataFrame) -> Any:
    return model.predict(features.to_numpy() if _wants_array(model) else features)


def _predict_proba(model: Any, features: pd.DataFrame) -> Any:
    return model.predict_proba(features.to_numpy() if _wants_array(model) else features)


def _has_proba(model: Any) -> bool:
    flag = getattr(model, "has_proba", None)
    if isinstance(flag, bool):
        return flag
    return callable(getattr(model, "predict_proba", None))


def _task(task: str | None, target: pd.Series, has_proba: bool) -> Task:
    from pandas.api import types

    numeric = types.is_numeric_dtype(target.dtype) and not types.is_bool_dtype(target.dtype)
    values = target.to_numpy()
    whole = numeric and bool((values.astype("float64") % 1 == 0).all())
    if task is None:
        if has_proba or not numeric:
            return "classification"
        few = target.nunique() <= _MAX_CLASSES_WITHOUT_PROBA
        return "classification" if whole and few else "regression"
    if task == "regression":
        if not numeric:
            raise InvalidInput(
                f"task 'regression' needs a numeric target; {target.name!r} holds "
                f"{target.dtype} values",
                details={"column": str(target.name), "task": task},
            )
        return "regression"
    if task == "classification":
        if numeric and not whole:
            raise InvalidInput(
                f"task 'classification' needs class labels; {target.name!r} holds "
                "continuous values (did you mean task='regression'?)",
                details={"column": str(target.name), "task": task},
            )
        return "classification"
    raise InvalidInput(
        f"unknown task {task!r}; use 'classification' or 'regression'", details={"task": task}
    )


def _classes(
    model: Any, y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None
) -> list[Any]:
    import numpy as np

    known = getattr(model, "classes", None)
    if known is None or callable(known):
        known = getattr(model, "classes_", None)
    if known is None:
        known = np.unique(np.concatenate([y_true, y_pred])).tolist()
    classes = list(np.asarray(known).tolist())
    if proba is not None and (proba.ndim != 2 or proba.shape[1] != len(classes)):
        raise InvalidInput(
            f"the model's probabilities have shape {proba.shape} but it has {len(classes)} "
            f"classes ({classes})",
            details={"shape": list(proba.shape), "classes": len(classes)},
        )
    return classes


def _probabilities(values: Any) -> np.ndarray:
    """Probabilities in the precision the model computed them: a float32 graph's rows sum to 1
    only within float32's precision, and scikit-learn checks the sum at that precision."""
    import numpy as np

    proba = np.asarray(values)
    return proba if proba.dtype.kind == "f" else proba.astype("float64")


def _positive(classes: list[Any], pos_label: Any) -> Any:
    if pos_label is None:
        return classes[-1] if classes else None
    if pos_label not in classes:
        raise InvalidInput(
            f"pos_label {pos_label!r} is not one of the classes {classes}",
            details={"pos_label": repr(pos_label)},
        )
    return pos_label


def _labels(classes: list[Any], y_true: np.ndarray, y_pred: np.ndarray) -> list[Any]:
    import numpy as np

    unseen = set(np.unique(np.concatenate([y_true, y_pred])).tolist()) - set(classes)
    return classes + sorted(unseen, key=str)


def _numeric_predictions(y_pred: np.ndarray) -> np.ndarray:
    try:
        return y_pred.astype("float64")
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"a regression needs numeric predictions; the model returned {y_pred.dtype} values",
            details={"dtype": str(y_pred.dtype)},
        ) from exc


def _slices(
    frame: pd.DataFrame, columns: list[str], max_slices: int, metrics_of: Any
) -> dict[str, dict[str, dict[str, float]]]:
    """column → value → metrics, for the ``max_slices`` most frequent values of each column."""
    import numpy as np

    out: dict[str, dict[str, dict[str, float]]] = {}
    for column in columns:
        values = frame[column].astype(object).where(frame[column].notna(), "null").astype(str)
        keys, codes = np.unique(values.to_numpy(), return_inverse=True)
        counts = np.bincount(codes)
        order = np.argsort(-counts, kind="stable")[:max_slices]
        out[column] = {}
        for code in order:
            index = np.flatnonzero(codes == code)
            out[column][str(keys[code])] = {"count": float(len(index)), **metrics_of(index)}
    return out


def _key(text: str) -> str:
    return _KEY_UNSAFE.sub("_", str(text))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return _plain(value)
