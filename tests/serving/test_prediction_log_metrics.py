"""The prediction log's counters on the inference server's ``/metrics``: rows written, and rows
dropped once the log cannot take them, next to the requests served."""

from __future__ import annotations

import httpx
import pytest

from modelcycle.serving._deploy_log import DeploymentLog
from modelcycle.serving.app import create_app
from modelcycle.store import Store
from tests.serving.conftest import Saved, prometheus_sample

pytestmark = pytest.mark.anyio

ROW = {"age": 40.0, "income": 3.1, "tenure": 2.0}


def _sample(text: str, counter: str, deployment: str) -> float:
    return prometheus_sample(
        text, f"modelcycle_prediction_log_{counter}_total", deployment=deployment
    )


async def test_written_and_dropped_rows_are_on_metrics(store: Store, classifier: Saved) -> None:
    log = DeploymentLog(store, "churn")
    app = create_app(classifier.model, name="churn", listener=log)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
        for _ in range(3):
            answer = await http.post("/invocations", json={"dataframe_records": [ROW, ROW]})
            assert answer.status_code == 200
        assert log.primary.flush()
        written = (await http.get("/metrics")).text
        log.close()  # from now on the log refuses rows: they are dropped, and counted
        assert (await http.post("/invocations", json={"instances": [ROW]})).status_code == 200
        after = (await http.get("/metrics")).text
    assert _sample(written, "written_rows", "churn") == 6
    assert _sample(written, "accepted_requests", "churn") == 3
    assert _sample(written, "dropped_rows", "churn") == 0
    assert (
        prometheus_sample(written, "modelcycle_prediction_log_queued_rows", deployment="churn")
        == 0
    )
    assert _sample(after, "dropped_rows", "churn") == 1
    assert _sample(after, "dropped_requests", "churn") == 1
    assert "# TYPE modelcycle_prediction_log_failed_rows_total counter" in after
