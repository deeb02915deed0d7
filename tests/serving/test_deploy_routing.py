"""A served deployment in-process: the split holds its share over 10,000 requests, sticky keys
stay put, shadows never touch the answer, alias moves and rollbacks are picked up without a
restart and without failing a request in flight."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelcycle.config import resolve_uri
from modelcycle.registry.service import RegistryService
from modelcycle.serving._deploy_app import create_deployment_app
from modelcycle.serving.app import PredictionEvent
from modelcycle.serving.deployments import DeploymentService
from modelcycle.store import Store, open_store
from tests.serving.conftest import Saved
from tests.serving.conftest import prometheus_sample as sample
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
    register_versions(store, classifier, count=5)
    yield store
    store.close()


@pytest.fixture
def service(home_store: Store) -> DeploymentService:
    return service_for(home_store, Clock())


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://serve")


async def _versions_served(
    http: httpx.AsyncClient, n: int, headers: dict[str, str] | None = None
) -> Counter[float]:
    seen: Counter[float] = Counter()
    for start in range(0, n, 200):
        batch = min(200, n - start)
        answers = await asyncio.gather(
            *(http.post("/invocations", json=BODY, headers=headers) for _ in range(batch))
        )
        for answer in answers:
            assert answer.status_code == 200, answer.text
            seen[answer.json()["predictions"][0]] += 1
    return seen


async def _post(app: Any, body: bytes) -> tuple[int, bytes]:
    """One POST /invocations straight through the ASGI interface: a tenth of an httpx
    round trip, so 10,000 requests take a second."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/invocations", "raw_path": b"/invocations",
        "query_string": b"", "root_path": "", "server": ("serve", 80), "client": ("t", 1),
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_split_is_within_three_points_over_10000_requests(
    service: DeploymentService, classifier: Saved
) -> None:
    service.create("churn-prod", "models:/churn@champion", actor=ACTOR)
    service.split("churn-prod", "models:/churn/4", 10, actor=ACTOR)
    app = create_deployment_app(service, "churn-prod", loader=stub_loader(classifier))
    body = json.dumps(BODY).encode()
    seen: Counter[float] = Counter()
    for _ in range(50):
        for status, answer in await asyncio.gather(*(_post(app, body) for _ in range(200))):
            assert status == 200, answer
            seen[json.loads(answer)["predictions"][0]] += 1
    assert sum(seen.values()) == 10_000
    async with _client(app) as http:
        metrics = (await http.get("/metrics")).text
    assert set(seen) == {1.0, 4.0}
    assert abs(seen[4.0] / 10_000 - 0.10) <= 0.03
    assert sample(metrics, "modelcycle_serving_requests_total", version="4") == seen[4.0]
    app.state.sync.flush()
    status = service.status("churn-prod")
    assert {(t.version, t.role): t.requests for t in status.traffic} == {
        (1, "primary"): seen[1.0],
        (4, "split"): seen[4.0],
    }


async def test_sticky_key_always_meets_the_same_version(
    service: DeploymentService, classifier: Saved
) -> None:
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.split("d", "models:/churn/2", 30, sticky_header="X-User-Id", actor=ACTOR)
    app = create_deployment_app(service, "d", loader=stub_loader(classifier))
    async with _client(app) as http:
        per_user = {}
        for user in range(300):
            served = await _versions_served(http, 5, {"X-User-Id": f"user-{user}"})
            assert len(served) == 1, f"user-{user} met {served}"
            per_user[user] = next(iter(served))
    share = sum(1 for v in per_user.values() if v == 2.0) / len(per_user)
    assert 0.2 <= share <= 0.4
    # Growing the share keeps every user already on version 2 there.
    service.split("d", "models:/churn/2", 60, actor=ACTOR)
    assert app.state.sync.refresh()
    async with _client(app) as http:
        for user, version in per_user.items():
            if version == 2.0:
                served = await _versions_served(http, 1, {"X-User-Id": f"user-{user}"})
                assert set(served) == {2.0}


async def test_shadow_is_mirrored_logged_and_never_affects_the_answer(
    service: DeploymentService, classifier: Saved
) -> None:
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.shadow("d", "models:/churn/2", actor=ACTOR)  # raises on every request
    service.shadow("d", "models:/churn/3", actor=ACTOR)
    events: list[PredictionEvent] = []
    loader = stub_loader(classifier, failing={2})
    app = create_deployment_app(service, "d", loader=loader, listener=events.append)
    async with _client(app) as http:
        answers = await asyncio.gather(*(http.post("/invocations", json=BODY) for _ in range(40)))
        await app.state.mirror.drain()
        metrics = (await http.get("/metrics")).text
    assert [a.json() for a in answers] == [{"predictions": [1.0]}] * 40
    served = [e for e in events if not e.shadow]
    mirrored = [e for e in events if e.shadow]
    assert len(served) == 40 and {e.handle.version for e in served} == {"1"}
    assert len(mirrored) == 40 and {e.handle.version for e in mirrored} == {"3"}
    assert {e.request_id for e in mirrored} == {e.request_id for e in served}
    assert all(e.predictions.tolist() == [3.0] for e in mirrored)
    shadow_500 = sample(
        metrics, "modelcycle_serving_requests_total", version="2", endpoint="shadow", status="500"
    )
    assert shadow_500 == 40
    app.state.sync.flush()
    roles = {(t.version, t.role): (t.requests, t.errors) for t in service.status("d").traffic}
    assert roles == {(1, "primary"): (40, 0), (2, "shadow"): (40, 40), (3, "shadow"): (40, 0)}
    assert service.step_traffic("d", 3, "churn", 2).requests == 0  # shadows never gate


async def test_alias_move_is_served_without_restart(
    service: DeploymentService, home_store: Store, classifier: Saved
) -> None:
    service.create("d", "models:/churn@champion", actor=ACTOR)
    loader = stub_loader(classifier)
    app = create_deployment_app(service, "d", loader=loader)
    async with _client(app) as http:
        assert set(await _versions_served(http, 5)) == {1.0}
        assert not app.state.sync.refresh()  # nothing moved: nothing loaded again
        RegistryService(home_store).set_alias("churn", "champion", 3, actor=ACTOR)
        assert app.state.sync.refresh()
        assert set(await _versions_served(http, 5)) == {3.0}
    assert loader.loaded == [("churn", 1), ("churn", 3)]  # each version loaded once


async def test_rollback_and_promote_under_load_lose_no_request(
    service: DeploymentService, classifier: Saved
) -> None:
    """600 requests in flight while the routing changes six times: every one answered 200."""
    service.create("d", "models:/churn/1", actor=ACTOR)
    app = create_deployment_app(service, "d", loader=stub_loader(classifier))
    sync = app.state.sync
    changes = [
        lambda: service.split("d", "models:/churn/2", 50, actor=ACTOR),
        lambda: service.promote("d", actor=ACTOR),
        lambda: service.rollback("d", actor=ACTOR),
        lambda: service.shadow("d", "models:/churn/3", actor=ACTOR),
        lambda: service.rollback("d", actor=ACTOR),
        lambda: service.rollback("d", actor=ACTOR),
    ]

    async def change_routing() -> None:
        for change in changes:
            await asyncio.to_thread(change)
            assert await asyncio.to_thread(sync.refresh)
            await asyncio.sleep(0)

    async with _client(app) as http:
        load = [http.post("/invocations", json=BODY) for _ in range(600)]
        results = await asyncio.gather(change_routing(), *load)
        await app.state.mirror.drain()
    answers = results[1:]
    assert [a.status_code for a in answers] == [200] * 600
    assert {a.json()["predictions"][0] for a in answers} <= {1.0, 2.0}
    assert service.get("d").routing.primary == "models:/churn/1"
    assert sync.router.snapshot.revision == service.get("d").revision == 7
    sync.flush()
    total = sum(t.requests for t in service.status("d").traffic if t.role != "shadow")
    assert total == 600


async def test_a_version_that_cannot_load_keeps_the_old_routing(
    service: DeploymentService, classifier: Saved
) -> None:
    service.create("d", "models:/churn/1", actor=ACTOR)

    def loader(model: str, version: int) -> object:
        if version == 2:
            from modelcycle.errors import IntegrityError

            raise IntegrityError("model.skops changed")
        return stub_loader(classifier)(model, version)

    app = create_deployment_app(service, "d", loader=loader)
    service.split("d", "models:/churn/2", 50, actor=ACTOR)
    from modelcycle.errors import IntegrityError

    with pytest.raises(IntegrityError):
        app.state.sync.refresh()
    async with _client(app) as http:
        assert set(await _versions_served(http, 20)) == {1.0}


async def test_traffic_is_flushed_while_a_new_routing_cannot_load(
    service: DeploymentService, classifier: Saved, caplog: pytest.LogCaptureFixture
) -> None:
    """The sync thread keeps flushing the traffic the current routing serves (and judging its
    canary) while the routing in the store names a version this server cannot load, and says
    why once, not on every beat."""
    from modelcycle.errors import IntegrityError

    service.create("d", "models:/churn/1", actor=ACTOR)

    def loader(model: str, version: int) -> object:
        if version == 2:
            raise IntegrityError("model.skops changed")
        return stub_loader(classifier)(model, version)

    app = create_deployment_app(
        service, "d", loader=loader, poll_interval_s=0.05, flush_interval_s=0.1
    )
    service.split("d", "models:/churn/2", 50, actor=ACTOR)
    with caplog.at_level("WARNING", logger="modelcycle.serving"):
        async with app.router.lifespan_context(app):
            async with _client(app) as http:
                assert (await http.post("/invocations", json=BODY)).status_code == 200
                for _ in range(100):  # the thread flushes within its 0.1 s interval
                    if sum(t.requests for t in service.status("d").traffic):
                        break
                    await asyncio.sleep(0.05)
                flushed_while_running = sum(t.requests for t in service.status("d").traffic)
    assert flushed_while_running == 1
    refusals = [r for r in caplog.records if "keeps its routing" in r.getMessage()]
    assert len(refusals) == 1 and "model.skops changed" in refusals[0].getMessage()


async def test_lifespan_starts_and_stops_the_sync_thread(
    service: DeploymentService, classifier: Saved
) -> None:
    service.create("d", "models:/churn/1", actor=ACTOR)
    closed: list[bool] = []
    app = create_deployment_app(
        service, "d", loader=stub_loader(classifier), on_shutdown=lambda: closed.append(True)
    )
    async with app.router.lifespan_context(app):
        assert app.state.sync._thread is not None and app.state.sync._thread.is_alive()
        async with _client(app) as http:
            assert (await http.post("/invocations", json=BODY)).status_code == 200
    assert closed == [True]
    assert sum(t.requests for t in service.status("d").traffic) == 1  # flushed at stop


async def test_v2_endpoints_address_the_deployment(
    service: DeploymentService, classifier: Saved
) -> None:
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.split("d", "models:/churn/2", 50, actor=ACTOR)
    app = create_deployment_app(service, "d", loader=stub_loader(classifier))
    row = {"age": 40.0, "income": 3.1, "tenure": 2.0}
    body = {
        "inputs": [
            {"name": n, "shape": [1], "datatype": "FP64", "data": [v]} for n, v in row.items()
        ]
    }
    async with _client(app) as http:
        meta = (await http.get("/v2/models/d")).json()
        pinned = await http.post("/v2/models/d/versions/2/infer", json=body)
        wrong = await http.post("/v2/models/churn/infer", json=body)
    assert meta["versions"] == ["1", "2"]
    assert pinned.json()["model_version"] == "2" and pinned.json()["outputs"][0]["data"] == [2.0]
    assert wrong.status_code == 404
