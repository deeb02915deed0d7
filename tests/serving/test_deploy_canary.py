"""The canary controller in a served deployment, on a fake clock: advances step by step on
healthy traffic and promotes, rolls back by itself when a gate fails, and two replicas judging
the same step take it once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelcycle.config import resolve_uri
from modelcycle.serving._canary import CanaryController
from modelcycle.serving._deploy_app import create_deployment_app
from modelcycle.serving.deployments import DeploymentService
from modelcycle.store import Store, open_store
from tests.serving.conftest import Saved
from tests.serving.deploy_helpers import (
    ACTOR,
    BODY,
    Clock,
    register_versions,
    service_for,
    stub_loader,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def home_store(tmp_path: Path, classifier: Saved) -> Iterator[Store]:
    store = open_store(resolve_uri(str(tmp_path / "home")))
    register_versions(store, classifier, count=3)
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(home_store: Store, clock: Clock) -> DeploymentService:
    return service_for(home_store, clock)


async def _send(app: Any, n: int) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
        answers = await asyncio.gather(*(http.post("/invocations", json=BODY) for _ in range(n)))
    return [a.status_code for a in answers]


async def test_healthy_canary_advances_each_step_then_promotes(
    service: DeploymentService, clock: Clock, classifier: Saved
) -> None:
    service.create("d", "models:/churn@champion", actor=ACTOR)
    service.canary(
        "d", "models:/churn/2", steps="20,50,100", interval_s=300, max_error_rate="1%",
        max_p99_ms=5000, min_requests=20, actor=ACTOR,
    )  # fmt: skip
    app = create_deployment_app(service, "d", loader=stub_loader(classifier))
    sync = app.state.sync
    assert sync.router.snapshot.routing.canary.percent == 20

    # Traffic, but the interval has not passed: wait.
    assert set(await _send(app, 200)) == {200}
    decision = sync.run_once()
    assert decision is not None and decision.action == "wait"
    assert decision.traffic.requests >= 20

    for percent, revision in ((50, 3), (100, 4)):
        clock.advance(301)
        decision = sync.run_once()
        assert decision is not None and decision.action == "step"
        assert sync.router.snapshot.revision == revision
        assert sync.router.snapshot.routing.canary.percent == percent
        # A new step judges only its own traffic: none yet, so it waits however long it ran.
        clock.advance(301)
        assert sync.run_once().action == "wait"
        assert set(await _send(app, 200)) == {200}

    clock.advance(301)
    decision = sync.run_once()
    assert decision is not None and decision.action == "promote"
    routing = service.get("d").routing
    assert routing.primary == "models:/churn/2" and routing.canary is None
    assert sync.router.snapshot.revision == 5
    assert set(await _send(app, 50)) == {200}
    assert sync.run_once() is None  # no canary left to judge
    actions = [h.action for h in service.history("d")]
    assert actions == [
        "canary_promote", "canary_step", "canary_step", "canary", "create"
    ]  # fmt: skip
    assert all(h.actor == "canary-controller" for h in service.history("d")[:3])


async def test_canary_whose_gate_fails_rolls_back_by_itself(
    service: DeploymentService, clock: Clock, classifier: Saved
) -> None:
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.canary(
        "d", "models:/churn/2", steps="50,100", interval_s=60, max_error_rate="1%",
        min_requests=20, actor=ACTOR,
    )  # fmt: skip
    app = create_deployment_app(service, "d", loader=stub_loader(classifier, failing={2}))
    sync = app.state.sync
    statuses = await _send(app, 200)
    assert 500 in statuses and 200 in statuses  # the canary fails its half

    # No clock movement needed: a failing gate acts at once.
    decision = sync.run_once()
    assert decision is not None and decision.action == "rollback"
    assert decision.failing and "error rate" in decision.failing[0]
    deployment = service.get("d")
    assert deployment.routing.canary is None and deployment.routing.primary == "models:/churn/1"
    assert sync.router.snapshot.revision == deployment.revision == 3

    record = service.history("d")[0]
    assert record.action == "canary_rollback" and record.actor == "canary-controller"
    failed = statuses.count(500)
    assert record.details["errors"] == failed
    assert record.details["requests"] == failed  # every canary request failed
    assert record.details["error_rate"] == 1.0 and record.details["step"] == 1

    assert set(await _send(app, 100)) == {200}  # all traffic back on the primary


async def test_slow_canary_fails_its_latency_gate(
    service: DeploymentService, classifier: Saved
) -> None:
    from modelcycle.serving._deploy_latency import TrafficCounter
    from modelcycle.serving._deploy_traffic import TrafficRow

    service.create("d", "models:/churn/1", actor=ACTOR)
    service.canary("d", "models:/churn/2", steps=[10, 100], interval_s=60, max_p99_ms=50,
                   min_requests=10, actor=ACTOR)  # fmt: skip
    counter = TrafficCounter(revision=2, model="churn", version=2, role="canary")
    for _ in range(10):
        counter.record(200, 0.2)
    drained = counter.drain()
    assert drained is not None
    service.record_traffic("d", "r1", [TrafficRow(2, "churn", 2, "canary", drained)])
    decision = CanaryController(service, "d").tick()
    assert decision is not None and decision.action == "rollback"
    assert "p99" in decision.failing[0]


async def test_too_little_traffic_waits_past_the_interval(
    service: DeploymentService, clock: Clock, classifier: Saved
) -> None:
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.canary("d", "models:/churn/2", steps="50,100", interval_s=60, min_requests=1000,
                   max_error_rate=0.01, actor=ACTOR)  # fmt: skip
    app = create_deployment_app(service, "d", loader=stub_loader(classifier))
    await _send(app, 50)
    clock.advance(3600)
    decision = app.state.sync.run_once()
    assert decision is not None and decision.action == "wait"
    status = service.status("d")
    assert status.canary is not None and status.canary.step == 1
    assert 0 < status.canary.traffic.requests < 1000 and status.canary.failing == []


def test_two_replicas_never_take_a_step_twice(
    service: DeploymentService, clock: Clock, classifier: Saved
) -> None:
    from modelcycle.serving._deploy_latency import TrafficCounter
    from modelcycle.serving._deploy_traffic import TrafficRow

    service.create("d", "models:/churn/1", actor=ACTOR)
    service.canary("d", "models:/churn/2", steps="10,50,100", interval_s=60, min_requests=5,
                   actor=ACTOR)  # fmt: skip
    counter = TrafficCounter(revision=2, model="churn", version=2, role="canary")
    for _ in range(10):
        counter.record(200, 0.001)
    drained = counter.drain()
    assert drained is not None
    service.record_traffic("d", "r1", [TrafficRow(2, "churn", 2, "canary", drained)])
    clock.advance(61)
    controllers = [CanaryController(service, "d") for _ in range(6)]
    barrier = threading.Barrier(len(controllers))
    decisions: list[object] = []

    def judge(controller: CanaryController) -> None:
        barrier.wait()
        decisions.append(controller.tick())

    threads = [threading.Thread(target=judge, args=(c,)) for c in controllers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deployment = service.get("d")
    # Each judged revision 2; whoever wrote first took the step, the rest were refused (None)
    # or, arriving after it, waited on the new step's empty traffic.
    taken = [d for d in decisions if d is not None and d.action == "step"]  # type: ignore[attr-defined]
    assert len(taken) == 1
    assert deployment.revision == 3 and deployment.routing.canary.step == 1
    assert [h.action for h in service.history("d")][:2] == ["canary_step", "canary"]
