"""Labels that arrive later: attached to logged rows, corrected, scoped, validated."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from predlog_helpers import DAY0, MakeLogger, one_row
from sqlalchemy import func, select

from modelcycle.errors import InvalidInput
from modelcycle.monitoring.service import MonitoringService
from modelcycle.store import Store
from modelcycle.store.tables.predictions import prediction_labels


def _label_rows(store: Store) -> int:
    with store.read() as connection:
        return connection.execute(select(func.count()).select_from(prediction_labels)).scalar_one()


def _labels_by_key(frame: pd.DataFrame) -> dict[tuple[str, int], Any]:
    return {
        (rid, int(row)): (None if pd.isna(label) else label)
        for rid, row, label in frame[["request_id", "row", "label"]].itertuples(index=False)
    }


def test_labels_attach_and_a_correction_replaces(store: Store, make_logger: MakeLogger) -> None:
    logger = make_logger(store, flush_interval_s=3600)
    logger.log("one", "churn", 1, one_row(0), [1], 1.0, DAY0)
    logger.log("many", "churn", 1, {"age": [1.0, 2.0, 3.0]}, [0, 1, 0], 1.0, DAY0 + 1)
    logger.log("none", "churn", 1, one_row(1), [0], 1.0, DAY0 + 2)
    assert logger.flush()
    service = MonitoringService(store)

    assert service.log_labels(["one", ("many", 2), ("many", 0)], [1, 1, 0]) == 3
    assert service.log_labels(np.array(["one"]), np.array([0])) == 1  # corrected

    labels = _labels_by_key(service.predictions())
    assert labels == {
        ("one", 0): 0, ("many", 0): 0, ("many", 1): None, ("many", 2): 1, ("none", 0): None,
    }  # fmt: skip
    stats = service.prediction_stats()
    assert stats[["rows", "labelled_rows"]].values.tolist() == [[5, 3]]
    assert stats["labelled_fraction"].tolist() == [pytest.approx(0.6)]


def test_a_deployments_own_label_wins_over_one_for_any(
    store: Store, make_logger: MakeLogger
) -> None:
    for name in ("blue", "green"):
        logger = make_logger(store, name, flush_interval_s=3600)
        logger.log("same-id", "churn", 1, one_row(0), ["x"], 1.0, DAY0)
        assert logger.flush()
    service = MonitoringService(store)
    service.log_labels(["same-id"], ["cat"])
    service.log_labels(["same-id"], ["dog"], deployment="green")

    frame = service.predictions().set_index("deployment")

    assert frame.loc["blue", "label"] == "cat" and frame.loc["green", "label"] == "dog"


def test_many_labels_in_one_call(store: Store) -> None:
    """More labels than one database batch, a repeated key keeping its last label."""
    service = MonitoringService(store)
    ids = [f"r{i}" for i in range(25_000)] + ["r0"]
    values = np.arange(25_001) % 2
    values[-1] = 7

    assert service.log_labels(pd.Series(ids), values) == 25_000
    assert _label_rows(store) == 25_000
    found = service.predictions()  # nothing logged: labels alone make no prediction rows
    assert found.empty


@pytest.mark.parametrize(
    ("ids", "labels", "message"),
    [
        ([], [], "empty"),
        (["a", "b"], [1], "different lengths"),
        (["a", ""], [1, 2], r"ids\[1\]"),
        (["a", ("b", -1)], [1, 2], r"ids\[1\].*integer ≥ 0"),
        (["a", ("b", 1.5)], [1, 2], "integer"),
        ([1], [1], r"ids\[0\]"),
        (["a", "b"], [1, None], r"labels\[1\]"),
        (["a", "b"], [float("nan"), 1], r"labels\[0\]"),
        (["a"], [[1, 2]], r"labels\[0\]"),
        ("abc", [1, 2, 3], "sequence"),
        (["x" * 129], [1], "1 to 128"),
    ],
)
def test_bad_labels_are_refused_and_nothing_is_stored(
    store: Store, ids: Any, labels: Any, message: str
) -> None:
    service = MonitoringService(store)
    with pytest.raises(InvalidInput, match=message):
        service.log_labels(ids, labels)
    assert _label_rows(store) == 0


def test_a_bad_deployment_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="invalid deployment name"):
        MonitoringService(store).log_labels(["a"], [1], deployment="no/slash")
    assert _label_rows(store) == 0
