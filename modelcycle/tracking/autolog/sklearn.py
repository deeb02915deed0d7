"""Autolog for scikit-learn: each ``fit`` of an estimator records a run, as in MLflow.

>>> import modelcycle as mc
>>> mc.autolog()  # doctest: +SKIP
>>> LogisticRegression(C=0.5).fit(X, y)  # doctest: +SKIP

records params (``get_params(deep=True)``), training metrics, the ``estimator_name`` and
``estimator_class`` tags and the fitted model (skops) in the active run, or in a run of its own
that ends with the fit. See ``docs/autolog.md`` for the full list.

How the patching works: every class ``sklearn.utils.all_estimators()`` lists gets a wrapper
for ``fit``, ``fit_transform`` and ``fit_predict`` when it has them. Methods that sklearn
exposes through ``available_if`` (``Pipeline.fit_transform``) are wrapped inside their
descriptor, so ``hasattr`` keeps answering as before. Only the outermost wrapped call of a fit
logs: a ``fit_transform`` that calls ``fit``, a Pipeline fitting its steps and a search fitting
its candidates all log once. Telling statically which ``fit_transform`` calls ``fit`` is not
possible in general, so all three are wrapped and the guard decides.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import TYPE_CHECKING, Any

from modelcycle.errors import InvalidInput
from modelcycle.tracking.autolog import _sklearn_content as content
from modelcycle.tracking.autolog._session import (
    AutologConfig,
    attempt,
    autolog_run,
    outermost_fit,
)

if TYPE_CHECKING:
    from modelcycle.tracking.run import ActiveRun

__all__ = ["autolog"]

_METHODS = ("fit", "fit_transform", "fit_predict")

_lock = threading.Lock()
_config: AutologConfig | None = None  # None: autolog is off
_patches: list[_Patch] = []


@dataclass(frozen=True)
class _Patch:
    """One attribute autolog replaced, and how to put the original back exactly."""

    owner: Any  # a class, or the available_if descriptor whose ``fn`` is wrapped
    name: str
    original: Callable[..., Any]
    inherited: bool  # the owner only inherited the method: restoring deletes the wrapper

    def apply(self) -> None:
        setattr(self.owner, self.name, _autologged(self.original))

    def restore(self) -> None:
        if self.inherited:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self.original)


def autolog(
    *,
    disable: bool = False,
    log_models: bool = True,
    log_training_metrics: bool = True,
    exclusive: bool = False,
    silent: bool = False,
) -> None:
    """Log every scikit-learn fit from now on (``disable=True``: stop, restoring the methods).

    Calling it again only changes the options: estimators are patched once.

    Args:
        disable: remove the patches; fits are no longer logged.
        log_models: save each fitted estimator with skops as the artifact ``model/``.
        log_training_metrics: score classifiers and regressors on the data they were fit on.
        exclusive: do not log into runs the user started; only into runs autolog starts.
        silent: report autolog's own failures at DEBUG level instead of as ``AutologWarning``.

    Raises:
        InvalidInput: ``log_models`` is true and skops is not installed.
    """
    global _config
    with _lock:
        if disable:
            for patch in reversed(_patches):
                patch.restore()
            _patches.clear()
            _config = None
            return
        if log_models:
            _require_skops()
        _config = AutologConfig(
            log_models=log_models,
            log_training_metrics=log_training_metrics,
            exclusive=exclusive,
            silent=silent,
        )
        if not _patches:
            _patches.extend(_plan())
            for patch in _patches:
                patch.apply()


def _require_skops() -> None:
    try:
        import skops.io  # noqa: F401
    except ImportError as error:
        raise InvalidInput(
            "autolog saves models with skops, which is not installed: "
            "pip install 'modelcycle[sklearn]', or call mc.autolog(log_models=False)",
            details={"missing": "skops"},
        ) from error


def _plan() -> list[_Patch]:
    """The patches for every estimator class, each method wrapped exactly once.

    The originals are read now, before anything is patched, so a subclass never wraps its
    base class's wrapper.
    """
    from sklearn.utils import all_estimators

    classes = [cls for _, cls in all_estimators()]
    listed = set(classes)
    planned: dict[tuple[int, str], _Patch] = {}
    for cls in classes:
        for name in _METHODS:
            patch = _patch_for(cls, name, listed)
            if patch is not None:
                planned.setdefault((id(patch.owner), patch.name), patch)
    return list(planned.values())


def _patch_for(cls: type, name: str, listed: set[type]) -> _Patch | None:
    definer = next((base for base in cls.__mro__ if name in vars(base)), None)
    if definer is None:
        return None
    raw = vars(definer)[name]
    if callable(getattr(raw, "fn", None)) and hasattr(raw, "check"):
        # sklearn's available_if descriptor: wrap the function it hands out.
        return _Patch(owner=raw, name="fn", original=raw.fn, inherited=False)
    if not isinstance(raw, FunctionType):
        return None  # a property hiding an inherited method (FeatureAgglomeration.fit_predict)
    if definer is not cls and definer in listed:
        return None  # wrapped on the listed class that defines it
    return _Patch(owner=cls, name=name, original=raw, inherited=definer is not cls)


def _autologged(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit_with_autolog(self: Any, *args: Any, **kwargs: Any) -> Any:
        config = _config
        if config is None:  # a reference to the wrapper kept across mc.autolog(disable=True)
            return original(self, *args, **kwargs)
        with outermost_fit() as outermost:
            if not outermost:
                return original(self, *args, **kwargs)
            return _fit_and_log(config, original, self, args, kwargs)

    return fit_with_autolog


def _fit_and_log(
    config: AutologConfig,
    original: Callable[..., Any],
    estimator: Any,
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> Any:
    """Params and tags before the fit, so a failed fit's run still says what was tried."""
    name = type(estimator).__name__
    described = attempt(config, f"read the params of {name}", lambda: content.describe(estimator))
    params, tags = described if described is not None else ({}, {})
    with autolog_run(config, params=params, tags=tags) as run:
        result = original(estimator, *args, **kwargs)
        if run is not None:
            _log_results(config, run, estimator, original, args, kwargs)
    return result


def _log_results(
    config: AutologConfig,
    run: ActiveRun,
    estimator: Any,
    original: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> None:
    name = type(estimator).__name__
    metrics = dict(_training_metrics(config, estimator, original, args, kwargs))
    searched = attempt(
        config, f"read the search results of {name}", lambda: content.search_results(estimator)
    )
    if searched is not None:
        best_params, best_metrics = searched
        metrics.update(best_metrics)
        if best_params:
            attempt(
                config, f"log the best params to run {run.id}", lambda: run.log_params(best_params)
            )
        if isinstance(getattr(estimator, "cv_results_", None), dict):
            attempt(
                config,
                f"log the search results to run {run.id}",
                lambda: content.log_cv_results(run, estimator),
            )
    if metrics:
        attempt(config, f"log metrics to run {run.id}", lambda: run.log_metrics(metrics))
    if config.log_models:
        attempt(
            config,
            f"save the {name} model to run {run.id}",
            lambda: content.log_model(run, estimator),
        )


def _training_metrics(
    config: AutologConfig,
    estimator: Any,
    original: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> Iterator[tuple[str, float]]:
    if not config.log_training_metrics:
        return
    name = type(estimator).__name__
    computations = attempt(
        config,
        f"compute the training metrics of {name}",
        lambda: content.training_metrics(
            estimator, content.fit_inputs(original, estimator, args, kwargs)
        ),
    )
    for key, compute in (computations or {}).items():
        value = attempt(config, f"compute {key} of {name}", compute)
        if value is not None:
            yield key, float(value)
