"""``mc.monitoring``: the SDK names, and a prediction log on a remote (fsspec) artifact root."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pytest
from predlog_helpers import DAY0, MakeLogger, one_row

import modelcycle as mc
from modelcycle.config import config_context
from modelcycle.store import current_store


def test_sdk_names_are_lazy_and_exact() -> None:
    assert mc.monitoring.__all__ == sorted(mc.monitoring.__all__)
    for name in mc.monitoring.__all__:
        assert getattr(mc.monitoring, name) is not None
    with pytest.raises(AttributeError):
        mc.monitoring.not_a_thing  # noqa: B018


def test_log_label_and_read_through_the_sdk(mc_home: Path, make_logger: MakeLogger) -> None:
    logger = make_logger(current_store(), "churn", flush_interval_s=3600)
    for i in range(3):
        logger.log(f"r{i}", "churn", 2, one_row(i), [i % 2], 1.0, DAY0 + i)
    logger.close()

    assert mc.monitoring.log_labels(["r0", "r2"], [0, 1], deployment="churn") == 2
    frame = mc.monitoring.predictions("churn")
    stats = mc.monitoring.prediction_stats()

    assert frame["label"].tolist()[::2] == [0, 1] and frame["label"].isna().tolist()[1]
    assert stats[["deployment", "rows", "labelled_rows"]].values.tolist() == [["churn", 3, 2]]


def test_a_remote_artifact_root(tmp_path: Path, make_logger: MakeLogger) -> None:
    """Through fsspec: files land under the URL, are indexed, and read back."""
    root = f"memory://predlog-{uuid.uuid4().hex[:8]}/artifacts"
    with config_context(uri=str(tmp_path / "home"), artifacts=root):
        logger = make_logger(current_store(), "remote", flush_interval_s=3600)
        logger.log("r", "churn", 1, one_row(0), [1], 1.0, DAY0)
        logger.close()
        frame = mc.monitoring.predictions()

    assert frame["request_id"].tolist() == ["r"]
    fs = fsspec.filesystem("memory")
    files = fs.glob(
        f"{root.removeprefix('memory://')}/predictions/deployment=remote/day=*/*.parquet"
    )
    assert len(files) == 1 and "day=2026-05-01" in files[0]
