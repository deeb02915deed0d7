"""The module-level SDK: ``mc.registry.*``, ``mc.evaluate`` and ``ActiveRun.log_model``.

Each call finds the platform from the settings in force (``MODELCYCLE_URI``, or a
``config_context`` override), as ``mc.start_run`` does, and keeps one service per location for
the life of the process. The SDK acts as ``Settings.user``, else the operating-system user: that
name is recorded on every request, approval and alias move.
"""

from __future__ import annotations

import builtins
import getpass
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle._internal.services import ServiceCache
from modelcycle.config import current_settings
from modelcycle.errors import IntegrityError, InvalidInput, NotFound

# Re-exported for ``ActiveRun.log_model``'s annotation (tracking may import only this module).
from modelcycle.registry.entities import ModelVersion as ModelVersion

if TYPE_CHECKING:
    import pandas as pd

    from modelcycle.registry.entities import (
        ModelDatasetRef,
        RegisteredModel,
        RegistryEvent,
        TransitionRequest,
    )
    from modelcycle.registry.evaluation import EvaluationResult
    from modelcycle.registry.model_format import LoadedModel
    from modelcycle.registry.service import RegistryService
    from modelcycle.tracking.run import ActiveRun

EVALUATION_EXPERIMENT = "evaluations"


def _embedded() -> RegistryService:
    from modelcycle.registry.service import RegistryService
    from modelcycle.store import current_store

    return RegistryService(current_store())


def _remote(url: str, token: str | None) -> RegistryService:
    from modelcycle.client import HttpRegistryService

    # The HTTP client has RegistryService's methods, under the same names.
    return HttpRegistryService(url, token=token)  # type: ignore[return-value]


_services: ServiceCache[RegistryService] = ServiceCache(_embedded, _remote)
HTTP_CACHE = Path("~/.cache/modelcycle/models")
"""Where models downloaded from a server are materialised (by manifest digest, verified)."""


def registry_service() -> RegistryService:
    """The registry service of the platform the current settings point at: the HTTP client
    (same methods) for an ``http(s)://`` URI, else the service over the embedded store."""
    return _services.current()


def _is_remote(service: Any) -> bool:
    """Whether ``service`` is the HTTP client (never imported unless an http URI is in use)."""
    client = sys.modules.get("modelcycle.client.registry")
    return client is not None and isinstance(service, client.HttpRegistryService)


def close_all() -> None:
    """Forget the services and close every store and server connection this process opened
    (tests, notebooks)."""
    from modelcycle.store import close_current_stores

    _services.clear()
    close_current_stores()


def current_actor() -> str:
    """Who the SDK acts as: ``Settings.user`` (``MODELCYCLE_USER``), else the OS user."""
    return current_settings().user or getpass.getuser()


# -- registering ------------------------------------------------------------------------------


def register_model(
    model: Any,
    name: str,
    *,
    run_id: str | None = None,
    input_example: Any = None,
    flavor: str | None = None,
    signature: Any = None,
    requirements: Sequence[str] | None = None,
    datasets: Sequence[Any] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    onnx: bool = False,
) -> ModelVersion:
    """Register a model (an object, saved first) or a saved model directory as a new version.

    Args:
        model: a fitted model, or the path of a directory written by ``save_model``.
        name: the registered model's name; created on first use.
        run_id: the run that trained it; defaults to the active run, if any.
        input_example: a few input rows: the signature is inferred from them.
        flavor: ``sklearn``, ``onnx`` or ``pyfunc``; inferred from the object when omitted.
        datasets: dataset versions it was trained on (``"name@3"`` or ``DatasetVersion``),
            role ``train``; by default the run's inputs.
        onnx: also store an ONNX twin of a scikit-learn model, checked against
            ``input_example`` (see ``save_model``); ``serve --runtime onnx`` runs it.

    Raises:
        InvalidInput: a malformed name, or a model no flavor can save.
        IntegrityError: the directory does not match its manifest.

    >>> import modelcycle as mc
    >>> mv = mc.registry.register_model(model, "churn", input_example=X[:5])  # doctest: +SKIP
    >>> mv.version                                                             # doctest: +SKIP
    1
    """
    from modelcycle.tracking._fluent import active_run

    if run_id is None and (current := active_run()) is not None:
        run_id = current.id
    refs = None if datasets is None else [_dataset_ref(item) for item in datasets]
    if isinstance(model, str | os.PathLike):
        if onnx:
            raise InvalidInput(
                "onnx=True converts a model object as it is saved; a saved directory is "
                "registered as it is: save it with save_model(..., onnx=True), or pass the "
                "fitted model",
                details={"path": os.fspath(model), "problem": "onnx_twin"},
            )
        if not Path(model).is_dir():
            raise NotFound(
                f"no model directory at {os.fspath(model)!r}; pass a fitted model or a "
                "directory written by save_model",
                details={"path": os.fspath(model)},
            )
        return _register_dir(Path(model), name, run_id, refs, description, tags)
    with tempfile.TemporaryDirectory(prefix="mc-model-") as scratch:
        directory = _save(
            model, Path(scratch), input_example, flavor, signature, requirements, onnx=onnx
        )
        return _register_dir(directory, name, run_id, refs, description, tags)


def log_model(
    run: ActiveRun,
    model: Any,
    name: str,
    *,
    input_example: Any = None,
    flavor: str | None = None,
    signature: Any = None,
    requirements: Sequence[str] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    onnx: bool = False,
) -> ModelVersion:
    """Save ``model``, log its directory as the run's artifacts under ``name/`` (so
    ``runs:/RUN_ID/NAME`` loads it) and register it as the next version of ``name``."""
    with tempfile.TemporaryDirectory(prefix="mc-model-") as scratch:
        directory = _save(
            model, Path(scratch), input_example, flavor, signature, requirements, onnx=onnx
        )
        run.log_artifacts(directory, name)
        return _register_dir(directory, name, run.id, None, description, tags)


def _save(
    model: Any,
    scratch: Path,
    input_example: Any,
    flavor: str | None,
    signature: Any,
    requirements: Sequence[str] | None,
    *,
    onnx: bool,
) -> Path:
    from modelcycle.registry.model_format import save_model

    directory = scratch / "model"
    save_model(
        model,
        directory,
        flavor=flavor,
        input_example=input_example,
        signature=signature,
        requirements=None if requirements is None else list(requirements),
        onnx=onnx,
    )
    return directory


def _register_dir(
    directory: Path,
    name: str,
    run_id: str | None,
    datasets: Sequence[ModelDatasetRef] | None,
    description: str | None,
    tags: Mapping[str, str] | None,
) -> ModelVersion:
    return registry_service().register_model_version(
        name,
        directory,
        run_id=run_id,
        datasets=datasets,
        description=description,
        tags=tags,
        created_by=current_actor(),
    )


def _dataset_ref(item: Any) -> ModelDatasetRef:
    from modelcycle.registry.entities import ModelDatasetRef

    if isinstance(item, str):
        dataset, at, version = item.rpartition("@")
        if not at or not dataset or not version:
            raise InvalidInput(
                f"dataset reference {item!r} must be 'name@version', e.g. 'churn-train@3'",
                details={"dataset": item},
            )
        return ModelDatasetRef(dataset=dataset, version=version, role="train")
    if hasattr(item, "name") and hasattr(item, "version"):
        return ModelDatasetRef(dataset=item.name, version=str(item.version), role="train")
    raise InvalidInput(
        f"datasets take 'name@version' strings or dataset versions, got {type(item).__name__}",
        details={"type": type(item).__name__},
    )


# -- reading ------------------------------------------------------------------------------------


def get_model(name: str) -> RegisteredModel:
    """A registered model: versions summary, aliases, tags, policy."""
    return registry_service().get_registered_model(name)


def list_models() -> builtins.list[RegisteredModel]:
    """Every registered model, by name."""
    service = registry_service()
    found: builtins.list[RegisteredModel] = []
    token: str | None = None
    while True:
        page = service.list_registered_models(limit=1000, page_token=token)
        found.extend(page.models)
        token = page.next_page_token
        if token is None:
            return found


def get_model_version(name: str, version: int) -> ModelVersion:
    """One version: stage, aliases, run, commit, datasets, signature."""
    return registry_service().get_model_version(name, version)


def list_versions(name: str, *, limit: int | None = None) -> builtins.list[ModelVersion]:
    """Every version of ``name`` (or the newest ``limit``), newest first.

    Raises:
        InvalidInput: ``limit`` is not a positive integer.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInput(f"limit must be a positive integer, got {limit!r}")
    service = registry_service()
    found: builtins.list[ModelVersion] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        size = 1000 if limit is None else min(1000, limit - len(found))
        page = service.list_model_versions(name, limit=size, page_token=token)
        found.extend(page.versions)
        token = page.next_page_token
        if token is None:
            break
    return found


def resolve(uri: str) -> ModelVersion:
    """The version a ``models:/`` URI names (``models:/churn@champion`` → version 3)."""
    return registry_service().resolve(uri)


def history(name: str, version: int | None = None) -> builtins.list[RegistryEvent]:
    """Every alias move, request, approval, rejection and stage change, oldest first."""
    return registry_service().list_events(name, version=version)


def load(uri: str, *, trusted: bool = False, runtime: str = "native") -> LoadedModel:
    """Load a model by URI, every file's digest verified before anything is deserialised.

    Args:
        uri: ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/NAME/STAGE`` or
            ``runs:/RUN_ID/PATH``.
        trusted: allow formats that run code when loaded (``pyfunc``, pickled).
        runtime: ``native``, or ``onnx`` for the version's ONNX twin (no scikit-learn import).

    Raises:
        InvalidInput: a malformed URI (the message lists the accepted forms), an unknown
            runtime, or ``onnx`` for a model without a twin.
        NotFound: no such model, version, alias or run artifact.
        IntegrityError: a stored byte changed; nothing is loaded.
        PermissionDenied: the flavor needs ``trusted=True``.

    >>> import modelcycle as mc
    >>> model = mc.registry.load("models:/churn@champion")  # doctest: +SKIP
    >>> model.predict(df)                                    # doctest: +SKIP
    """
    from modelcycle.registry import _reg_files
    from modelcycle.registry.model_format import load_model

    directory, was_cached = _local_dir(uri)
    try:
        return load_model(directory, trusted=trusted, runtime=runtime)
    except IntegrityError:
        if not was_cached:
            raise
    # The cached copy was altered on disk: drop it and read the object store again.
    _reg_files.discard(directory)
    directory, _ = _local_dir(uri)
    return load_model(directory, trusted=trusted, runtime=runtime)


def local_path(uri: str) -> Path:
    """The model directory of ``uri`` on the local disk (materialised from verified reads)."""
    return _local_dir(uri)[0]


def _local_dir(uri: str) -> tuple[Path, bool]:
    from modelcycle.registry import _reg_files
    from modelcycle.registry._uris import parse_model_uri

    parsed = parse_model_uri(uri)
    service = registry_service()
    remote = _is_remote(service)
    if parsed.kind == "run":
        assert parsed.run_id is not None and parsed.path is not None
        files, digest = _run_files(parsed.run_id, parsed.path)
        if remote:
            source: Any = _RunFiles(parsed.run_id, parsed.path.strip("/"), files)
    else:
        version = service.resolve(parsed)
        files = service.model_version_files(version.name, version.version)
        digest = version.manifest_digest
        if remote:
            source = service.file_source(version.name, version.version, files)  # type: ignore[attr-defined]
    if remote:
        root = HTTP_CACHE.expanduser()
    else:
        root, source = _reg_files.cache_root(service.store), service.store.objects
    cached = _reg_files.is_cached(root / digest, digest)
    return _reg_files.materialise(source, files, digest, root), cached


class _RunFiles:
    """A run's model directory on a server as an object source for ``materialise``: each
    ``copy_to`` is a verified artifact download."""

    def __init__(self, run_id: str, prefix: str, files: builtins.list[Any]) -> None:
        self._run_id = run_id
        self._paths = {item.digest: f"{prefix}/{item.path}" for item in files}

    def copy_to(self, digest: str, dest_path: Path) -> None:
        from modelcycle.tracking._fluent import tracking_service

        tracking_service().download_artifacts(self._run_id, self._paths[digest], dest_path)


def _run_files(run_id: str, path: str) -> tuple[builtins.list[Any], str]:
    from modelcycle.registry import _reg_files
    from modelcycle.registry.entities import ModelFile
    from modelcycle.tracking._fluent import tracking_service

    prefix = path.strip("/")
    found = tracking_service().list_artifacts(run_id, prefix)
    files = [
        ModelFile(path=item.path[len(prefix) + 1 :], digest=item.digest, size=item.size)
        for item in found
        if item.path.startswith(prefix + "/")
    ]
    manifest = next((f for f in files if f.path == _reg_files.MANIFEST_FILE), None)
    if manifest is None:
        raise NotFound(
            f"run {run_id} has no model at {path!r} (no {_reg_files.MANIFEST_FILE} there); "
            "run.log_model(model, name) logs one under NAME/",
            details={"run_id": run_id, "path": path},
        )
    return files, manifest.digest


# -- aliases, stages, approvals ----------------------------------------------------------------


def set_alias(name: str, alias: str, version: int) -> ModelVersion:
    """Point ``models:/NAME@ALIAS`` at ``version``; the move is recorded with its actor.

    >>> import modelcycle as mc
    >>> mc.registry.set_alias("churn", "champion", 3)  # doctest: +SKIP
    """
    return registry_service().set_alias(name, alias, version, actor=current_actor())


def delete_alias(name: str, alias: str) -> None:
    """Remove an alias; recorded with the version it pointed to."""
    registry_service().delete_alias(name, alias, actor=current_actor())


def set_policy(
    name: str,
    *,
    require_approval: bool = True,
    gates: Sequence[str] = (),
    archive_previous: bool = True,
) -> RegisteredModel:
    """Set what a version needs to enter production.

    Args:
        require_approval: a second person must approve the request.
        gates: e.g. ``["roc_auc >= 0.85", "roc_auc >= champion"]``, read from the version's
            latest evaluation (``mc.evaluate``), else its run's metrics.
        archive_previous: entering production archives the version that was there.
    """
    from modelcycle.registry.entities import ModelPolicy

    policy = ModelPolicy(
        require_approval=require_approval, gates=tuple(gates), archive_previous=archive_previous
    )
    return registry_service().set_policy(name, policy, actor=current_actor())


def request_transition(
    name: str, version: int, stage: str, *, comment: str | None = None
) -> TransitionRequest:
    """Move a version to ``stage``, or, where the policy wants an approval, ask for it.

    Returns:
        The request, ``applied`` or ``pending``.

    Raises:
        GateFailed: a production gate fails; the message gives metric, value and threshold.
    """
    return registry_service().request_transition(
        name, version, stage, actor=current_actor(), comment=comment
    )


transition = request_transition


def approve(name: str, version: int, *, comment: str | None = None) -> TransitionRequest:
    """Approve the version's pending request as the current user, and apply it.

    Raises:
        PermissionDenied: the current user made the request.
        GateFailed: a gate fails now.
        NotFound: the version has no pending request.
    """
    service = registry_service()
    request = service.pending_request(name, version)
    return service.approve(request.id, actor=current_actor(), comment=comment)


def reject(name: str, version: int, *, comment: str | None = None) -> TransitionRequest:
    """Reject (or withdraw, as its requester) the version's pending request."""
    service = registry_service()
    request = service.pending_request(name, version)
    return service.reject(request.id, actor=current_actor(), comment=comment)


def list_requests(
    name: str | None = None, *, status: str | None = None
) -> builtins.list[TransitionRequest]:
    """Transition requests, newest first (``status="pending"`` for the queue to review)."""
    return registry_service().list_requests(name, status=status)


# -- evaluation, comparison, card, export --------------------------------------------------------


def evaluate(
    model_uri: str,
    data: Any,
    target: str,
    *,
    run: ActiveRun | None = None,
    task: str | None = None,
    slice_by: str | Sequence[str] | None = None,
    sensitive: str | None = None,
    feature_importance: bool = True,
    dataset: str | None = None,
) -> EvaluationResult:
    """Evaluate a model on labelled data, log the metrics to a run and attach them to the version.

    Args:
        model_uri: any URI ``load`` accepts; ``models:/`` URIs get the result attached.
        data: a DataFrame with the ``target`` column, or a dataset reference ``"name@3"``.
        run: the run to log to; defaults to the active run, else a new run of experiment
            ``evaluations``.
        slice_by, sensitive, feature_importance, task: passed to ``evaluate_model``.
        dataset: the dataset reference recorded with the evaluation (implied by a ``data``
            reference).

    Returns:
        The result: ``.metrics`` (``accuracy``, ``roc_auc``, … or ``mse``, ``r2``, …).

    >>> import modelcycle as mc
    >>> result = mc.evaluate("models:/churn/3", test_df, target="churned")  # doctest: +SKIP
    >>> result.metrics["roc_auc"]                                           # doctest: +SKIP
    0.91
    """
    from modelcycle.registry._uris import parse_model_uri
    from modelcycle.registry.evaluation import evaluate_model
    from modelcycle.tracking._fluent import active_run, start_run

    parsed = parse_model_uri(model_uri)
    frame, dataset = _evaluation_data(data, dataset)
    model = load(model_uri)
    result = evaluate_model(
        model,
        frame,
        target,
        task=task,
        slice_by=slice_by,
        sensitive=sensitive,
        feature_importance=feature_importance,
    )
    version = None if parsed.kind == "run" else registry_service().resolve(parsed)
    # Flattened once: the run and the registry get the same metrics and document.
    metrics = _finite(result.to_metrics_for_logging())
    document = _json_ready(result.to_dict())
    target_run = run or active_run()
    if target_run is not None:
        _log_evaluation(target_run, metrics, document, model_uri, dataset)
        run_id = target_run.id
    else:
        name = f"evaluate-{version.name}-v{version.version}" if version else "evaluate"
        with start_run(experiment=EVALUATION_EXPERIMENT, name=name) as new_run:
            _log_evaluation(new_run, metrics, document, model_uri, dataset)
        run_id = new_run.id
    if version is not None:
        registry_service().attach_evaluation(
            version.name,
            version.version,
            metrics=metrics,
            result=document,
            run_id=run_id,
            dataset=dataset,
            actor=current_actor(),
        )
    return result


def _evaluation_data(data: Any, dataset: str | None) -> tuple[Any, str | None]:
    if isinstance(data, str):
        from modelcycle.data._fluent import get

        return get(data).to_pandas(), dataset or data
    return data, dataset


def _log_evaluation(
    run: ActiveRun,
    metrics: dict[str, float],
    document: dict[str, Any],
    model_uri: str,
    dataset: str | None,
) -> None:
    run.log_metrics(metrics)
    run.set_tags({"evaluated_model": model_uri})
    run.log_dict(document, "evaluation/result.json")
    if dataset is not None and "@" in dataset:
        run.log_input(dataset, role="evaluation")


def compare(
    champion_uri: str, challenger_uri: str, data: Any, target: str, **options: Any
) -> pd.DataFrame:
    """Champion and challenger evaluated on the same data: one row per metric with both values
    and the difference (see ``compare_results``). Nothing is logged."""
    from modelcycle.registry.evaluation import compare_results, evaluate_model

    frame, _ = _evaluation_data(data, None)
    champion = evaluate_model(load(champion_uri), frame, target, **options)
    challenger = evaluate_model(load(challenger_uri), frame, target, **options)
    return compare_results(champion, challenger)


def card(name: str, version: int, format: str = "markdown") -> str:
    """The model card of a version, as Markdown or a self-contained HTML page.

    Sections: purpose, training data, metrics, slices and fairness, signature, lineage,
    approvals and transitions.
    """
    from modelcycle.registry.model_card import collect, render

    service = registry_service()
    if _is_remote(service):
        return service.card(name, version, format)  # type: ignore[attr-defined,no-any-return]
    return render(collect(service, name, version), format)


def export_docker(
    model_uri: str,
    dest: str | os.PathLike[str],
    *,
    port: int = 8080,
    trusted: bool = False,
    runtime: str = "native",
) -> list[Path]:
    """Write a Docker build context for serving ``model_uri`` under ``dest``; returns its files.

    ``trusted`` is needed for a flavor that runs code when loaded (pyfunc), as for ``load``.
    ``runtime="onnx"`` builds a lean image serving the version's ONNX twin (no scikit-learn).
    """
    from modelcycle.registry.export import write_docker_context

    return write_docker_context(
        local_path(model_uri), Path(dest),
        model_uri=model_uri, port=port, trusted=trusted, runtime=runtime,
    )  # fmt: skip


def export_k8s(
    model_uri: str,
    dest: str | os.PathLike[str],
    *,
    image: str | None = None,
    name: str | None = None,
    port: int = 8080,
) -> list[Path]:
    """Write Kubernetes Deployment, Service and HorizontalPodAutoscaler manifests under ``dest``.

    Args:
        image: the image built from ``export_docker``'s context; ``NAME:VERSION`` by default.
        name: the Kubernetes name; the model's name, lowercased, by default.
    """
    from modelcycle.registry.export import write_k8s_manifests

    version = resolve(model_uri) if model_uri.startswith("models:/") else None
    default = version.name if version else "model"
    k8s_name = name or _dns_name(default)
    tag = f"{k8s_name}:{version.version}" if version else f"{k8s_name}:latest"
    return write_k8s_manifests(Path(dest), name=k8s_name, image=image or tag, port=port)


def _dns_name(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    return cleaned[:63].strip("-") or "model"


def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Metrics that are numbers and finite: NaN cannot be stored in JSON or compared by a gate."""
    import math

    out = {}
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[str(key)] = number
    return out


def _json_ready(value: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays as Python values, NaN/inf as None."""
    import math

    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
