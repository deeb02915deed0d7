"""``modelcycle serve MODEL_URI`` and ``modelcycle serve --deployment NAME``: the inference
server on uvicorn.

The model is loaded and every file's digest verified once, before the port opens: a changed byte
ends the command with the integrity error naming the file (exit 5) and nothing is served. With
``--workers N`` uvicorn starts N processes; each loads the same version again (the alias is
resolved once, here, so a move during start-up cannot split the workers across versions).

A deployment is served differently: its routing lives in the store and changes while it serves
(``modelcycle deploy …``), so nothing is pinned here. Each worker loads every version the
routing needs, follows routing changes and alias moves within ``--poll-interval``, flushes its
traffic figures for ``deploy status`` and the canary gates, and logs every prediction (shadow
answers under ``NAME.shadow``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from modelcycle.cli._output import err_console
from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    from starlette.applications import Starlette

_WORKER_ENV = "MODELCYCLE_SERVE_WORKER"
"""Where the parent passes the resolved model to uvicorn's worker processes (``--workers``)."""
_DEPLOYMENT_ENV = "MODELCYCLE_SERVE_DEPLOYMENT"
"""... and the deployment they serve."""


@dataclass(frozen=True)
class _Target:
    """The model to serve, resolved: a local directory or a pinned ``models:/NAME/VERSION``."""

    uri: str
    name: str
    version: str | None
    trusted: bool
    max_body_mb: float
    log_predictions: bool = True
    runtime: str = "native"

    def encode(self) -> str:
        import json

        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def decode(cls, text: str) -> _Target:
        import json

        return cls(**json.loads(text))


def serve_model(
    model_uri: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODEL_URI]",
            help="A model directory (written by save_model) or a registry URI: "
            "models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/STAGE, runs:/RUN_ID/PATH. "
            "Not with --deployment.",
        ),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment",
            "-d",
            help="Serve a deployment (modelcycle deploy create) instead of one model: its "
            "splits, canary and shadows, following its routing changes without a restart.",
        ),
    ] = None,
    poll_interval: Annotated[
        float,
        typer.Option(
            "--poll-interval",
            min=0.05,
            help="With --deployment: seconds between checks for routing changes and alias moves.",
        ),
    ] = 1.0,
    log_predictions: Annotated[
        bool,
        typer.Option(
            "--log-predictions/--no-log-predictions",
            help="Write every prediction to the prediction log of the store MODELCYCLE_URI "
            "names (under the deployment's name, or the model's for MODEL_URI); "
            "mc.monitoring.predictions reads it back.",
        ),
    ] = True,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8080,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Server processes; each loads the model. One per core is a good start.",
        ),
    ] = 1,
    trusted: Annotated[
        bool,
        typer.Option(
            "--trusted",
            help="Allow model formats that run code when loaded (pyfunc, pickled estimators). "
            "Only for models whose source you trust.",
        ),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="The model name clients use on /v2/models/NAME and in metrics; the "
            "registered name, or the directory's name, by default.",
        ),
    ] = None,
    max_body_mb: Annotated[
        float,
        typer.Option(
            "--max-body-mb", min=0.001, help="Largest request body in MiB; larger gets HTTP 413."
        ),
    ] = 32.0,
    runtime: Annotated[
        Literal["native", "onnx"],
        typer.Option(
            "--runtime",
            help="native runs the model with its own library (scikit-learn, …); onnx runs the "
            "ONNX twin stored with it (save or register with onnx=True) on onnxruntime, "
            "without importing scikit-learn: ~100 MiB resident instead of ~250, half-second "
            "start. The twin was checked to answer like the model when it was saved. With "
            "--deployment, every routed version must have one.",
        ),
    ] = "native",
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request (costs about a fifth of the throughput).",
        ),
    ] = False,
) -> None:
    """Serve a model over HTTP: MLflow-compatible POST /invocations, the Open Inference Protocol
    (POST /v2/models/NAME/infer, GET /v2/models/NAME, /v2/health/ready, /v2/health/live) and
    Prometheus metrics on GET /metrics.

    The model's files are verified against their digests before the port opens; a changed file
    stops the command (exit 5) and names the file.

    Example:

        modelcycle serve models:/churn@champion --port 8080

        modelcycle serve --deployment churn-prod --port 8080 --workers 4

        curl -s localhost:8080/invocations -H 'Content-Type: application/json' \\
            -d '{"dataframe_split": {"columns": ["age", "income"], "data": [[31, 2.5]]}}'
    """
    # Before anything imports pyarrow: its default mimalloc pool keeps what the prediction log's
    # batches allocated, ~30 MiB more resident after a load; the system allocator gives it back.
    # Set in the environment, so --workers processes inherit it; a value already set is kept.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    import uvicorn

    if (model_uri is None) == (deployment is None):
        raise InvalidInput(
            "give either a MODEL_URI or --deployment NAME (not both): modelcycle serve "
            "models:/churn@champion, or modelcycle serve --deployment churn-prod"
        )
    settings: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": access_log,
        "lifespan": "off",
        "timeout_graceful_shutdown": 10,
    }
    if deployment is not None:
        from modelcycle.serving._deploy_spec import check_deployment_name

        spec = _DeploymentTarget(
            check_deployment_name(deployment), trusted, max_body_mb, poll_interval,
            log_predictions, runtime,
        )  # fmt: skip
        _serve_deployment(spec, workers, settings)
        return
    assert model_uri is not None
    target = _resolve(model_uri, name=name, trusted=trusted, max_body_mb=max_body_mb)
    target = dataclasses.replace(target, log_predictions=log_predictions, runtime=runtime)
    model = _load(target.uri, trusted, runtime)
    inputs = len(model.signature.inputs) if model.signature is not None else "unknown"
    err_console().print(
        f"Serving [bold]{target.name}[/] version {target.version or 'unversioned'} "
        f"({model.flavor}, {runtime} runtime, {inputs} inputs) on http://{host}:{port} with "
        f"{workers} worker{'s' if workers > 1 else ''}",
        highlight=False,
    )
    if workers == 1:
        uvicorn.run(_app(model, target), **settings)
        return
    os.environ[_WORKER_ENV] = target.encode()
    uvicorn.run("modelcycle.cli.serve:worker_app", factory=True, workers=workers, **settings)


@dataclass(frozen=True)
class _DeploymentTarget:
    """A deployment to serve, as the parent passes it to ``--workers`` processes."""

    name: str
    trusted: bool
    max_body_mb: float
    poll_interval_s: float
    log_predictions: bool
    runtime: str = "native"

    def encode(self) -> str:
        import json

        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def decode(cls, text: str) -> _DeploymentTarget:
        import json

        return cls(**json.loads(text))


def _serve_deployment(spec: _DeploymentTarget, workers: int, settings: dict[str, Any]) -> None:
    """Serve a deployment: the app's lifespan runs its sync thread, so uvicorn's is on."""
    import uvicorn

    settings = {**settings, "lifespan": "on"}
    if workers == 1:
        app = _deployment_app(spec)
        routing = app.state.sync.router.snapshot
        err_console().print(
            f"Serving deployment [bold]{spec.name}[/] revision {routing.revision} ("
            + ", ".join(f"{uri} → v{v}" for uri, (_, v) in routing.pinned.items())
            + f"), {spec.runtime} runtime, on http://{settings['host']}:{settings['port']}",
            highlight=False,
        )
        uvicorn.run(app, **settings)
        return
    # Load it once here, so a broken deployment stops before any worker starts.
    _deployment_app(spec, check_only=True)
    os.environ[_DEPLOYMENT_ENV] = spec.encode()
    err_console().print(
        f"Serving deployment [bold]{spec.name}[/] ({spec.runtime} runtime) on "
        f"http://{settings['host']}:{settings['port']} with {workers} workers",
        highlight=False,
    )
    uvicorn.run(
        "modelcycle.cli.serve:deployment_worker_app", factory=True, workers=workers, **settings
    )


def deployment_worker_app() -> Starlette:
    """The app of one ``--workers`` process serving a deployment."""
    return _deployment_app(_DeploymentTarget.decode(os.environ[_DEPLOYMENT_ENV]))


def _deployment_app(spec: _DeploymentTarget, *, check_only: bool = False) -> Starlette:
    from modelcycle.serving._deploy_app import create_deployment_app
    from modelcycle.serving.app import MIB, ServeOptions
    from modelcycle.serving.deployments import deployment_service

    service = deployment_service()
    listener = None
    if spec.log_predictions and not check_only:
        from modelcycle.serving._deploy_log import DeploymentLog

        listener = DeploymentLog(service.store, spec.name)
    return create_deployment_app(
        service,
        spec.name,
        trusted=spec.trusted,
        runtime=spec.runtime,
        options=ServeOptions(max_body_bytes=int(spec.max_body_mb * MIB)),
        listener=listener,
        on_shutdown=None if listener is None else listener.close,
        poll_interval_s=spec.poll_interval_s,
    )


def worker_app() -> Starlette:
    """The app of one ``--workers`` process, from the target its parent resolved."""
    target = _Target.decode(os.environ[_WORKER_ENV])
    return _app(_load(target.uri, target.trusted, target.runtime), target)


def _resolve(uri: str, *, name: str | None, trusted: bool, max_body_mb: float) -> _Target:
    """Pin what the parent and the workers must load: an alias is resolved once, here."""
    if uri.startswith(("models:/", "runs:/")):
        from modelcycle import registry

        parsed = registry.parse_model_uri(uri)
        if parsed.kind == "run":
            return _Target(
                uri, name or Path(parsed.path or "model").name, None, trusted, max_body_mb
            )
        # Loading the alias itself would resolve it a second time, and an alias moved in
        # between would serve another version here than the one the workers and the metrics
        # are told.
        version = registry.resolve(uri)
        pinned = f"models:/{version.name}/{version.version}"
        return _Target(pinned, name or version.name, str(version.version), trusted, max_body_mb)
    path = Path(uri)
    if not path.is_dir():
        raise InvalidInput(
            f"{uri!r} is neither a model directory nor a models:/ or runs:/ URI",
            details={"uri": uri},
        )
    resolved = path.resolve()
    return _Target(str(resolved), name or resolved.name, None, trusted, max_body_mb)


def _load(uri: str, trusted: bool, runtime: str) -> Any:
    """Load (verifying every digest) with ``runtime``; ``onnx`` imports no scikit-learn."""
    if uri.startswith(("models:/", "runs:/")):
        from modelcycle import registry

        return registry.load(uri, trusted=trusted, runtime=runtime)
    from modelcycle.registry.model_format import load_model

    return load_model(uri, trusted=trusted, runtime=runtime)


def _app(model: Any, target: _Target) -> Starlette:
    from modelcycle.serving.app import MIB, ServeOptions, create_app

    options = ServeOptions(max_body_bytes=int(target.max_body_mb * MIB))
    listener = _prediction_log(target.name) if target.log_predictions else None
    return create_app(
        model, name=target.name, version=target.version, options=options, listener=listener
    )


def _prediction_log(name: str) -> Any:
    """The prediction log of one served model, in the store the settings name, under the
    model's name; None, with a notice, when the settings name a server (the log is written
    to a store, and the server has no prediction-log API yet)."""
    from modelcycle.config import current_settings, is_server_uri
    from modelcycle.serving._deploy_log import DeploymentLog
    from modelcycle.store import current_store

    if is_server_uri(current_settings().uri):
        err_console().print(
            "Predictions are not logged: MODELCYCLE_URI names a server; point it at the store "
            "(a directory or a database URL) to log them, or pass --no-log-predictions.",
            highlight=False,
        )
        return None
    try:
        # Closed by the logger's own atexit hook, which drains what is queued.
        return DeploymentLog(current_store(), name)
    except InvalidInput as exc:
        raise InvalidInput(
            f"{exc.message}; the prediction log is named after the model: pass --name NAME, "
            "or --no-log-predictions",
            details=exc.details,
        ) from exc
