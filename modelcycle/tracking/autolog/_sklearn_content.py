"""What autolog records about a scikit-learn fit: params, tags, training metrics, the model.

Names follow ``mlflow.sklearn.autolog`` (``training_accuracy_score``, ``best_cv_score``,
``estimator_class`` …) so dashboards and search filters written for MLflow keep working.
Everything here computes or writes; deciding whether and where to log is ``sklearn.py``'s job.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import BuiltinFunctionType, FunctionType
from typing import TYPE_CHECKING, Any

import numpy as np
import sklearn
from sklearn import metrics as sk_metrics
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.utils.multiclass import type_of_target

from modelcycle.store.tables.tracking import KEY_LENGTH, PARAM_VALUE_LENGTH

if TYPE_CHECKING:
    from modelcycle.tracking.run import ActiveRun

logger = logging.getLogger("modelcycle.autolog")

TRAINING_PREFIX = "training_"
AUTOLOG_TAG = "modelcycle.autolog"
MODEL_DIR = "model"
MODEL_FILE = "model.skops"
MANIFEST_FILE = "model.json"
CV_RESULTS_FILE = "cv_results.csv"

# Anything a param key may not hold (see tracking._validation.check_key) becomes "_", so a
# Pipeline step named "scale!" still gives the key "scale___with_mean" rather than no param.
_NOT_KEY_CHARACTER = re.compile(r"[^A-Za-z0-9_\-./ :]")

MetricComputations = dict[str, Callable[[], float]]


@dataclass(frozen=True)
class FitInputs:
    """The data a fit was called with, found by name in its signature."""

    X: Any
    y: Any
    sample_weight: Any


def qualified_name(obj: Any) -> str:
    """``module.QualName`` of a class or function: stable across processes, unlike a repr."""
    return f"{obj.__module__}.{obj.__qualname__}"


def describe(estimator: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The params (``get_params(deep=True)`` as text) and tags of an estimator."""
    cls = type(estimator)
    tags = {
        "estimator_name": cls.__name__,
        "estimator_class": qualified_name(cls),
        AUTOLOG_TAG: "sklearn",
    }
    return param_texts(estimator.get_params(deep=True)), tags


def param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as the text the store keeps, keys made valid and values cut to the store's limit.

    Nested estimators become their class name (their own params are listed under
    ``step__param`` anyway), and functions their qualified name instead of a repr holding a
    memory address that would differ in every run.
    """
    texts: dict[str, str] = {}
    for key, value in params.items():
        clean = _NOT_KEY_CHARACTER.sub("_", key)
        if len(clean) > KEY_LENGTH:
            logger.debug("param %r is not logged: its key is longer than %d", key, KEY_LENGTH)
            continue
        text = str(_readable(value))
        if len(text) > PARAM_VALUE_LENGTH:
            text = text[: PARAM_VALUE_LENGTH - 1] + "…"
        texts.setdefault(clean, text)
    return texts


def _readable(value: Any) -> Any:
    if isinstance(value, BaseEstimator):
        return type(value).__name__
    if isinstance(value, FunctionType | BuiltinFunctionType | type):
        return qualified_name(value)
    if isinstance(value, list):
        return [_readable(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_readable(item) for item in value)
    if isinstance(value, dict):
        return {key: _readable(item) for key, item in value.items()}
    return value


def fit_inputs(
    method: Callable[..., Any], estimator: Any, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> FitInputs:
    """X, y and sample_weight of a call ``method(estimator, *args, **kwargs)``.

    X is the first parameter after ``self`` whatever its name (``raw_documents`` for text
    vectorizers); y is the second only when it is called ``y`` or ``Y``.
    """
    signature = inspect.signature(method)
    bound = signature.bind(estimator, *args, **kwargs)
    arguments = dict(bound.arguments)
    positional: list[str] = []
    for name, parameter in signature.parameters.items():
        if parameter.kind is parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}))
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional.append(name)
    x_name = positional[1] if len(positional) > 1 else None
    y_name = positional[2] if len(positional) > 2 and positional[2] in ("y", "Y") else None
    return FitInputs(
        X=arguments.get(x_name) if x_name else None,
        y=arguments.get(y_name) if y_name else None,
        sample_weight=arguments.get("sample_weight"),
    )


def training_metrics(estimator: Any, inputs: FitInputs) -> MetricComputations:
    """Named computations of the training metrics, each run (and failing) on its own.

    Classifiers and regressors only, and only when the fit was given y; predictions are made
    here, once, and shared by the computations.
    """
    if inputs.X is None or inputs.y is None or not hasattr(estimator, "predict"):
        return {}
    weights = {} if inputs.sample_weight is None else {"sample_weight": inputs.sample_weight}
    if is_classifier(estimator):
        computations = _classifier_metrics(estimator, inputs.X, inputs.y, weights)
    elif is_regressor(estimator):
        computations = _regressor_metrics(estimator, inputs.X, inputs.y, weights)
    else:
        return {}
    if hasattr(estimator, "score"):
        computations["score"] = lambda: estimator.score(inputs.X, inputs.y, **weights)
    return {TRAINING_PREFIX + name: compute for name, compute in computations.items()}


def _classifier_metrics(
    estimator: Any, X: Any, y: Any, weights: dict[str, Any]
) -> MetricComputations:
    target = type_of_target(y)
    if target not in ("binary", "multiclass"):
        return {}  # multilabel or multioutput: only the estimator's own score applies
    y_pred = estimator.predict(X)
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        classes = np.unique(y)
    binary = target == "binary" and len(classes) == 2
    # Binary scores are about the positive class, the one predict_proba's second column is for.
    averaging: dict[str, Any] = (
        {"average": "binary", "pos_label": classes[1]} if binary else {"average": "weighted"}
    )
    computations: MetricComputations = {
        "accuracy_score": lambda: sk_metrics.accuracy_score(y, y_pred, **weights),
        "precision_score": lambda: sk_metrics.precision_score(
            y, y_pred, zero_division=0, **averaging, **weights
        ),
        "recall_score": lambda: sk_metrics.recall_score(
            y, y_pred, zero_division=0, **averaging, **weights
        ),
        "f1_score": lambda: sk_metrics.f1_score(
            y, y_pred, zero_division=0, **averaging, **weights
        ),
    }
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        computations["log_loss"] = lambda: sk_metrics.log_loss(y, proba, labels=classes, **weights)
        if binary:
            computations["roc_auc"] = lambda: sk_metrics.roc_auc_score(y, proba[:, 1], **weights)
        else:
            computations["roc_auc"] = lambda: sk_metrics.roc_auc_score(
                y, proba, multi_class="ovr", average="weighted", labels=classes, **weights
            )
    return computations


def _regressor_metrics(
    estimator: Any, X: Any, y: Any, weights: dict[str, Any]
) -> MetricComputations:
    y_pred = estimator.predict(X)
    return {
        "mean_squared_error": lambda: sk_metrics.mean_squared_error(y, y_pred, **weights),
        "root_mean_squared_error": lambda: sk_metrics.root_mean_squared_error(
            y, y_pred, **weights
        ),
        "mean_absolute_error": lambda: sk_metrics.mean_absolute_error(y, y_pred, **weights),
        "r2_score": lambda: sk_metrics.r2_score(y, y_pred, **weights),
    }


def search_results(estimator: Any) -> tuple[dict[str, str], dict[str, float]]:
    """A hyper-parameter search's outcome: ``best_<param>`` params and ``best_cv_score``.

    Empty for other estimators, and for parts a search did not compute (``refit=False`` with
    several metrics has no best params; a callable ``refit`` has no best score).
    """
    best_params = getattr(estimator, "best_params_", None)
    params = (
        param_texts({f"best_{k}": v for k, v in best_params.items()})
        if isinstance(best_params, Mapping)
        else {}
    )
    best_score = getattr(estimator, "best_score_", None)
    metrics = {"best_cv_score": float(best_score)} if best_score is not None else {}
    return params, metrics


def log_model(run: ActiveRun, estimator: Any) -> None:
    """Save a fitted estimator with skops, never pickle, under ``model/`` with its manifest.

    The manifest lists the types skops does not trust by default, which a loader has to
    review and pass as ``trusted=`` to ``skops.io.load``.
    """
    import skops
    import skops.io

    with tempfile.TemporaryDirectory(prefix="modelcycle-autolog-") as scratch:
        folder = Path(scratch)
        model_file = folder / MODEL_FILE
        skops.io.dump(estimator, model_file)
        manifest = {
            "flavor": "sklearn",
            "format": "skops",
            "model_file": MODEL_FILE,
            "estimator_class": qualified_name(type(estimator)),
            "sklearn_version": sklearn.__version__,
            "skops_version": skops.__version__,
            "untrusted_types": skops.io.get_untrusted_types(file=model_file),
        }
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        run.log_artifact(folder, MODEL_DIR)


def log_cv_results(run: ActiveRun, estimator: Any) -> None:
    """A search's ``cv_results_`` as ``cv_results.csv``: every candidate, not only the best."""
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="modelcycle-autolog-") as scratch:
        table = Path(scratch) / CV_RESULTS_FILE
        pd.DataFrame(estimator.cv_results_).to_csv(table, index=False)
        run.log_artifact(table)
