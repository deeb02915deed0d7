"""The model registry: versions, aliases, stages, approvals, evaluation, cards and export.

The map::

    run.log_model(model, name) / register_model(model | dir, name) ─► ModelVersion .name .version
        │   model directory (model.json + payload) ─► object store, every file by blake3
        │   rows: model_versions, files, datasets (the run's inputs), tags, registry_events
        ├─ set_alias(name, "champion", 3)            models:/name@champion
        ├─ set_policy(name, gates=["roc_auc >= 0.85", "roc_auc >= champion"])
        ├─ request_transition(name, 3, "production") ─► pending request ─► approve / reject
        ├─ mc.evaluate("models:/name/3", df, target=…) ─► metrics logged to a run, attached to v3
        ├─ load("models:/name@champion")             every digest verified, then deserialised
        └─ card(name, 3) · compare(a, b, df, target) · export_docker / export_k8s(uri, dir)

Names load on first use, so ``import modelcycle.registry`` imports neither SQLAlchemy nor
scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr

_FLUENT = (
    "approve",
    "card",
    "compare",
    "delete_alias",
    "evaluate",
    "export_docker",
    "export_k8s",
    "get_model",
    "get_model_version",
    "history",
    "list_models",
    "list_requests",
    "list_versions",
    "load",
    "local_path",
    "register_model",
    "reject",
    "request_transition",
    "resolve",
    "set_alias",
    "set_policy",
    "transition",
)
_ENTITIES = (
    "ModelDatasetRef",
    "ModelEvaluation",
    "ModelFile",
    "ModelPolicy",
    "ModelVersion",
    "RegisteredModel",
    "RegistryEvent",
    "RequestStatus",
    "Stage",
    "TransitionRequest",
)

__all__ = [
    "ModelDatasetRef",
    "ModelEvaluation",
    "ModelFile",
    "ModelPolicy",
    "ModelVersion",
    "RegisteredModel",
    "RegistryEvent",
    "RegistryService",
    "RequestStatus",
    "Stage",
    "TransitionRequest",
    "approve",
    "card",
    "compare",
    "delete_alias",
    "evaluate",
    "export_docker",
    "export_k8s",
    "get_model",
    "get_model_version",
    "history",
    "list_models",
    "list_requests",
    "list_versions",
    "load",
    "local_path",
    "parse_model_uri",
    "register_model",
    "reject",
    "request_transition",
    "resolve",
    "set_alias",
    "set_policy",
    "transition",
]

_LAZY: dict[str, str] = {
    **{name: f"modelcycle.registry._fluent:{name}" for name in _FLUENT},
    **{name: f"modelcycle.registry.entities:{name}" for name in _ENTITIES},
    "RegistryService": "modelcycle.registry.service:RegistryService",
    "parse_model_uri": "modelcycle.registry._uris:parse_model_uri",
}

if TYPE_CHECKING:
    from modelcycle.registry._fluent import (
        approve,
        card,
        compare,
        delete_alias,
        evaluate,
        export_docker,
        export_k8s,
        get_model,
        get_model_version,
        history,
        list_models,
        list_requests,
        list_versions,
        load,
        local_path,
        register_model,
        reject,
        request_transition,
        resolve,
        set_alias,
        set_policy,
        transition,
    )
    from modelcycle.registry._uris import parse_model_uri
    from modelcycle.registry.entities import (
        ModelDatasetRef,
        ModelEvaluation,
        ModelFile,
        ModelPolicy,
        ModelVersion,
        RegisteredModel,
        RegistryEvent,
        RequestStatus,
        Stage,
        TransitionRequest,
    )
    from modelcycle.registry.service import RegistryService


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
