"""The prediction log behind the real inference app: rows logged equal rows served.

The listener here is the wiring the serving app uses (``docs/monitoring.md``): the request's
float array becomes a dict of column views, a frame goes as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from predlog_helpers import MakeLogger

from modelcycle.monitoring.prediction_log import PredictionLogger
from modelcycle.monitoring.service import MonitoringService
from modelcycle.registry.model_format import load_model, save_model
from modelcycle.serving.app import PredictionEvent, create_app
from modelcycle.store import Store

FEATURES = ["age", "income"]


def _listener(logger: PredictionLogger) -> Callable[[PredictionEvent], None]:
    def log_prediction(event: PredictionEvent) -> None:
        batch, handle = event.batch, event.handle
        inputs = (
            batch.frame
            if batch.frame is not None
            else dict(zip(handle.plan.names, batch.array.T, strict=True))
        )
        logger.log(
            event.request_id, handle.name, handle.version or "-", inputs, event.predictions,
            latency_ms=event.latency_s * 1000, time_ms=int(event.timestamp * 1000),
        )  # fmt: skip

    return log_prediction


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_rows_logged_equal_rows_served(
    store: Store, make_logger: MakeLogger, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    train = pd.DataFrame({"age": rng.uniform(18, 80, 200), "income": rng.normal(3, 1, 200)})
    model = LogisticRegression().fit(train, train["income"] > 3)
    save_model(model, tmp_path / "m", input_example=train.head(3))
    logger = make_logger(store, "churn", flush_interval_s=3600)
    app = create_app(
        load_model(tmp_path / "m"), name="churn", version="7", listener=_listener(logger)
    )

    served: dict[str, int] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
        for i in range(40):
            rows = train.iloc[i : i + 1 + i % 4][FEATURES]
            split = rows.to_dict(orient="split", index=False)
            answer = await client.post("/invocations", json={"dataframe_split": split})
            assert answer.status_code == 200
            served[answer.headers["x-request-id"]] = len(rows)
        bad = {"dataframe_split": {"columns": ["age"], "data": [[1]]}}
        refused = await client.post("/invocations", json=bad)
        assert refused.status_code == 400  # refused requests are not predictions: not logged
    logger.close()

    frame = MonitoringService(store).predictions(with_labels=False)
    assert frame.groupby("request_id").size().to_dict() == served
    assert set(frame["model_version"]) == {"7"} and set(frame.columns) >= {"age", "income"}
    assert logger.stats().written_rows == sum(served.values())
