"""Keeping one serving process in step with its deployment in the store.

:class:`DeploymentSync` owns the process's :class:`DeploymentRouter`. From a background thread
(or :meth:`DeploymentSync.run_once`, which tests call with a fake clock):

1. **refresh**, every ``poll_interval_s`` (1 s): read the routing revision (a primary-key read)
   and resolve the alias or stage targets again; when either moved, load the versions the new
   routing needs (each verified once and cached by version) and swap the router's snapshot.
   Loading happens here, off the event loop, while the old snapshot keeps serving; a version
   that fails to load leaves the old routing in place and is tried again at the next poll.
2. **flush**, every ``flush_interval_s`` (5 s): drain every traffic counter (the current
   snapshot's and those of snapshots swapped out recently, whose requests may still be in
   flight) into ``deployment_traffic`` in one transaction. Rows that fail to write are kept
   and retried, up to a bound.
3. **judge** the canary after each flush (:class:`CanaryController`), then refresh at once if
   it changed the routing.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable

from modelcycle.errors import ModelcycleError
from modelcycle.serving._canary import CanaryController, CanaryDecision
from modelcycle.serving._deploy_traffic import TrafficRow
from modelcycle.serving._routing import DeploymentRouter, RoutingSnapshot, build_snapshot
from modelcycle.serving.deployments import DeploymentService
from modelcycle.serving.handle import ModelHandle, ServedModel
from modelcycle.serving.metrics import ServingMetrics

__all__ = ["DeploymentSync", "ModelCache"]

RETIRED_KEEP_S = 60.0
"""How long counters of a swapped-out snapshot are still drained: requests routed just before
a swap finish and count themselves under the revision that routed them."""
MAX_PENDING_ROWS = 10_000
PRUNE_EVERY_S = 600.0
TRAFFIC_RETENTION_S = 7 * 86400.0

Loader = Callable[[str, int], ServedModel]
"""``(model name, version)`` → the loaded model, its digests verified."""

_log = logging.getLogger("modelcycle.serving")


class ModelCache:
    """Loaded versions by ``(model, version)``, the least recently used dropped past
    ``capacity``; a rollback to a version still cached swaps in without loading anything."""

    def __init__(self, loader: Loader, metrics: ServingMetrics, capacity: int = 8) -> None:
        self._loader = loader
        self._metrics = metrics
        self._capacity = capacity
        self._handles: collections.OrderedDict[tuple[str, int], ModelHandle] = (
            collections.OrderedDict()
        )

    def handle(self, model: str, version: int) -> ModelHandle:
        key = (model, version)
        found = self._handles.get(key)
        if found is None:
            loaded = self._loader(model, version)
            found = ModelHandle.build(loaded, name=model, version=str(version),
                                      metrics=self._metrics)  # fmt: skip
            self._handles[key] = found
            while len(self._handles) > self._capacity:
                self._handles.popitem(last=False)
        self._handles.move_to_end(key)
        return found


class DeploymentSync:
    """Routing, traffic and canary of one deployment in one serving process.

    Args:
        service: the deployment service (its clock times the canary and the traffic rows).
        name: the deployment.
        loader: loads a version; ``registry.load`` of ``models:/NAME/VERSION`` by default.
        metrics: the app's Prometheus metrics.
        replica: this process's name in the traffic rows (host-pid-random by default).
        judge_canary: run the canary controller here (every replica does by default; the
            store keeps them from acting twice).
    """

    def __init__(
        self,
        service: DeploymentService,
        name: str,
        *,
        loader: Loader,
        metrics: ServingMetrics,
        replica: str | None = None,
        poll_interval_s: float = 1.0,
        flush_interval_s: float = 5.0,
        judge_canary: bool = True,
    ) -> None:
        self.service = service
        self.name = name
        self.replica = replica or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.poll_interval_s = poll_interval_s
        self.flush_interval_s = flush_interval_s
        self._models = ModelCache(loader, metrics)
        self._canary = CanaryController(service, name) if judge_canary else None
        self._router: DeploymentRouter | None = None
        self._retired: collections.deque[tuple[float, RoutingSnapshot]] = collections.deque()
        self._pending: list[TrafficRow] = []
        self._lock = threading.Lock()  # one refresh or flush at a time (thread and callers)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    # -- the router -----------------------------------------------------------------------------

    @property
    def router(self) -> DeploymentRouter:
        """The process's router, loaded on first use (raises what loading raises)."""
        if self._router is None:
            with self._lock:
                if self._router is None:
                    self._router = DeploymentRouter(self.name, self._load())
        return self._router

    def refresh(self) -> bool:
        """Swap in the store's routing if its revision or an alias moved; True if swapped."""
        router = self.router
        with self._lock:
            current = router.snapshot
            revision = self.service.revision(self.name)
            if revision == current.revision:
                pinned = self.service.resolve_targets(current.routing)
                if pinned == current.pinned:
                    return False
            snapshot = self._load()
            retired = router.swap(snapshot)
            self._retired.append((time.monotonic(), retired))
        _log.info(
            "deployment %s: serving revision %d (%s)", self.name, snapshot.revision,
            ", ".join(f"{u} → v{v}" for u, (_, v) in snapshot.pinned.items()),
        )  # fmt: skip
        return True

    def _load(self) -> RoutingSnapshot:
        deployment = self.service.get(self.name)
        pinned = self.service.resolve_targets(deployment.routing)
        return build_snapshot(
            self.name, deployment.revision, deployment.routing, pinned, self._models.handle
        )

    # -- traffic and canary -------------------------------------------------------------------

    def flush(self) -> int:
        """Write every counter's traffic since the last flush; returns the rows written."""
        router = self.router
        with self._lock:
            now = time.monotonic()
            while self._retired and now - self._retired[0][0] > RETIRED_KEEP_S:
                self._retired.popleft()
            snapshots = [router.snapshot, *(s for _, s in self._retired)]
            for snapshot in snapshots:
                for counter in snapshot.counters:
                    drained = counter.drain()
                    if drained is not None:
                        self._pending.append(
                            TrafficRow(counter.revision, counter.model, counter.version,
                                       counter.role, drained)
                        )  # fmt: skip
            rows, self._pending = self._pending, []
            try:
                self.service.record_traffic(self.name, self.replica, rows)
            except ModelcycleError:
                self._pending = rows[-MAX_PENDING_ROWS:]
                raise
            return len(rows)

    def judge(self) -> CanaryDecision | None:
        """Run the canary controller once, and swap at once if it changed the routing."""
        if self._canary is None:
            return None
        decision = self._canary.tick()
        if decision is not None and decision.action != "wait":
            self.refresh()
        return decision

    def run_once(self) -> CanaryDecision | None:
        """Refresh, flush and judge the canary, as one beat of the background thread."""
        self.refresh()
        self.flush()
        return self.judge()

    # -- the thread -----------------------------------------------------------------------------

    def start(self) -> None:
        """Load the routing now (so a bad deployment stops start-up) and keep it in step from
        a daemon thread."""
        _ = self.router
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"modelcycle-deployment-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and flush what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._router is not None:
            try:
                self.flush()
            except ModelcycleError as error:
                _log.warning("deployment %s: last traffic flush failed: %s", self.name, error)

    def _loop(self) -> None:
        next_flush = time.monotonic() + self.flush_interval_s
        refusal: str | None = None
        while not self._stop.wait(self.poll_interval_s):
            # A routing that cannot be loaded (a changed file, a version without what this
            # server needs) leaves the current one serving: its traffic is still flushed and
            # its canary still judged below, and the cause is logged once, not on every beat.
            try:
                self.refresh()
                refusal = None
            except Exception as error:  # the next beat tries again
                if str(error) != refusal:
                    refusal = str(error)
                    _log.warning("deployment %s: keeps its routing: %s", self.name, error)
            if time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self.flush_interval_s
                try:
                    self.flush()
                    self.judge()
                    self._prune()
                except Exception as error:  # the next flush tries again; serving goes on
                    _log.warning("deployment %s: traffic flush failed: %s", self.name, error)

    def _prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            self.service.prune_traffic(self.name, older_than_s=TRAFFIC_RETENTION_S)
