"""The inference app: MLflow's ``/invocations``, the Open Inference Protocol (v2), ``/metrics``.

Built on bare Starlette rather than FastAPI: the request path parses the body itself (the payload
formats need more than a pydantic model can say, and the numeric fast path must not build
pydantic objects per row), so FastAPI's dependency injection and validation would only add
overhead to each request (42 against 78 µs per one-row request in-process; see
``docs/serving.md``).

Endpoints:

==========================================  =============================================
``POST /invocations``                       MLflow scoring: JSON formats or ``text/csv``
``POST /v2/models/{name}/infer``            Open Inference Protocol inference
``POST /v2/models/{name}/versions/{v}/infer``  the same, pinned to one served version
``GET /v2/models/{name}``                   model metadata: versions, platform, inputs, outputs
``GET /v2/models/{name}/ready``             model readiness
``GET /v2/health/live`` · ``/v2/health/ready``  process liveness and readiness
``GET /v2``                                 server metadata
``GET /metrics``                            Prometheus text format
``GET /ping`` · ``GET /health``             MLflow's health checks, for existing probes
==========================================  =============================================

Every answer carries ``X-Request-Id`` (the client's, or a fresh one); every error is
``{"error": {"code", "message", "details"}}`` with the status of its error class.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import anyio.to_thread
import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelcycle.errors import InvalidInput, ModelcycleError, NotFound
from modelcycle.serving._responses import (
    REQUEST_ID_HEADER,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_response,
    json_response,
    request_id,
    to_json_list,
    v2_datatype,
)
from modelcycle.serving._shadow import Parse, ShadowMirror
from modelcycle.serving._tabular import Batch
from modelcycle.serving.handle import ModelHandle, ModelRouter, ServedModel, StaticRouter
from modelcycle.serving.metrics import CONTENT_TYPE, ServingMetrics
from modelcycle.serving.payloads import parse_csv, parse_invocations, parse_v2

if TYPE_CHECKING:
    from modelcycle.monitoring.entities import PredictionLogStats

__all__ = [
    "CountingListener",
    "PredictionEvent",
    "PredictionListener",
    "ServeOptions",
    "build_app",
    "create_app",
]

MIB = 1024 * 1024

_log = logging.getLogger("modelcycle.serving")

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class ServeOptions:
    """How the app treats requests.

    Attributes:
        max_body_bytes: larger bodies are refused with 413 before they are read whole.
        inline_rows: batches of at most this many rows are predicted on the event loop; larger
            ones in a worker thread, so a 100,000-row request does not stall the health checks.
            A one-row prediction is shorter than a thread hand-off, hence not zero.
        max_shadows_in_flight: mirrored requests a deployment's shadows may have waiting;
            beyond them a request is not mirrored (and is counted), so a slow shadow never
            grows memory or slows the primary.
    """

    max_body_bytes: int = 32 * MIB
    inline_rows: int = 256
    max_shadows_in_flight: int = 64


@dataclass(frozen=True)
class PredictionEvent:
    """One answered prediction request, as a prediction log records it."""

    request_id: str
    handle: ModelHandle
    endpoint: str
    batch: Batch
    predictions: np.ndarray
    latency_s: float
    timestamp: float
    """Seconds since the epoch when the request arrived."""
    shadow: bool = False
    """A shadow's answer to a mirrored request: logged and counted, never sent to the client."""


class PredictionListener(Protocol):
    """Called on the event loop after each successful prediction, before the answer is sent.

    It must return at once (put the event on a bounded queue and write elsewhere): its time is
    added to every request's latency.
    """

    def __call__(self, event: PredictionEvent) -> None: ...


@runtime_checkable
class CountingListener(PredictionListener, Protocol):
    """A listener that counts what it wrote and lost (the prediction log): its counters are
    shown on ``/metrics``."""

    def stats(self) -> Sequence[PredictionLogStats]: ...


def create_app(
    model: ServedModel,
    *,
    name: str,
    version: str | None = None,
    options: ServeOptions | None = None,
    listener: PredictionListener | None = None,
) -> Starlette:
    """The app serving one loaded model.

    Args:
        model: a ``LoadedModel`` (its digests already verified by ``load_model``).
        name: the name clients address on the v2 endpoints and the ``model`` metric label.
        version: the registry version, or None for a model served from a directory.
        options: body limit and threading; the defaults suit most models.
        listener: receives every successful prediction (the prediction log's hook).
    """
    metrics = ServingMetrics()
    handle = ModelHandle.build(model, name=name, version=version, metrics=metrics)
    return build_app(StaticRouter(handle), metrics, options=options, listener=listener)


def build_app(
    router: ModelRouter,
    metrics: ServingMetrics,
    *,
    options: ServeOptions | None = None,
    listener: PredictionListener | None = None,
    lifespan: Lifespan | None = None,
) -> Starlette:
    """The app over any router (a deployment's split, canary or shadow router).

    ``app.state.router`` and ``app.state.metrics`` give the router and metrics back to whoever
    built the app, e.g. to swap versions while it serves; ``app.state.mirror`` the shadow
    mirror (``await app.state.mirror.drain()`` waits for mirrored requests). ``lifespan`` runs
    around the server's life (a deployment's sync thread).
    """
    endpoints = _Endpoints(router, metrics, options or ServeOptions(), listener)
    if isinstance(listener, CountingListener):
        metrics.watch_prediction_log(listener.stats)
    routes = [
        Route("/invocations", endpoints.invocations, methods=["POST"]),
        Route("/v2/models/{name}/infer", endpoints.infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", endpoints.infer, methods=["POST"]),
        Route("/v2/models/{name}", endpoints.model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}", endpoints.model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/ready", endpoints.model_ready, methods=["GET"]),
        Route("/v2/health/live", endpoints.live, methods=["GET"]),
        Route("/v2/health/ready", endpoints.ready, methods=["GET"]),
        Route("/v2", endpoints.server_metadata, methods=["GET"]),
        Route("/metrics", endpoints.prometheus, methods=["GET"]),
        Route("/ping", endpoints.ping, methods=["GET"]),
        Route("/health", endpoints.ping, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.router = router
    app.state.metrics = metrics
    app.state.mirror = endpoints.mirror
    return app


class _Endpoints:
    def __init__(
        self,
        router: ModelRouter,
        metrics: ServingMetrics,
        options: ServeOptions,
        listener: PredictionListener | None,
    ) -> None:
        self.router = router
        self.metrics = metrics
        self.options = options
        self.listener = listener
        self.mirror = ShadowMirror(metrics, self._notify, options.max_shadows_in_flight)

    # ---- scoring ---------------------------------------------------------------------------

    async def invocations(self, request: Request) -> Response:
        media = request.headers.get("content-type", "application/json")

        def parse(handle: ModelHandle, body: bytes) -> tuple[Batch, Any]:
            if media.startswith("text/csv"):
                return parse_csv(body, handle.plan), None
            if media.startswith("application/json") or "json" in media.split(";")[0]:
                return parse_invocations(body, handle.plan), None
            raise UnsupportedMediaType(
                f"Content-Type {media!r} is not accepted; send application/json or text/csv",
                details={"content_type": media},
            )

        def answer(handle: ModelHandle, predictions: np.ndarray, _: Any) -> Any:
            return {"predictions": to_json_list(predictions)}

        return await self._scored(
            request, "invocations", self.router.route(request), parse, answer
        )

    async def infer(self, request: Request) -> Response:
        handle = self._v2_handle(request)

        def parse(handle: ModelHandle, body: bytes) -> tuple[Batch, Any]:
            return parse_v2(body, handle.plan)

        def answer(handle: ModelHandle, predictions: np.ndarray, v2_id: Any) -> Any:
            reply: dict[str, Any] = {"model_name": handle.name, "model_version": handle.version}
            if v2_id is not None:
                reply["id"] = v2_id
            reply["outputs"] = [
                {
                    "name": "predict",
                    "shape": list(predictions.shape),
                    "datatype": v2_datatype(predictions.dtype),
                    "data": to_json_list(predictions.reshape(-1)),
                }
            ]
            return reply

        if isinstance(handle, ModelcycleError):
            error = handle

            def refuse(handle: ModelHandle, body: bytes) -> tuple[Batch, Any]:
                raise error

            # Counted against the served model: a client calling the wrong name is its traffic.
            return await self._scored(request, "infer", self.router.route(request), refuse, answer)
        return await self._scored(request, "infer", handle, parse, answer)

    async def _scored(
        self,
        request: Request,
        endpoint: str,
        handle: ModelHandle,
        parse: Parse,
        answer: Callable[[ModelHandle, np.ndarray, Any], Any],
    ) -> Response:
        """Read, score and answer one request, recording its metrics and its event, then
        mirror it to the handle's shadows without waiting for them."""
        started = time.perf_counter()
        rid = request_id(request)
        try:
            body = await _read_body(request, self.options.max_body_bytes)
            batch, extra = parse(handle, body)
            predictions = await self._predict(handle, batch)
            response = json_response(answer(handle, predictions, extra), rid)
        except ModelcycleError as error:
            handle.record(endpoint, error.http_status, time.perf_counter() - started, error.code)
            return error_response(error, rid)
        latency = time.perf_counter() - started
        handle.record(endpoint, 200, latency)
        handle.metrics.predictions(predictions, classification=handle.classification)
        self._notify(rid, handle, endpoint, batch, predictions, latency, shadow=False)
        if handle.shadows:
            self.mirror.send(handle.shadows, parse, body, rid, endpoint)
        return response

    def _notify(
        self,
        rid: str,
        handle: ModelHandle,
        endpoint: str,
        batch: Batch,
        predictions: np.ndarray,
        latency: float,
        *,
        shadow: bool,
    ) -> None:
        if self.listener is None:
            return
        event = PredictionEvent(
            request_id=rid,
            handle=handle,
            endpoint=endpoint,
            batch=batch,
            predictions=predictions,
            latency_s=latency,
            timestamp=time.time() - latency,
            shadow=shadow,
        )
        try:
            self.listener(event)
        except Exception:
            # The answer is right and goes out; the listener's failure is its own to count.
            _log.exception("the prediction listener failed on request %s", rid)

    async def _predict(self, handle: ModelHandle, batch: Batch) -> np.ndarray:
        if batch.rows <= self.options.inline_rows:
            return handle.predict(batch)
        return await anyio.to_thread.run_sync(handle.predict, batch)

    def _v2_handle(self, request: Request) -> ModelHandle | ModelcycleError:
        """The handle a v2 path names, or the NotFound to answer with."""
        name = request.path_params["name"]
        if name != self.router.name:
            return NotFound(
                f"model {name!r} is not served here; this server serves {self.router.name!r}",
                details={"model": name, "served": self.router.name},
            )
        version = request.path_params.get("version")
        if version is None:
            return self.router.route(request)
        for handle in self.router.handles():
            if handle.version == version:
                return handle
        served = [h.version for h in self.router.handles()]
        return NotFound(
            f"model {name!r} has no served version {version!r}; served: {served}",
            details={"model": name, "version": version, "served": served},
        )

    # ---- metadata and health ---------------------------------------------------------------

    async def model_metadata(self, request: Request) -> Response:
        rid = request_id(request)
        found = self._v2_handle(request)
        if isinstance(found, ModelcycleError):
            return error_response(found, rid)
        signature = found.model.signature
        outputs = list(getattr(signature, "outputs", None) or ())
        return json_response(
            {
                "name": found.name,
                "versions": [h.version for h in self.router.handles()],
                "platform": f"modelcycle_{found.model.flavor}",
                "inputs": [
                    {"name": c.name, "datatype": v2_datatype(c.dtype), "shape": [-1]}
                    for c in found.plan.columns
                ],
                "outputs": [
                    {"name": str(o.name), "datatype": v2_datatype(o.dtype), "shape": [-1]}
                    for o in outputs
                ]
                or [{"name": "predict", "datatype": _output_datatype(found), "shape": [-1]}],
            },
            rid,
        )

    async def model_ready(self, request: Request) -> Response:
        rid = request_id(request)
        found = self._v2_handle(request)
        if isinstance(found, ModelcycleError):
            return error_response(found, rid)
        return json_response({"name": found.name, "ready": True}, rid)

    async def live(self, request: Request) -> Response:
        return json_response({"live": True}, request_id(request))

    async def ready(self, request: Request) -> Response:
        # The model is loaded and verified before the app exists, so a running app is ready.
        return json_response({"ready": bool(self.router.handles())}, request_id(request))

    async def server_metadata(self, request: Request) -> Response:
        from modelcycle import __version__

        return json_response(
            {"name": "modelcycle", "version": __version__, "extensions": []}, request_id(request)
        )

    async def prometheus(self, request: Request) -> Response:
        return Response(
            self.metrics.render(),
            media_type=CONTENT_TYPE,
            headers={REQUEST_ID_HEADER: request_id(request)},
        )

    async def ping(self, request: Request) -> Response:
        return Response(
            "\n", media_type="text/plain", headers={REQUEST_ID_HEADER: request_id(request)}
        )


def _output_datatype(handle: ModelHandle) -> str:
    """A classifier's labels' datatype, else a regressor's float."""
    classes = getattr(handle.model, "classes", None) if handle.classification else None
    return v2_datatype(np.asarray(classes).dtype) if classes else "FP64"


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the body has at least {size:,} bytes; this server accepts up to {limit:,} "
        "(modelcycle serve --max-body-mb)",
        details={"bytes": size, "limit": limit},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods, in the one error shape."""
    assert isinstance(exc, HTTPException)
    rid = request_id(request)
    if exc.status_code == 404:
        error: ModelcycleError = NotFound(
            f"no endpoint {request.url.path!r}", details={"path": request.url.path}
        )
    else:
        error = InvalidInput(
            f"{request.method} {request.url.path}: {exc.detail}",
            details={"path": request.url.path, "method": request.method},
        )
    response = json_response(error.to_dict(), rid, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    error = ModelcycleError(f"internal error: {type(exc).__name__}: {exc}")
    return error_response(error, request_id(request))
