"""modelcycle: manage machine-learning models across their whole life.

The SDK is this module's functions; everything loads on first use, so ``import modelcycle``
stays fast::

    import modelcycle as mc

    with mc.start_run(experiment="churn", params={"C": 1.0}) as run:
        run.log_metric("auc", 0.91)
    mc.search_runs(experiment="churn", filter="metrics.auc > 0.8")

Map of the objects: experiment → run (params, metrics by step, tags, artifacts, inputs) →
registered model version (``run.log_model``; aliases, stages, approvals, ``mc.evaluate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "start_run": "modelcycle.tracking._fluent:start_run",
    "active_run": "modelcycle.tracking._fluent:active_run",
    "end_run": "modelcycle.tracking._fluent:end_run",
    "log_param": "modelcycle.tracking._fluent:log_param",
    "log_params": "modelcycle.tracking._fluent:log_params",
    "log_metric": "modelcycle.tracking._fluent:log_metric",
    "log_metrics": "modelcycle.tracking._fluent:log_metrics",
    "set_tag": "modelcycle.tracking._fluent:set_tag",
    "set_tags": "modelcycle.tracking._fluent:set_tags",
    "log_artifact": "modelcycle.tracking._fluent:log_artifact",
    "log_input": "modelcycle.tracking._fluent:log_input",
    "get_run": "modelcycle.tracking._fluent:get_run",
    "get_experiment": "modelcycle.tracking._fluent:get_experiment",
    "list_experiments": "modelcycle.tracking._fluent:list_experiments",
    "rename_experiment": "modelcycle.tracking._fluent:rename_experiment",
    "delete_experiment": "modelcycle.tracking._fluent:delete_experiment",
    "restore_experiment": "modelcycle.tracking._fluent:restore_experiment",
    "search_runs": "modelcycle.tracking._fluent:search_runs",
    "get_metric_history": "modelcycle.tracking._fluent:get_metric_history",
    "download_artifacts": "modelcycle.tracking._fluent:download_artifacts",
    "list_artifacts": "modelcycle.tracking._fluent:list_artifacts",
    "delete_run": "modelcycle.tracking._fluent:delete_run",
    "autolog": "modelcycle.tracking.autolog:autolog",
    "config_context": "modelcycle.config:config_context",
    "Settings": "modelcycle.config:Settings",
    "errors": "modelcycle.errors",
    "quality": "modelcycle.quality",
    "data": "modelcycle.data",
    "deployments": "modelcycle.serving._deploy_fluent",
    "registry": "modelcycle.registry",
    "monitoring": "modelcycle.monitoring",
    "evaluate": "modelcycle.registry._fluent:evaluate",
}

__all__ = [
    "__version__",
    "Settings",
    "active_run",
    "autolog",
    "delete_experiment",
    "delete_run",
    "config_context",
    "data",
    "deployments",
    "download_artifacts",
    "end_run",
    "errors",
    "evaluate",
    "get_experiment",
    "get_metric_history",
    "get_run",
    "list_artifacts",
    "list_experiments",
    "log_artifact",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "monitoring",
    "quality",
    "registry",
    "rename_experiment",
    "restore_experiment",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]

if TYPE_CHECKING:
    from modelcycle import data, errors, monitoring, quality, registry
    from modelcycle.config import Settings, config_context
    from modelcycle.registry._fluent import evaluate
    from modelcycle.serving import _deploy_fluent as deployments
    from modelcycle.tracking._fluent import (
        active_run,
        delete_experiment,
        delete_run,
        download_artifacts,
        end_run,
        get_experiment,
        get_metric_history,
        get_run,
        list_artifacts,
        list_experiments,
        log_artifact,
        log_input,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        rename_experiment,
        restore_experiment,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )
    from modelcycle.tracking.autolog import autolog


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
