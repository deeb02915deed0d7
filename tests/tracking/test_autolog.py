"""``mc.autolog()`` for scikit-learn: what a fit records, where, how often, what never breaks."""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io
from sklearn import metrics
from sklearn.cluster import KMeans
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler, scale
from sklearn.utils.validation import check_is_fitted

import modelcycle as mc
import modelcycle.tracking._fluent as fluent
from modelcycle.errors import InvalidInput, StoreUnavailable
from modelcycle.tracking.autolog import AutologWarning
from modelcycle.tracking.entities import Run, RunStatus
from modelcycle.tracking.service import TrackingService

Data = tuple[np.ndarray, np.ndarray]


@pytest.fixture
def autolog(mc_home: Path) -> Iterator[None]:
    """A temporary store; whatever the test enabled is switched off again afterwards."""
    yield
    mc.autolog(disable=True)


@pytest.fixture(scope="module")
def cancer() -> Data:
    X, y = load_breast_cancer(return_X_y=True)
    return scale(X), y  # scaled so lbfgs converges without a ConvergenceWarning


def only_run() -> Run:
    runs = mc.search_runs()
    assert len(runs) == 1, list(runs["run_id"])
    return mc.get_run(runs["run_id"].iloc[0])


def artifact_paths(run_id: str) -> set[str]:
    return {a.path for a in fluent.tracking_service().list_artifacts(run_id)}


def load_model(run_id: str, dest: Path) -> tuple[Any, dict[str, Any]]:
    mc.download_artifacts(run_id, "model", dest)
    manifest = json.loads((dest / "model.json").read_text())
    return skops.io.load(dest / "model.skops", trusted=manifest["untrusted_types"]), manifest


def test_classifier_fit_logs_params_metrics_tags_and_model(
    autolog: None, cancer: Data, tmp_path: Path
) -> None:
    X, y = cancer
    mc.autolog()
    model = LogisticRegression(C=0.5).fit(X, y)

    run = only_run()
    assert run.status == RunStatus.FINISHED
    assert run.experiment == "Default"
    assert run.params["C"] == "0.5"
    assert run.params["solver"] == "lbfgs"
    assert run.params["class_weight"] == "None"
    assert run.tags["estimator_name"] == "LogisticRegression"
    assert run.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    y_pred, proba = model.predict(X), model.predict_proba(X)
    assert run.metrics == pytest.approx(
        {
            "training_accuracy_score": metrics.accuracy_score(y, y_pred),
            "training_precision_score": metrics.precision_score(y, y_pred),
            "training_recall_score": metrics.recall_score(y, y_pred),
            "training_f1_score": metrics.f1_score(y, y_pred),
            "training_log_loss": metrics.log_loss(y, proba),
            "training_roc_auc": metrics.roc_auc_score(y, proba[:, 1]),
            "training_score": model.score(X, y),
        }
    )
    assert artifact_paths(run.id) == {"model/model.skops", "model/model.json"}
    loaded, manifest = load_model(run.id, tmp_path / "download")
    assert manifest["flavor"] == "sklearn"
    assert manifest["estimator_class"] == run.tags["estimator_class"]
    assert manifest["untrusted_types"] == []
    np.testing.assert_array_equal(loaded.predict(X), y_pred)


def test_multiclass_metrics_are_weighted_and_auc_is_one_vs_rest(autolog: None) -> None:
    X, y = load_iris(return_X_y=True)
    X = scale(X)
    mc.autolog(log_models=False)
    model = LogisticRegression().fit(X, y)

    found = only_run().metrics
    y_pred, proba = model.predict(X), model.predict_proba(X)
    assert found["training_precision_score"] == pytest.approx(
        metrics.precision_score(y, y_pred, average="weighted")
    )
    assert found["training_f1_score"] == pytest.approx(
        metrics.f1_score(y, y_pred, average="weighted")
    )
    assert found["training_roc_auc"] == pytest.approx(
        metrics.roc_auc_score(y, proba, multi_class="ovr", average="weighted")
    )


def test_regressor_metrics_honour_sample_weight(autolog: None, tmp_path: Path) -> None:
    X, y = load_diabetes(return_X_y=True)
    weights = np.random.default_rng(0).uniform(0.1, 2.0, len(y))
    mc.autolog()
    model = Ridge(alpha=0.5).fit(X, y, sample_weight=weights)

    run = only_run()
    y_pred = model.predict(X)
    w = {"sample_weight": weights}
    assert run.metrics == pytest.approx(
        {
            "training_mean_squared_error": metrics.mean_squared_error(y, y_pred, **w),
            "training_root_mean_squared_error": metrics.root_mean_squared_error(y, y_pred, **w),
            "training_mean_absolute_error": metrics.mean_absolute_error(y, y_pred, **w),
            "training_r2_score": metrics.r2_score(y, y_pred, **w),
            "training_score": model.score(X, y, **w),
        }
    )
    assert run.metrics["training_mean_squared_error"] != pytest.approx(
        metrics.mean_squared_error(y, y_pred)
    )
    assert run.params["alpha"] == "0.5"
    loaded, _ = load_model(run.id, tmp_path / "download")
    np.testing.assert_allclose(loaded.predict(X), y_pred)


def test_pipeline_logs_one_run_with_step_params(autolog: None, cancer: Data) -> None:
    X, y = cancer
    mc.autolog(log_models=False)
    Pipeline([("scale!", StandardScaler()), ("clf", LogisticRegression(C=2.0))]).fit(X, y)

    run = only_run()
    assert run.tags["estimator_name"] == "Pipeline"
    assert run.params["clf__C"] == "2.0"
    assert run.params["clf"] == "LogisticRegression"
    assert run.params["steps"] == "[('scale!', 'StandardScaler'), ('clf', 'LogisticRegression')]"
    assert run.params["scale___with_mean"] == "True"  # "!" is not allowed in a key
    assert "training_accuracy_score" in run.metrics


def test_fit_inside_active_run_logs_into_it_and_leaves_it_open(
    autolog: None, cancer: Data
) -> None:
    X, y = cancer
    mc.autolog(log_models=False)
    with mc.start_run(experiment="churn") as run:
        LogisticRegression().fit(X, y)
        assert mc.active_run() is run
        record = run.to_record()
        assert record.status == RunStatus.RUNNING
        assert record.params["C"] == "1.0"
        assert "training_score" in record.metrics
    assert only_run().status == RunStatus.FINISHED


def test_failed_fit_ends_its_run_failed_and_raises(autolog: None, cancer: Data) -> None:
    X, y = cancer
    mc.autolog()
    with pytest.raises(ValueError, match="C"):
        LogisticRegression(C=-1.0).fit(X, y)

    run = only_run()
    assert run.status == RunStatus.FAILED
    assert run.params["C"] == "-1.0"  # logged before the fit, so the failure says what was tried
    assert run.metrics == {}
    assert mc.active_run() is None


def test_failed_fit_inside_active_run_leaves_the_run_to_its_owner(
    autolog: None, cancer: Data
) -> None:
    X, y = cancer
    mc.autolog()
    with mc.start_run() as run:
        with pytest.raises(ValueError):
            LogisticRegression(C=-1.0).fit(X, y)
        assert not run.ended
    assert only_run().status == RunStatus.FINISHED


def test_disable_restores_the_original_methods(autolog: None, cancer: Data) -> None:
    X, y = cancer
    own_fit = vars(LogisticRegression)["fit"]
    signature = inspect.signature(LogisticRegression.fit)
    descriptor = vars(Pipeline)["fit_transform"]
    delegated = descriptor.fn
    assert "fit" not in vars(RandomForestClassifier)  # inherited from BaseForest

    mc.autolog()
    assert vars(LogisticRegression)["fit"] is not own_fit
    assert inspect.signature(LogisticRegression.fit) == signature
    assert descriptor.fn is not delegated
    assert "fit" in vars(RandomForestClassifier)

    mc.autolog(disable=True)
    assert vars(LogisticRegression)["fit"] is own_fit
    assert descriptor.fn is delegated
    assert "fit" not in vars(RandomForestClassifier)
    LogisticRegression().fit(X, y)
    assert mc.search_runs().empty


def test_available_if_methods_keep_their_availability(autolog: None, cancer: Data) -> None:
    X, _ = cancer
    mc.autolog(log_models=False)
    assert not hasattr(Pipeline([("clf", LogisticRegression())]), "fit_transform")

    Pipeline([("scale", StandardScaler())]).fit_transform(X)
    assert only_run().tags["estimator_name"] == "Pipeline"


def test_grid_search_logs_best_params_and_score_once(autolog: None, cancer: Data) -> None:
    X, y = cancer
    mc.autolog()
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)

    run = only_run()
    assert run.tags["estimator_name"] == "GridSearchCV"
    assert run.params["best_C"] == str(search.best_params_["C"])
    assert run.params["estimator"] == "LogisticRegression"
    assert run.params["param_grid"] == "{'C': [0.1, 1.0]}"
    assert run.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert run.metrics["training_score"] == pytest.approx(search.score(X, y))
    assert artifact_paths(run.id) == {"cv_results.csv", "model/model.skops", "model/model.json"}


def test_calling_autolog_again_changes_options_without_patching_twice(
    autolog: None, cancer: Data
) -> None:
    X, y = cancer
    own_fit = vars(LogisticRegression)["fit"]
    mc.autolog()
    mc.autolog(log_models=False, log_training_metrics=False)
    assert vars(LogisticRegression)["fit"].__wrapped__ is own_fit

    LogisticRegression().fit(X, y)
    LogisticRegression(C=3.0).fit(X, y)

    runs = mc.search_runs()
    assert len(runs) == 2
    for run_id in runs["run_id"]:
        assert mc.get_run(run_id).metrics == {}
        assert artifact_paths(run_id) == set()


def test_transformers_and_clusterers_log_one_run_without_training_metrics(
    autolog: None, cancer: Data
) -> None:
    X, y = cancer
    mc.autolog(log_models=False)
    StandardScaler().fit_transform(X, y)  # TransformerMixin.fit_transform calls fit
    PCA(n_components=2).fit_transform(X)  # PCA's does not
    KMeans(n_clusters=2, n_init=2, random_state=0).fit_predict(X)

    runs = [mc.get_run(run_id) for run_id in mc.search_runs()["run_id"]]
    assert sorted(run.tags["estimator_name"] for run in runs) == [
        "KMeans",
        "PCA",
        "StandardScaler",
    ]
    assert all(run.metrics == {} for run in runs)


def test_fits_in_joblib_worker_threads_are_not_logged(
    autolog: None, cancer: Data, tmp_path: Path
) -> None:
    X, _ = cancer
    mc.autolog(log_models=False)
    # Each tree is fit by a patched DecisionTreeRegressor.fit in a joblib worker thread.
    IsolationForest(n_estimators=6, n_jobs=2, random_state=0).fit(X)

    assert only_run().tags["estimator_name"] == "IsolationForest"
    assert not (tmp_path / ".modelcycle").exists()  # worker threads see the default store


def in_thread(target: Callable[[], object]) -> threading.Thread:
    """Start ``target`` in a thread that sees this test's settings (contextvars do not cross)."""
    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,))
    thread.start()
    return thread


def test_a_thread_with_its_own_run_logs_while_another_fit_runs(
    autolog: None, cancer: Data
) -> None:
    X, y = cancer
    mc.autolog(log_models=False)
    entered, release = threading.Event(), threading.Event()

    def slow_identity(data: np.ndarray) -> np.ndarray:
        entered.set()
        release.wait(timeout=30)
        return data

    def fit_in_own_run() -> None:
        with mc.start_run(name="own"):
            LogisticRegression(C=0.25).fit(X, y)

    slow = FunctionTransformer(slow_identity, inverse_func=lambda data: data, check_inverse=True)
    background = in_thread(lambda: slow.fit(X))  # check_inverse makes fit call slow_identity
    assert entered.wait(timeout=30)
    in_thread(lambda: LogisticRegression().fit(X, y)).join(timeout=30)  # like a joblib worker
    in_thread(fit_in_own_run).join(timeout=30)
    release.set()
    background.join(timeout=30)

    runs = {r.tags["estimator_name"]: r for r in map(mc.get_run, mc.search_runs()["run_id"])}
    assert sorted(runs) == ["FunctionTransformer", "LogisticRegression"]
    assert runs["LogisticRegression"].name == "own"
    assert runs["LogisticRegression"].params["C"] == "0.25"


def test_exclusive_leaves_user_runs_alone(autolog: None, cancer: Data) -> None:
    X, y = cancer
    mc.autolog(exclusive=True, log_models=False)
    with mc.start_run() as run:
        LogisticRegression().fit(X, y)
    assert mc.get_run(run.id).params == {}

    LogisticRegression().fit(X, y)
    assert len(mc.search_runs()) == 2


def test_store_failure_warns_and_the_fit_still_succeeds(
    autolog: None, cancer: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = cancer

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailable("the object store cannot be reached")

    monkeypatch.setattr(TrackingService, "log_artifact", unreachable)
    mc.autolog()
    with pytest.warns(AutologWarning, match="could not save the LogisticRegression model"):
        model = LogisticRegression().fit(X, y)

    check_is_fitted(model)
    run = only_run()
    assert run.status == RunStatus.FINISHED
    assert "training_score" in run.metrics


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(**kwargs: Any) -> None:
        raise StoreUnavailable("the database cannot be reached")

    monkeypatch.setattr(fluent, "start_run", unreachable)


def test_run_that_cannot_start_warns_and_the_fit_still_succeeds(
    autolog: None, cancer: Data, no_database: None
) -> None:
    X, y = cancer
    mc.autolog()
    with pytest.warns(AutologWarning, match="could not start a run") as caught:
        model = LogisticRegression().fit(X, y)

    check_is_fitted(model)
    assert caught[0].filename == __file__  # the warning points at the user's fit call
    assert mc.search_runs().empty


def test_silent_reports_failures_at_debug_level_only(
    autolog: None,
    cancer: Data,
    no_database: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    X, y = cancer
    mc.autolog(silent=True)
    with caplog.at_level(logging.DEBUG, logger="modelcycle.autolog"):
        LogisticRegression().fit(X, y)  # any warning would fail the test (filterwarnings=error)

    assert "could not start a run" in caplog.text


def test_log_models_needs_skops(autolog: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "skops.io", None)
    with pytest.raises(InvalidInput, match="skops"):
        mc.autolog()
    mc.autolog(log_models=False)


def test_importing_modelcycle_does_not_import_sklearn() -> None:
    code = (
        "import sys, modelcycle; modelcycle.autolog; "
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
