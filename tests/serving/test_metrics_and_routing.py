"""Prometheus metrics per model version, the prediction listener, and swapping the served version
while requests are in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pytest

from modelcycle.serving.app import PredictionEvent, build_app, create_app
from modelcycle.serving.handle import ModelHandle, StaticRouter
from modelcycle.serving.metrics import ServingMetrics
from tests.serving.conftest import Saved, client_for
from tests.serving.conftest import prometheus_sample as _sample

pytestmark = pytest.mark.anyio

ROW = [40.0, 3.1, 2.0]


async def test_classifier_metrics_by_version_and_class(classifier: Saved) -> None:
    rows = classifier.rows.to_numpy().tolist()
    async with client_for(classifier, version="7") as http:
        for _ in range(3):
            assert (await http.post("/invocations", json={"instances": rows})).status_code == 200
        await http.post("/invocations", json={"instances": [[1.0, "x", 2.0]]})
        await http.post("/invocations", content=b"{")
        await http.post("/v2/models/nope/infer", json={"inputs": []})
        response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    labels = {"model": "churn", "version": "7"}
    assert _sample(text, "modelcycle_serving_requests_total", **labels, status="200") == 3
    assert _sample(text, "modelcycle_serving_requests_total", **labels, status="400") == 2
    assert _sample(text, "modelcycle_serving_errors_total", **labels, code="InvalidInput") == 2
    assert (
        _sample(
            text, "modelcycle_serving_errors_total", **labels, endpoint="infer", code="NotFound"
        )
        == 1
    )
    assert (
        _sample(
            text,
            "modelcycle_serving_request_duration_seconds_count",
            **labels,
            endpoint="invocations",
        )
        == 5
    )
    assert _sample(text, "modelcycle_serving_rows_total", **labels) == 3 * len(rows)
    predicted = classifier.model.predict(classifier.rows)
    for label in set(predicted.tolist()):
        expected = 3 * int((predicted == label).sum())
        assert (
            _sample(text, "modelcycle_serving_predictions_total", **labels, **{"class": label})
            == expected
        )


async def test_regressor_values_go_in_a_histogram(regressor: Saved) -> None:
    async with client_for(regressor, version="2") as http:
        body = {"inputs": regressor.rows.to_dict("list")}
        assert (await http.post("/invocations", json=body)).status_code == 200
        text = (await http.get("/metrics")).text
    predicted = regressor.model.predict(regressor.rows)
    labels = {"model": "churn", "version": "2"}
    count = _sample(text, "modelcycle_serving_prediction_value_bucket", **labels, le="+Inf")
    assert count == len(predicted)
    below_ten = _sample(text, "modelcycle_serving_prediction_value_bucket", **labels, le="10.0")
    assert below_ten == int((predicted <= 10.0).sum())


async def test_two_apps_keep_separate_metrics(classifier: Saved) -> None:
    async with client_for(classifier) as first, client_for(classifier) as second:
        await first.post("/invocations", json={"instances": [ROW]})
        text = (await second.get("/metrics")).text
    assert "modelcycle_serving_requests_total{" not in text


async def test_listener_sees_each_prediction(classifier: Saved) -> None:
    events: list[PredictionEvent] = []
    app = create_app(classifier.model, name="churn", version="1", listener=events.append)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        ok = await c.post(
            "/invocations", json={"instances": [ROW, ROW]}, headers={"X-Request-Id": "r-9"}
        )
        await c.post("/invocations", json={"instances": [[1.0]]})  # refused: no event
    assert len(events) == 1
    (event,) = events
    assert event.request_id == "r-9" and event.endpoint == "invocations"
    assert event.handle.version == "1" and event.batch.rows == 2
    assert event.predictions.tolist() == ok.json()["predictions"]
    assert event.latency_s > 0 and event.timestamp > 0


class _Gate:
    """A model whose predictions wait on an event, to hold requests in flight."""

    def __init__(self, saved: Saved, answer: float) -> None:
        self.signature = saved.model.signature
        self.has_proba = False
        self.flavor = "test"
        self.answer = answer

    def predict(self, data: Any) -> np.ndarray:
        raise AssertionError("the numeric path must be used")

    def predict_array(self, array: np.ndarray) -> np.ndarray:
        return np.full(len(array), self.answer)


async def test_swap_mid_flight_fails_no_request(regressor: Saved) -> None:
    """Requests already routed finish on the old version; later ones go to the new one."""
    metrics = ServingMetrics()
    old = ModelHandle.build(_Gate(regressor, 1.0), name="m", version="1", metrics=metrics)
    new = ModelHandle.build(_Gate(regressor, 2.0), name="m", version="2", metrics=metrics)
    router = StaticRouter(old)
    app = build_app(router, metrics)
    release = asyncio.Event()

    async def slow_body():
        await release.wait()
        yield b'{"instances": [[1.0, 2.0, 3.0]]}'

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as c:
        in_flight = [
            asyncio.create_task(c.post("/invocations", content=slow_body())) for _ in range(20)
        ]
        await asyncio.sleep(0.05)  # every request has been routed and waits for its body
        assert router.swap(new) is old
        release.set()
        answers = await asyncio.gather(*in_flight)
        after = await c.post("/invocations", json={"instances": [[1.0, 2.0, 3.0]]})
        meta = await c.get("/v2/models/m")
    assert [a.status_code for a in answers] == [200] * 20
    assert {a.json()["predictions"][0] for a in answers} == {1.0}
    assert after.json()["predictions"] == [2.0]
    assert meta.json()["versions"] == ["2"]


async def test_large_batches_predict_off_the_event_loop(classifier: Saved) -> None:
    rows = np.tile(np.array([ROW]), (50, 1)).tolist()
    async with client_for(classifier, inline_rows=10) as http:
        response = await http.post("/invocations", json={"instances": rows})
    assert response.status_code == 200
    expected = classifier.model.predict(np.array(rows)).tolist()
    assert response.json()["predictions"] == expected


async def test_labels_of_a_model_without_proba_count_as_classes(regressor: Saved) -> None:
    """A classifier without predict_proba (RidgeClassifier, SVC) still answers and is counted."""

    class Labels(_Gate):
        def predict_array(self, array: np.ndarray) -> np.ndarray:
            return np.array(["yes"] * len(array))

    app = create_app(Labels(regressor, 0.0), name="m", version="1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        response = await c.post("/invocations", json={"instances": [ROW, ROW]})
        text = (await c.get("/metrics")).text
    assert response.json() == {"predictions": ["yes", "yes"]}
    assert _sample(text, "modelcycle_serving_predictions_total", **{"class": "yes"}) == 2


async def test_a_failing_listener_does_not_fail_the_request(classifier: Saved) -> None:
    def broken(event: PredictionEvent) -> None:
        raise RuntimeError("disk full")

    app = create_app(classifier.model, name="churn", listener=broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        response = await c.post("/invocations", json={"instances": [ROW]})
    assert response.status_code == 200
