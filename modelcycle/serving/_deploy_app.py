"""The inference app serving a deployment: the app of ``serving/app.py`` over its live router.

``modelcycle serve --deployment NAME`` calls :func:`create_deployment_app` in each worker
process. Every version the routing needs is loaded (and its digests verified) before the app is
returned, so a broken deployment stops start-up instead of failing requests; the sync thread
(:class:`~modelcycle.serving._deploy_sync.DeploymentSync`) runs for the server's life, started
and stopped by the app's lifespan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from modelcycle.serving._deploy_sync import DeploymentSync, Loader
from modelcycle.serving.app import PredictionListener, ServeOptions, build_app
from modelcycle.serving.deployments import DeploymentService
from modelcycle.serving.metrics import ServingMetrics

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["create_deployment_app", "registry_loader"]


def registry_loader(*, trusted: bool = False, runtime: str = "native") -> Loader:
    """Load ``models:/NAME/VERSION`` from the platform in force, every digest verified, with
    ``runtime`` (``onnx``: the version's ONNX twin; a version without one fails to load)."""

    def load(model: str, version: int) -> Any:
        from modelcycle import registry

        return registry.load(f"models:/{model}/{version}", trusted=trusted, runtime=runtime)

    return load


def create_deployment_app(
    service: DeploymentService,
    name: str,
    *,
    loader: Loader | None = None,
    trusted: bool = False,
    runtime: str = "native",
    options: ServeOptions | None = None,
    listener: PredictionListener | None = None,
    on_shutdown: Callable[[], None] | None = None,
    poll_interval_s: float = 1.0,
    flush_interval_s: float = 5.0,
) -> Starlette:
    """The app serving deployment ``name``, its versions already loaded.

    ``app.state.sync`` is its :class:`DeploymentSync`; the lifespan starts its thread and, at
    shutdown, stops it (flushing the last traffic) and calls ``on_shutdown`` (closing the
    prediction log). An app driven without a lifespan (tests) syncs when its caller calls
    ``app.state.sync.run_once()``.

    ``runtime="onnx"`` serves every version from its ONNX twin. A version routed later that
    has none is not swapped in: the sync logs why and the current routing goes on serving.

    Raises:
        NotFound: no such deployment, or a target that no longer resolves.
        IntegrityError: a version's files do not match their digests.
        InvalidInput: ``runtime="onnx"`` and a routed version has no ONNX twin.
    """
    metrics = ServingMetrics()
    sync = DeploymentSync(
        service,
        name,
        loader=loader or registry_loader(trusted=trusted, runtime=runtime),
        metrics=metrics,
        poll_interval_s=poll_interval_s,
        flush_interval_s=flush_interval_s,
    )
    router = sync.router

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sync.start()
        try:
            yield
        finally:
            await app.state.mirror.drain()
            sync.stop()
            if on_shutdown is not None:
                on_shutdown()

    app = build_app(router, metrics, options=options, listener=listener, lifespan=lifespan)
    app.state.sync = sync
    return app
