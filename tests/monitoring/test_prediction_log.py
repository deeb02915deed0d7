"""The prediction log: rows equal requests served, partitions, drops, failures, draining.

Every test runs on SQLite and PostgreSQL (the ``store`` fixture). The writer is held with a
:class:`Gate` where a test needs it stopped; nothing waits on a clock.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from predlog_helpers import DAY0, DAY_MS, Gate, MakeLogger, one_row
from sqlalchemy import func, select

from modelcycle.config import resolve_uri
from modelcycle.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable
from modelcycle.monitoring import _predlog_index
from modelcycle.monitoring.service import MonitoringService
from modelcycle.store import Store, open_store
from modelcycle.store.tables.predictions import prediction_files


def _indexed_files(store: Store) -> int:
    with store.read() as connection:
        return connection.execute(select(func.count()).select_from(prediction_files)).scalar_one()


def _parquet_files(store: Store) -> list[Path]:
    root = Path(store.location.artifact_root or "") / "predictions"
    return sorted(root.rglob("*.parquet")) if root.exists() else []


def test_rows_equal_requests_served(store: Store, make_logger: MakeLogger) -> None:
    """Every logged request is readable with exactly its rows, whatever its size and shape."""
    logger = make_logger(store, batch_rows=64, flush_interval_s=3600)
    served: dict[str, int] = {}
    for i in range(300):
        rows = 1 if i % 5 else 1 + i % 7  # mostly one-row requests, some batches
        inputs = {"age": np.arange(rows, dtype=np.float64) + i, "plan": np.full(rows, i % 3)}
        assert logger.log(f"req-{i}", "churn", 3, inputs, np.full(rows, i % 2), 0.5, DAY0 + i)
        served[f"req-{i}"] = rows

    assert logger.flush()
    frame = MonitoringService(store).predictions()

    assert Counter(frame["request_id"]) == Counter(served)
    assert len(frame) == sum(served.values())
    stats = logger.stats()
    assert stats.accepted_requests == 300
    assert stats.written_rows == stats.accepted_rows == len(frame)
    assert (stats.dropped_rows, stats.failed_rows, stats.queued_rows) == (0, 0, 0)
    assert stats.written_files == _indexed_files(store) == len(_parquet_files(store))
    multi = frame[frame["request_id"] == "req-5"]
    assert multi["row"].tolist() == list(range(6))
    assert multi["age"].tolist() == [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    first = frame.iloc[0]
    assert (first["model_name"], first["model_version"], first["latency_ms"]) == (
        "churn",
        "3",
        0.5,
    )
    assert first["time"] == pd.Timestamp(DAY0, unit="ms", tz="UTC")


def test_days_and_deployments_are_partitioned_and_filtered(
    store: Store, make_logger: MakeLogger
) -> None:
    loggers = {
        name: make_logger(store, name, flush_interval_s=3600) for name in ("churn", "fraud")
    }
    for day in range(3):
        for name, logger in loggers.items():
            for i in range(4):
                logger.log(
                    f"{name}-{day}-{i}", name, 1, one_row(i), [0], 1.0, DAY0 + day * DAY_MS + i
                )
    for logger in loggers.values():
        assert logger.flush()

    paths = {
        p.relative_to(Path(store.location.artifact_root or "")).parent.as_posix()
        for p in _parquet_files(store)
    }
    assert paths == {
        f"predictions/deployment={name}/day=2026-05-0{day}"
        for name in ("churn", "fraud")
        for day in (1, 2, 3)
    }
    service = MonitoringService(store)
    window = service.predictions("fraud", since="2026-05-02", until="2026-05-03T00:00:00Z")
    assert sorted(window["request_id"]) == [f"fraud-1-{i}" for i in range(4)]
    assert len(service.predictions()) == 24
    assert (
        len(service.predictions(since=DAY0 + DAY_MS + 2)) == 2 * 2 + 8
    )  # day 2 from its third row

    stats = service.prediction_stats(deployment="churn")
    assert stats["day"].tolist() == ["2026-05-01", "2026-05-02", "2026-05-03"]
    assert stats["rows"].tolist() == [4, 4, 4] and stats["files"].tolist() == [1, 1, 1]


def test_reading_opens_only_the_indexed_files_in_range(
    store: Store, make_logger: MakeLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = make_logger(store, flush_interval_s=3600)
    for day in range(3):
        logger.log(f"r{day}", "churn", 1, one_row(day), [0], 1.0, DAY0 + day * DAY_MS)
        assert logger.flush()
    stray = (
        Path(store.location.artifact_root or "") / "predictions/deployment=churn/day=2026-05-02"
    )
    (stray / "not-indexed.parquet").write_bytes(b"never read")
    service = MonitoringService(store)
    opened: list[str] = []
    read = service.files.read
    monkeypatch.setattr(
        service.files, "read", lambda path, *a: opened.append(path) or read(path, *a)
    )

    frame = service.predictions(since=DAY0 + DAY_MS, until=DAY0 + 2 * DAY_MS)

    assert frame["request_id"].tolist() == ["r1"]
    assert len(opened) == 1 and "day=2026-05-02" in opened[0]


def test_an_indexed_file_gone_or_corrupted_is_named(store: Store, make_logger: MakeLogger) -> None:
    logger = make_logger(store, flush_interval_s=3600)
    logger.log("r0", "churn", 1, one_row(0), [0], 1.0, DAY0)
    assert logger.flush()
    (written,) = _parquet_files(store)
    written.write_bytes(b"not parquet any more")

    with pytest.raises(IntegrityError, match=r"day=2026-05-01/part-.*not a readable Parquet"):
        MonitoringService(store).predictions("churn")
    written.unlink()
    with pytest.raises(NotFound, match="indexed but missing"):
        MonitoringService(store).predictions("churn")


def test_a_full_queue_refuses_and_counts_without_blocking(
    store: Store, make_logger: MakeLogger, gates: Any
) -> None:
    """With the writer held inside a write, log keeps returning at once: True while the queue
    has room, then False, and every refused row is counted."""
    logger = make_logger(store, max_queue_rows=10, batch_rows=1, flush_interval_s=3600)
    gate: Gate = gates(logger)
    assert logger.log("first", "churn", 1, one_row(0), [0], 1.0, DAY0)
    assert gate.entered.wait(30)  # the writer has taken "first" and is stuck writing it

    answers: list[bool] = []

    def serve() -> None:
        for i in range(12):
            answers.append(logger.log(f"r{i}", "churn", 1, one_row(i), [1], 1.0, DAY0 + 1))
        answers.append(logger.log("big", "churn", 1, {"age": [1.0, 2.0]}, [0, 1], 1.0, DAY0 + 2))

    server = threading.Thread(target=serve)
    server.start()
    server.join(30)
    assert not server.is_alive(), "log blocked while the writer was stuck"
    assert answers == [True] * 10 + [False] * 3
    stats = logger.stats()
    assert (stats.dropped_requests, stats.dropped_rows) == (3, 4)
    assert (stats.queued_rows, stats.in_flight_rows, stats.written_rows) == (10, 1, 0)

    gate.release.set()
    logger.close()
    stats = logger.stats()
    assert stats.written_rows == stats.accepted_rows == 11
    assert sorted(MonitoringService(store).predictions()["request_id"]) == sorted(
        ["first", *(f"r{i}" for i in range(10))]
    )


def test_close_drains_the_queue_and_later_logs_are_dropped(
    store: Store, make_logger: MakeLogger
) -> None:
    # Nothing would be written before an hour passes or 10,000 rows wait: only close writes.
    logger = make_logger(store, flush_interval_s=3600)
    for i in range(250):
        assert logger.log(f"r{i}", "churn", 1, one_row(i), [i % 2], 1.0, DAY0 + i)
    logger.close()

    assert logger.stats().written_rows == 250 and logger.stats().queued_rows == 0
    assert len(MonitoringService(store).predictions()) == 250
    assert logger.log("late", "churn", 1, one_row(0), [0], 1.0) is False
    assert logger.stats().dropped_rows == 1
    logger.close()  # a second close is harmless


def test_a_failed_write_is_retried_once(
    store: Store, make_logger: MakeLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = make_logger(store, flush_interval_s=3600)
    real = logger._files.write
    calls: list[str] = []

    def flaky(table: pa.Table, relative: str) -> None:
        calls.append(relative)
        if len(calls) == 1:
            raise OSError("disk full")
        real(table, relative)

    monkeypatch.setattr(logger._files, "write", flaky)
    for i in range(3):
        logger.log(f"r{i}", "churn", 1, one_row(i), [0], 1.0, DAY0)
    assert logger.flush()

    stats = logger.stats()
    assert (stats.written_rows, stats.failed_rows, stats.write_errors) == (3, 0, 1)
    assert stats.last_error == "OSError: disk full"
    assert len(MonitoringService(store).predictions()) == 3


def test_a_write_failing_twice_counts_its_rows_as_failed(
    store: Store, make_logger: MakeLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = make_logger(store, flush_interval_s=3600)

    def broken(table: pa.Table, relative: str) -> None:
        raise OSError("bucket gone")

    monkeypatch.setattr(logger._files, "write", broken)
    logger.log("a", "churn", 1, one_row(0), [0], 1.0, DAY0)
    logger.log("b", "churn", 1, {"age": [1.0, 2.0], "plan": [0, 1]}, [0, 1], 1.0, DAY0)
    assert logger.flush()

    stats = logger.stats()
    assert (stats.failed_rows, stats.written_rows, stats.write_errors) == (3, 0, 2)
    assert stats.accepted_rows == stats.failed_rows
    assert _indexed_files(store) == 0

    monkeypatch.undo()  # the writer carries on with the next batch
    logger.log("c", "churn", 1, one_row(0), [0], 1.0, DAY0)
    assert logger.flush()
    assert MonitoringService(store).predictions()["request_id"].tolist() == ["c"]


def test_an_index_failing_twice_removes_the_files_and_counts_the_rows(
    store: Store, make_logger: MakeLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = make_logger(store, flush_interval_s=3600)

    def unavailable(*args: Any) -> None:
        raise StoreUnavailable("database restarting")

    monkeypatch.setattr(_predlog_index, "insert_files", unavailable)
    for day in range(2):
        logger.log(f"r{day}", "churn", 1, one_row(day), [0], 1.0, DAY0 + day * DAY_MS)
    assert logger.flush()

    stats = logger.stats()
    assert (stats.failed_rows, stats.written_rows, stats.write_errors) == (2, 0, 2)
    assert _parquet_files(store) == []  # no orphan files left behind


def test_an_index_commit_whose_answer_was_lost_keeps_its_files(
    store: Store, make_logger: MakeLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database committed the index rows but the connection dropped before saying so:
    whether the retry succeeds (the insert skips indexed paths) or fails the same way, the
    files stay and their rows count as written, so the index never names a removed file."""
    logger = make_logger(store, flush_interval_s=3600)
    real = _predlog_index.insert_files

    def commit_then_lose_the_answer(*args: Any) -> None:
        real(*args)
        raise StoreUnavailable("server closed the connection unexpectedly")

    monkeypatch.setattr(_predlog_index, "insert_files", commit_then_lose_the_answer)
    logger.log("a", "churn", 1, one_row(0), [0], 1.0, DAY0)
    assert logger.flush()
    monkeypatch.setattr(_predlog_index, "insert_files", real)
    logger.log("b", "churn", 1, one_row(1), [1], 1.0, DAY0)
    assert logger.flush()

    stats = logger.stats()
    assert (stats.written_rows, stats.failed_rows, stats.write_errors) == (2, 0, 2)
    frame = MonitoringService(store).predictions()
    assert sorted(frame["request_id"]) == ["a", "b"]
    assert len(_parquet_files(store)) == 2


def test_an_index_that_cannot_be_asked_leaves_the_files_as_orphans(
    store: Store, make_logger: MakeLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = make_logger(store, flush_interval_s=3600)

    def unavailable(*args: Any) -> Any:
        raise StoreUnavailable("database down")

    monkeypatch.setattr(_predlog_index, "insert_files", unavailable)
    monkeypatch.setattr(_predlog_index, "indexed_paths", unavailable)
    logger.log("a", "churn", 1, one_row(0), [0], 1.0, DAY0)
    assert logger.flush()

    stats = logger.stats()
    assert (stats.written_rows, stats.failed_rows, stats.write_errors) == (0, 1, 3)
    assert len(_parquet_files(store)) == 1  # unindexed, so never read; not deleted blindly
    assert MonitoringService(store).predictions().empty


def test_values_arrow_cannot_type_fail_alone(store: Store, make_logger: MakeLogger) -> None:
    logger = make_logger(store, flush_interval_s=3600)
    logger.log("good", "churn", 1, one_row(0), [0], 1.0, DAY0)
    logger.log("bad", "churn", 1, {"mixed": [1, "x"]}, [0, 1], 1.0, DAY0)
    assert logger.flush()

    stats = logger.stats()
    assert (stats.written_rows, stats.failed_rows) == (1, 2)
    assert stats.last_error is not None
    assert MonitoringService(store).predictions()["request_id"].tolist() == ["good"]


def test_inputs_of_different_shapes_and_outputs(store: Store, make_logger: MakeLogger) -> None:
    """Frames, Arrow tables and dicts with different columns share a day; a column named like a
    log column is kept as input.<name>; class probabilities are stored as lists."""
    logger = make_logger(store, flush_interval_s=3600)
    logger.log("d", "m", 1, {"age": [30.0], "plan": ["a"]}, np.array([1]), 1.0, DAY0)
    logger.log("f", "m", 2, pd.DataFrame({"age": [40, 50], "city": ["x", "y"]}), [0, 1], 1.0, DAY0)
    logger.log("t", "m", 2, pa.table({"age": [60.0], "time": ["noon"]}), ["yes"], 1.0, DAY0)
    logger.log("p", "m", 3, {"age": [70.0]}, np.array([[0.2, 0.8]]), 1.0, DAY0)
    assert logger.flush()

    frame = MonitoringService(store).predictions().set_index(["request_id", "row"])

    assert frame.loc[("f", 1), "city"] == "y" and frame.loc[("f", 1), "age"] == 50
    assert pd.isna(frame.loc[("d", 0), "city"]) and frame.loc[("d", 0), "plan"] == "a"
    assert frame.loc[("t", 0), "input.time"] == "noon"
    assert frame.loc[("t", 0), "prediction"] == "yes"
    assert list(frame.loc[("p", 0), "prediction"]) == [0.2, 0.8]
    assert logger.stats().failed_rows == 0


def test_limit_keeps_the_most_recent_rows(store: Store, make_logger: MakeLogger) -> None:
    logger = make_logger(store, batch_rows=5, flush_interval_s=3600)
    for i in range(40):
        logger.log(f"r{i:02d}", "churn", 1, one_row(i), [0], 1.0, DAY0 + i * 1000)
    assert logger.flush()

    service = MonitoringService(store)
    opened: list[str] = []
    read = service.files.read
    service.files.read = lambda path, *a: opened.append(path) or read(path, *a)  # type: ignore[method-assign]
    frame = service.predictions(limit=7, with_labels=False)

    assert frame["request_id"].tolist() == [f"r{i}" for i in range(33, 40)]
    assert "label" not in frame.columns
    assert len(opened) == 2  # the 10 newest rows hold the 7 asked for: older files stay shut


def test_concurrent_loggers_lose_nothing(store: Store, make_logger: MakeLogger) -> None:
    logger = make_logger(store, batch_rows=50, flush_interval_s=3600)

    def serve(thread: int) -> None:
        for i in range(200):
            assert logger.log(f"t{thread}-{i}", "churn", 1, one_row(i), [0], 1.0, DAY0 + i)

    threads = [threading.Thread(target=serve, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logger.close()

    assert logger.stats().written_rows == 1200
    assert MonitoringService(store).predictions()["request_id"].nunique() == 1200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "m", 1, {"a": [1]}, [0], 1.0), "request_id"),
        (("r", "", 1, {"a": [1]}, [0], 1.0), "model_name"),
        (("r", "m", 1, {"a": [1, 2]}, [0], 1.0), "2 input rows but 1 predictions"),
        (("r", "m", 1, {"a": [1], "b": [1, 2]}, [0], 1.0), "different lengths"),
        (("r", "m", 1, {}, [0], 1.0), "no columns"),
        (("r", "m", 1, {"a": []}, [], 1.0), "no input rows"),
        (("r", "m", 1, [[1.0]], [0], 1.0), "not list"),
        (("r", "m", 1, {"a": 1.0}, [0], 1.0), "one per row"),
        (("r", "m", 1, {"a": [1]}, 0, 1.0), "outputs must be"),
    ],
)
def test_bad_log_arguments_are_refused(
    store: Store, make_logger: MakeLogger, args: tuple[Any, ...], message: str
) -> None:
    logger = make_logger(store)
    with pytest.raises(InvalidInput, match=message):
        logger.log(*args)
    assert logger.stats().accepted_rows == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"deployment": "../etc"}, "invalid deployment name"),
        ({"deployment": "ok", "max_queue_rows": 0}, "max_queue_rows"),
        ({"deployment": "ok", "batch_rows": 1.5}, "batch_rows"),
        ({"deployment": "ok", "flush_interval_s": 0}, "flush_interval_s"),
    ],
)
def test_bad_logger_options_are_refused(
    store: Store, options: dict[str, Any], message: str
) -> None:
    from modelcycle.monitoring import PredictionLogger

    with pytest.raises(InvalidInput, match=message):
        PredictionLogger(store, **options)


def test_bad_read_arguments_are_refused(store: Store) -> None:
    service = MonitoringService(store)
    with pytest.raises(InvalidInput, match="ISO 8601"):
        service.predictions(since="yesterday")
    with pytest.raises(InvalidInput, match="before until"):
        service.predictions(since="2026-05-02", until="2026-05-01")
    with pytest.raises(InvalidInput, match="limit"):
        service.predictions(limit=0)
    with pytest.raises(InvalidInput, match="deployment"):
        service.prediction_stats(deployment="a b")
    assert service.predictions().empty and service.prediction_stats().empty


def test_stats_render_for_prometheus(store: Store, make_logger: MakeLogger) -> None:
    from modelcycle.serving.metrics import ServingMetrics

    logger = make_logger(store, "churn")
    logger.log("r", "churn", 1, one_row(0), [0], 1.0)
    assert logger.flush()
    metrics = ServingMetrics()
    metrics.watch_prediction_log(lambda: [logger.stats()])
    text = metrics.render().decode()
    assert 'modelcycle_prediction_log_written_rows_total{deployment="churn"} 1.0\n' in text
    assert "# TYPE modelcycle_prediction_log_dropped_rows_total counter" in text
    assert 'modelcycle_prediction_log_queued_rows{deployment="churn"} 0.0' in text


@pytest.mark.slow
def test_interpreter_exit_drains_a_logger_left_open(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    script = (
        "from modelcycle.config import resolve_uri\n"
        "from modelcycle.store import open_store\n"
        "from modelcycle.monitoring import PredictionLogger\n"
        f"logger = PredictionLogger(open_store(resolve_uri({home!r})), deployment='x',"
        " flush_interval_s=3600)\n"
        "for i in range(10):\n"
        "    assert logger.log(f'r{i}', 'm', 1, {'a': [1.0]}, [0], 1.0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)

    store = open_store(resolve_uri(home))
    try:
        assert len(MonitoringService(store).predictions()) == 10
    finally:
        store.close()
