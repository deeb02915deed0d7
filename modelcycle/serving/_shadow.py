"""Mirroring requests to a deployment's shadow versions, off the request path.

A request answered by a handle with shadows is handed here after its answer is built: one
background task per request scores the same body with each shadow in a worker thread of the
mirror's own (small) pool, so a slow or failing shadow takes neither event-loop time nor the
threads large primary batches use. The shadow's answer is discarded; its latency, status and
predictions are counted under its own version (Prometheus endpoint label ``shadow``, the
deployment's traffic role ``shadow``) and given to the prediction listener marked ``shadow``.

At most ``limit`` mirrored requests wait at once; past that a request is not mirrored and
``modelcycle_serving_shadow_dropped_total`` counts it, so a shadow that cannot keep up costs
the primary nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import numpy as np

from modelcycle.errors import ModelcycleError
from modelcycle.serving._tabular import Batch
from modelcycle.serving.handle import ModelHandle

if TYPE_CHECKING:
    from modelcycle.serving.metrics import ServingMetrics

__all__ = ["SHADOW_ENDPOINT", "ShadowMirror"]

SHADOW_ENDPOINT = "shadow"
SHADOW_THREADS = 2
"""Worker threads scoring shadows: enough to keep up with one replica's traffic on a fast
model, few enough that a slow shadow never takes every core from the primary."""

_log = logging.getLogger("modelcycle.serving")

Notify = Callable[..., None]
Parse = Callable[[ModelHandle, bytes], tuple[Batch, Any]]
"""Turns a request body into a handle's batch (and the endpoint's extra, e.g. a v2 id)."""


class ShadowMirror:
    """Sends requests to shadow handles in the background and counts what it could not."""

    def __init__(self, metrics: ServingMetrics, notify: Notify, limit: int) -> None:
        self._metrics = metrics
        self._notify = notify
        self._limit = limit
        self._tasks: set[asyncio.Task[None]] = set()
        self._threads: anyio.CapacityLimiter | None = None

    def send(
        self,
        shadows: Sequence[ModelHandle],
        parse: Parse,
        body: bytes,
        rid: str,
        endpoint: str,
    ) -> None:
        """Mirror one request; returns at once."""
        if len(self._tasks) >= self._limit:
            for shadow in shadows:
                self._metrics.shadow_dropped(shadow.name, shadow.version)
            return
        task = asyncio.get_running_loop().create_task(
            self._score_all(shadows, parse, body, rid, endpoint)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for every mirrored request sent so far (tests; a graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _score_all(
        self,
        shadows: Sequence[ModelHandle],
        parse: Parse,
        body: bytes,
        rid: str,
        endpoint: str,
    ) -> None:
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(SHADOW_THREADS)
        for shadow in shadows:
            started = time.perf_counter()
            try:
                batch, predictions = await anyio.to_thread.run_sync(
                    _score, shadow, parse, body, limiter=self._threads
                )
            except ModelcycleError as error:
                seconds = time.perf_counter() - started
                shadow.record(SHADOW_ENDPOINT, error.http_status, seconds, error.code)
                continue
            except Exception:  # a bug must not end the mirror; the model's own errors are above
                _log.exception("mirroring request %s to %s failed", rid, shadow.version)
                continue
            seconds = time.perf_counter() - started
            shadow.record(SHADOW_ENDPOINT, 200, seconds)
            shadow.metrics.predictions(predictions, classification=shadow.classification)
            self._notify(rid, shadow, endpoint, batch, predictions, seconds, shadow=True)


def _score(
    handle: ModelHandle,
    parse: Parse,
    body: bytes,
) -> tuple[Batch, np.ndarray]:
    batch, _ = parse(handle, body)
    return batch, handle.predict(batch)
