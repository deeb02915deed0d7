"""The canary controller: advances, promotes or rolls back a canary on its step's traffic.

Each serving process runs one inside its sync loop (``serving/_deploy_sync.py``), so a canary
moves while any replica serves and stops when none does. Replicas coordinate through the store
only: every decision is a compare-and-set on the routing revision it was judged under, so when
two replicas judge the same step at once, one writes the next revision and the other's write is
refused and dropped: a step is never taken twice.

A step's evidence is the canary version's traffic under the step's own revision (every request
is counted under the revision that routed it), summed over every replica's flushed counters.
The decision, at each tick:

=====================================================  ==========================================
the step has ``min_requests`` and a gate fails          roll back at once (recorded with numbers)
the interval has passed, enough requests, gates hold    the next step, or promotion after the last
otherwise                                               wait (too early, or too little traffic)
=====================================================  ==========================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from modelcycle.errors import AlreadyExists, NotFound
from modelcycle.serving._deploy_entities import CanaryProgress, StepTraffic
from modelcycle.serving._deploy_rows import to_time
from modelcycle.serving._deploy_spec import Canary, Routing

if TYPE_CHECKING:
    from modelcycle.serving.deployments import DeploymentService

__all__ = ["CanaryController", "CanaryDecision", "canary_progress", "failing_gates"]

CONTROLLER_ACTOR = "canary-controller"

_log = logging.getLogger("modelcycle.serving")


@dataclass(frozen=True)
class CanaryDecision:
    """What one tick did to a canary."""

    action: Literal["wait", "step", "promote", "rollback"]
    revision: int
    """The revision the decision was judged under (``action`` wrote ``revision + 1``)."""
    traffic: StepTraffic
    failing: tuple[str, ...] = ()


class CanaryController:
    """Judges the canary of one deployment; call :meth:`tick` every second or so.

    Args:
        service: the deployment service (its clock is the controller's clock).
        name: the deployment.
    """

    def __init__(self, service: DeploymentService, name: str) -> None:
        self._service = service
        self._name = name

    def tick(self) -> CanaryDecision | None:
        """Judge the current step once; None when there is no canary, or another replica
        changed the routing first."""
        deployment = self._service.get(self._name)
        canary = deployment.routing.canary
        if canary is None:
            return None
        try:
            model, version = self._service.resolve_targets(Routing(primary=canary.target))[
                canary.target
            ]
        except NotFound as gone:
            return self._decide(deployment.revision, "rollback", canary, StepTraffic(),
                                (f"the canary's target is gone: {gone.message}",))  # fmt: skip
        traffic = self._service.step_traffic(self._name, deployment.revision, model, version)
        failing = tuple(failing_gates(canary, traffic))
        if failing:
            return self._decide(deployment.revision, "rollback", canary, traffic, failing)
        due = canary.step_started_at + int(canary.interval_s * 1000)
        if self._service.now_ms() < due or traffic.requests < canary.min_requests:
            return CanaryDecision("wait", deployment.revision, traffic)
        last = canary.step == len(canary.steps) - 1
        return self._decide(deployment.revision, "promote" if last else "step", canary, traffic)

    def _decide(
        self,
        revision: int,
        action: Literal["step", "promote", "rollback"],
        canary: Canary,
        traffic: StepTraffic,
        failing: tuple[str, ...] = (),
    ) -> CanaryDecision | None:
        now = self._service.now_ms()

        def change(routing: Routing) -> Routing:
            if action == "rollback":
                return routing.model_copy(update={"canary": None})
            if action == "promote":
                return routing.model_copy(
                    update={"primary": canary.target, "canary": None,
                            "shadows": tuple(s for s in routing.shadows if s != canary.target)}
                )  # fmt: skip
            step = canary.model_copy(update={"step": canary.step + 1, "step_started_at": now})
            return routing.model_copy(update={"canary": step})

        details = {
            "target": canary.target,
            "step": canary.step + 1,
            "percent": canary.percent,
            "requests": traffic.requests,
            "errors": traffic.errors,
            "error_rate": traffic.error_rate,
            "p99_ms": traffic.p99_ms,
            "failing": list(failing),
        }
        try:
            self._service.apply(
                self._name, change, action=f"canary_{action}", actor=CONTROLLER_ACTOR,
                details=details, expected_revision=revision,
            )  # fmt: skip
        except AlreadyExists:
            return None  # another replica, or a person, changed the routing first
        log = _log.warning if action == "rollback" else _log.info
        log("deployment %s: canary %s at step %d: %s", self._name, action, canary.step + 1,
            "; ".join(failing) or f"{traffic.requests} requests, gates hold")  # fmt: skip
        return CanaryDecision(action, revision, traffic, failing)


def canary_progress(canary: Canary, traffic: StepTraffic) -> CanaryProgress:
    """The canary's step with the gates its traffic breaks now."""
    return CanaryProgress(
        target=canary.target,
        step=canary.step + 1,
        steps=canary.steps,
        percent=canary.percent,
        step_started_at=to_time(canary.step_started_at),
        step_ends_at=to_time(canary.step_started_at + int(canary.interval_s * 1000)),
        traffic=traffic,
        min_requests=canary.min_requests,
        max_error_rate=canary.max_error_rate,
        max_p99_ms=canary.max_p99_ms,
        failing=failing_gates(canary, traffic),
    )


def failing_gates(canary: Canary, traffic: StepTraffic) -> list[str]:
    """The gates ``traffic`` breaks, in words; none before it has ``min_requests`` requests
    (two errors in the first ten requests are noise, not a verdict)."""
    if traffic.requests < canary.min_requests:
        return []
    failing = []
    rate = traffic.error_rate or 0.0
    if canary.max_error_rate is not None and rate > canary.max_error_rate:
        failing.append(
            f"error rate {rate:.2%} > {canary.max_error_rate:.2%} "
            f"({traffic.errors} of {traffic.requests} requests)"
        )
    if (
        canary.max_p99_ms is not None
        and traffic.p99_ms is not None
        and traffic.p99_ms > canary.max_p99_ms
    ):
        failing.append(f"p99 {traffic.p99_ms:.1f} ms > {canary.max_p99_ms:g} ms")
    return failing
