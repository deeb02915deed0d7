"""modelcycle: manage machine-learning models across their whole life.

The SDK is this module's functions; everything loads on first use, so ``import modelcycle``
stays fast::

    import modelcycle as mc

    with mc.start_run(experiment="churn", params={"C": 1.0}) as run:
        run.log_metric("auc", 0.91)
    mc.search_runs(experiment="churn", filter="metrics.auc > 0.8")

Map of the objects: experiment → run (params, metrics by step, tags, artifacts, inputs).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "start_run": "modelcycle._fluent:start_run",
    "active_run": "modelcycle._fluent:active_run",
    "end_run": "modelcycle._fluent:end_run",
    "log_param": "modelcycle._fluent:log_param",
    "log_params": "modelcycle._fluent:log_params",
    "log_metric": "modelcycle._fluent:log_metric",
    "log_metrics": "modelcycle._fluent:log_metrics",
    "set_tag": "modelcycle._fluent:set_tag",
    "set_tags": "modelcycle._fluent:set_tags",
    "log_artifact": "modelcycle._fluent:log_artifact",
    "log_input": "modelcycle._fluent:log_input",
    "get_run": "modelcycle._fluent:get_run",
    "get_experiment": "modelcycle._fluent:get_experiment",
    "list_experiments": "modelcycle._fluent:list_experiments",
    "search_runs": "modelcycle._fluent:search_runs",
    "get_metric_history": "modelcycle._fluent:get_metric_history",
    "download_artifacts": "modelcycle._fluent:download_artifacts",
    "autolog": "modelcycle.tracking.autolog:autolog",
    "config_context": "modelcycle.config:config_context",
    "Settings": "modelcycle.config:Settings",
    "errors": "modelcycle.errors",
}

__all__ = [
    "__version__",
    "Settings",
    "active_run",
    "autolog",
    "config_context",
    "download_artifacts",
    "end_run",
    "errors",
    "get_experiment",
    "get_metric_history",
    "get_run",
    "list_experiments",
    "log_artifact",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]

if TYPE_CHECKING:
    from modelcycle import errors
    from modelcycle._fluent import (
        active_run,
        download_artifacts,
        end_run,
        get_experiment,
        get_metric_history,
        get_run,
        list_experiments,
        log_artifact,
        log_input,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )
    from modelcycle.config import Settings, config_context
    from modelcycle.tracking.autolog import autolog


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'modelcycle' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
