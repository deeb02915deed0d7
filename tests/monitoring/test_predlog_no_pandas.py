"""The prediction log writes numpy and Arrow inputs without importing pandas.

pyarrow imports pandas (~43 MiB) on its first ``pa.array``; a server answering from numpy arrays
(``modelcycle serve --runtime onnx``) loads it for nothing else, so the log builds Arrow arrays
from numpy buffers. What it writes must be exactly what ``pa.array`` gave: each column is
compared here with ``pa.array`` of the values logged.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from predlog_helpers import DAY0, DAY_MS, MakeLogger

from modelcycle.config import resolve_uri
from modelcycle.monitoring._predlog_records import _from_numpy, _from_python
from modelcycle.store import Store

HERE = Path(__file__).resolve().parent


def _arrow_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """An Arrow table of float columns, built without ``pa.array`` (which imports pandas)."""
    arrays = [
        pa.Array.from_buffers(pa.float64(), len(v), [None, pa.py_buffer(np.asarray(v, "f8"))])
        for v in columns.values()
    ]
    return pa.Table.from_arrays(arrays, names=list(columns))


def served_requests() -> list[tuple[Any, ...]]:
    """``log`` arguments of the kinds of requests a server logs, all numpy or Arrow: class
    labels for the float array's column views, a regression with NaN, class probabilities,
    string labels (numpy and object arrays), an ``(n, 1)`` output, an Arrow table input."""
    grid = np.arange(12, dtype=np.float64).reshape(3, 4) / 4
    return [
        ("labels-0", "clf", 3, {f"f{i}": grid[:, i] for i in range(4)}, np.array([0, 1, 2]),
         1.5, DAY0),
        ("labels-1", "clf", 3, {f"f{i}": grid[:2, i] for i in range(4)}, np.array([2, 0]),
         2.5, DAY0 + 1),
        ("regression", "reg", "7",
         {"x": np.array([np.nan, 1.0]), "n": np.array([1, -2], np.int8),
          "flag": np.array([True, False])},
         np.array([np.nan, 0.5]), 0.25, DAY0 + 2),
        ("proba-0", "proba", 1, {"p": np.array([1.0, 2.0])},
         np.array([[0.2, 0.8], [0.6, 0.4]]), 3.0, DAY0 + 3),
        ("proba-1", "proba", 1, {"p": np.array([3.0])}, np.array([[0.1, 0.9]]), 3.0, DAY0 + 4),
        ("text-0", "txt", 1,
         {"t": np.array([4, 5], np.float32), "s": np.array(["x", "é"])},
         np.array(["yes", "café"]), 1.0, DAY0 + 5),
        ("text-1", "txt", 1,
         {"t": np.array([6], np.float32), "s": np.array(["naïve 🎉"], dtype=object)},
         np.array(["no"], dtype=object), 1.0, DAY0 + 6),
        ("column", "col", 2, {"u16": np.array([1, 65535], np.uint16)},
         np.array([[1.5], [2.5]]), 9.0, DAY0 + 7),
        ("arrow", "clf", 4, _arrow_table({"a": np.array([1.0]), "b": np.array([2.0])}),
         np.array([True]), 1.0, DAY0 + DAY_MS),
        ("multi", "clf", 4, {"g": np.array([1, 2])}, np.array([[1, 0, 3], [0, 1, 2]]),
         1.0, DAY0 + DAY_MS + 1),
    ]  # fmt: skip


PREDICTION_TYPES = {
    "labels": pa.int64(),
    "regression": pa.float64(),
    "proba": pa.list_(pa.float64(), 2),
    "text": pa.string(),
    "column": pa.float64(),
    "arrow": pa.bool_(),
    "multi": pa.list_(pa.int64(), 3),
}

SCRIPT = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
from test_predlog_no_pandas import served_requests
from modelcycle.config import resolve_uri
from modelcycle.monitoring import PredictionLogger
from modelcycle.store import open_store

logger = PredictionLogger(
    open_store(resolve_uri(sys.argv[1])), deployment="churn", flush_interval_s=3600
)
for request in served_requests():
    assert logger.log(*request)
assert logger.flush(60)
logger.close()
stats = logger.stats()
assert (stats.written_rows, stats.failed_rows) == (stats.accepted_rows, 0), stats
assert "pandas" not in sys.modules, "the prediction log imported pandas"
"""


def _expected_prediction(outputs: np.ndarray) -> pa.Array:
    """What the log wrote before it avoided pandas: ``pa.array`` of the outputs, a fixed-size
    list of ``pa.array`` of them for several values per row."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return pa.FixedSizeListArray.from_arrays(pa.array(outputs.reshape(-1)), outputs.shape[1])
    flat = outputs.reshape(-1)
    return pa.array(flat.tolist() if flat.dtype.kind == "O" else flat)


def _assert_same(actual: pa.Array, expected: pa.Array, what: str) -> None:
    assert actual.type == expected.type, what
    assert actual.null_count == expected.null_count, what
    np.testing.assert_equal(actual.to_pylist(), expected.to_pylist(), err_msg=what)


@pytest.mark.slow
def test_numpy_and_arrow_requests_are_written_without_pandas(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-c", SCRIPT, str(home)], check=True, timeout=120)

    root = Path(resolve_uri(str(home)).artifact_root or "")
    tables = [pq.read_table(p) for p in sorted(root.rglob("*.parquet"))]
    seen: set[str] = set()
    for table in tables:
        assert table.schema.metadata is None  # no pandas metadata, as before
        assert table.column_names[:7] == [
            "request_id", "row", "time", "deployment", "model_name", "model_version",
            "latency_ms",
        ]  # fmt: skip
        assert table.column_names[-1] == "prediction"
        assert [str(t) for t in table.schema.types[:7]] == [
            "string", "int64", "timestamp[ms, tz=UTC]", "string", "string", "string", "double",
        ]  # fmt: skip
        ids = table.column("request_id").to_pylist()
        for request_id, model, version, inputs, outputs, latency, time_ms in served_requests():
            if request_id not in ids:
                continue
            seen.add(request_id)
            start, rows = ids.index(request_id), ids.count(request_id)
            part = table.slice(start, rows)
            assert part.column("request_id").to_pylist() == [request_id] * rows
            assert part.column("row").to_pylist() == list(range(rows))
            assert part.column("time").cast(pa.int64()).to_pylist() == [time_ms] * rows
            assert part.column("deployment").to_pylist() == ["churn"] * rows
            assert part.column("model_name").to_pylist() == [model] * rows
            assert part.column("model_version").to_pylist() == [str(version)] * rows
            assert part.column("latency_ms").to_pylist() == [latency] * rows
            columns = (
                inputs
                if isinstance(inputs, dict)
                else {
                    n: c.to_numpy()
                    for n, c in zip(inputs.column_names, inputs.columns, strict=True)
                }
            )
            for name, values in columns.items():
                expected = pa.array(values.tolist() if values.dtype.kind == "O" else values)
                _assert_same(part.column(name).combine_chunks(), expected, f"{request_id}.{name}")
            prediction = part.column("prediction").combine_chunks()
            assert prediction.type == PREDICTION_TYPES[request_id.split("-")[0]]
            _assert_same(prediction, _expected_prediction(outputs), f"{request_id} prediction")
    assert seen == {r[0] for r in served_requests()}
    nan_rows = [t for t in tables if "regression" in t.column("request_id").to_pylist()]
    assert nan_rows[0].column("x").null_count == 0  # NaN is a value, as pa.array keeps it


def test_dataframe_inputs_still_go_through_pandas(store: Store, make_logger: MakeLogger) -> None:
    import pandas as pd

    from modelcycle.monitoring.service import MonitoringService

    logger = make_logger(store, flush_interval_s=3600)
    frames = [
        pd.DataFrame({"age": [40, 50], "city": ["x", "y"], "vip": [True, False]}),
        pd.DataFrame({"age": [60], "city": ["z"], "vip": [True]}),
    ]
    for i, frame in enumerate(frames):
        assert logger.log(f"f{i}", "m", 1, frame, np.array(["a", "b"][: len(frame)]), 1.0, DAY0)
    assert logger.flush()
    assert logger.stats().failed_rows == 0

    (path,) = (Path(store.location.artifact_root or "") / "predictions").rglob("*.parquet")
    table = pq.read_table(path)
    expected = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    for name in ("age", "city", "vip"):
        assert table.column(name).equals(expected.column(name)), name
    assert table.column("prediction").to_pylist() == ["a", "b", "a"]
    read = MonitoringService(store).predictions().sort_values(["request_id", "row"])
    assert read["age"].tolist() == [40, 50, 60] and read["city"].tolist() == ["x", "y", "z"]


STRIDED = np.arange(12, dtype=np.float64).reshape(4, 3)[:, 1]
READ_ONLY = np.frombuffer(np.arange(3, dtype=np.int32).tobytes(), dtype=np.int32)


@pytest.mark.parametrize(
    "values",
    [
        *(
            np.array([0, 1, -1 if np.dtype(d).kind == "i" else 7], d)
            for d in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
        ),
        *(np.array([1.5, np.nan, -np.inf], d) for d in ("float16", "float32", "float64")),
        np.array([True, False, True, True, False, False, True, False, True]),
        np.array(["a", "", "ünï", "🎉"]),
        np.array(["a\x00b", "c"]),  # pa.array ends a numpy string at a NUL: left to it
        np.array(["\ud800"]),  # not UTF-8: pa.array raises, as it did
        np.array([1, 2], dtype=">i4"),  # byte-swapped: pa.array refuses, as it did
        np.ma.masked_array([1.0, 2.0], mask=[True, False]),  # masked: nulls, by pa.array
        np.array(["2026-05-01"], dtype="datetime64[D]"),
        STRIDED,
        READ_ONLY,
    ],
    ids=lambda v: f"{v.dtype}{'-masked' if np.ma.isMaskedArray(v) else ''}",
)
def test_numpy_columns_convert_as_pa_array_does(values: np.ndarray) -> None:
    try:
        expected = pa.array(values)
    except Exception as exc:
        with pytest.raises(type(exc)):
            _from_numpy(values)
        return
    _assert_same(_from_numpy(values), expected, str(values.dtype))


@pytest.mark.parametrize(
    "values",
    [["a", "b", ""], ["naïve", np.str_("x")], [1, 2.5], [None, "a"], ["a\x00b"], [1, "x"]],
)
def test_python_values_convert_as_pa_array_does(values: list[Any]) -> None:
    try:
        expected = pa.array(values)
    except Exception as exc:
        with pytest.raises(type(exc)):
            _from_python(values)
        return
    _assert_same(_from_python(values), expected, repr(values))
