"""The metric formulas of ``evaluate_model``: each is scikit-learn's, called with fixed options.

Averaging, written once here so every caller (whole data, each slice) agrees:

- binary: precision, recall and F1 of the positive class (the last of the sorted labels: ``1``,
  ``True``, ``"yes"``); ROC AUC of the positive class's probability;
- multiclass: precision, recall and F1 macro-averaged (every class counts the same), with the
  support-weighted variants as ``*_weighted``; ROC AUC one-vs-rest, macro-averaged;
- log loss over the model's classes. ``zero_division=0``: a class never predicted scores 0
  instead of raising a warning.

A metric that is undefined on the data (ROC AUC when a class is absent, R² on one row) is left
out rather than reported as a number that means nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset(("log_loss", "mse", "rmse", "mae"))
"""Every other metric is better when higher."""


def classification(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list[Any],
    positive: Any,
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and, with probabilities, ROC AUC and log loss."""
    import numpy as np
    from sklearn import metrics

    binary = len(classes) <= 2
    prf = {
        "precision": metrics.precision_score,
        "recall": metrics.recall_score,
        "f1": metrics.f1_score,
    }
    out: dict[str, float] = {"accuracy": float(metrics.accuracy_score(y_true, y_pred))}
    if binary:
        options: dict[str, Any] = {"average": "binary", "pos_label": positive}
        for name, function in prf.items():
            out[name] = float(function(y_true, y_pred, zero_division=0, **options))
    else:
        for average, suffix in (("macro", ""), ("weighted", "_weighted")):
            for name, function in prf.items():
                value = function(y_true, y_pred, labels=classes, average=average, zero_division=0)
                out[name + suffix] = float(value)
    if proba is None:
        return out
    present = set(np.unique(y_true).tolist())
    if binary and len(classes) == 2 and len(present) == 2:
        out["roc_auc"] = float(
            metrics.roc_auc_score(y_true == positive, proba[:, classes.index(positive)])
        )
    elif not binary and present == set(classes):
        out["roc_auc"] = float(
            metrics.roc_auc_score(
                y_true, proba, multi_class="ovr", average="macro", labels=classes
            )
        )
    if len(classes) >= 2:
        out["log_loss"] = float(metrics.log_loss(y_true, proba, labels=classes))
    return out


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and (from two rows on) R²."""
    from sklearn import metrics

    out = {
        "mse": float(metrics.mean_squared_error(y_true, y_pred)),
        "rmse": float(metrics.root_mean_squared_error(y_true, y_pred)),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
    }
    if len(y_true) >= 2:
        out["r2"] = float(metrics.r2_score(y_true, y_pred))
    return out


def confusion(y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any]) -> list[list[int]]:
    """Rows are true labels, columns predicted labels, both in ``labels`` order."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=labels).astype(int).tolist()


def fairness(
    y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, positive: Any
) -> dict[str, Any]:
    """Positive-prediction rate, true- and false-positive rates per group, and their gaps.

    demographic parity difference = max − min positive-prediction rate over groups;
    equalized odds difference = the larger of the TPR gap and the FPR gap (a group without
    positives, or without negatives, has no TPR, or no FPR, and is left out of that gap).
    """
    import numpy as np

    predicted = y_pred == positive
    actual = y_true == positive
    keys, codes = np.unique(groups, return_inverse=True)
    count = np.bincount(codes, minlength=len(keys)).astype(float)
    positives = np.bincount(codes, weights=actual, minlength=len(keys))
    negatives = count - positives
    selected = np.bincount(codes, weights=predicted, minlength=len(keys))
    true_pos = np.bincount(codes, weights=predicted & actual, minlength=len(keys))
    false_pos = np.bincount(codes, weights=predicted & ~actual, minlength=len(keys))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = selected / count
        tpr = np.where(positives > 0, true_pos / positives, np.nan)
        fpr = np.where(negatives > 0, false_pos / negatives, np.nan)
    per_group = {
        str(key): {
            "count": float(count[i]),
            "selection_rate": float(rate[i]),
            "true_positive_rate": float(tpr[i]),
            "false_positive_rate": float(fpr[i]),
        }
        for i, key in enumerate(keys.tolist())
    }
    tpr_gap = _gap(tpr)
    fpr_gap = _gap(fpr)
    return {
        "demographic_parity_difference": _gap(rate),
        "equalized_odds_difference": max(tpr_gap, fpr_gap),
        "true_positive_rate_difference": tpr_gap,
        "false_positive_rate_difference": fpr_gap,
        "groups": per_group,
    }


def _gap(values: np.ndarray) -> float:
    import numpy as np

    defined = values[~np.isnan(values)]
    return float(defined.max() - defined.min()) if defined.size else 0.0
