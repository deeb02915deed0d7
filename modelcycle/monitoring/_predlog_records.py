"""The prediction log's records: checked cheaply on the request path, turned into Arrow in bulk.

``log`` keeps the caller's objects as they are (a dict of columns, a DataFrame, an Arrow table)
and only counts rows, so the request path pays no conversion. The writer thread then groups the
records by UTC day and by the shape of their inputs, and builds one Arrow table per group with
one call per column (``np.concatenate`` / one ``pa.array``), never one table per request.

Numpy columns (numbers, bools, strings) become Arrow arrays from their buffers, not through
``pa.array``: pyarrow's first ``pa.array`` imports pandas (~43 MiB) to ask whether its argument
is a Series, and a server answering from numpy arrays loads pandas for nothing else. Python lists,
object arrays of anything but strings, and DataFrames still go through ``pa.array``.

Inputs whose columns differ between requests are unified per day: the groups' tables are
concatenated with Arrow's permissive promotion (a column a request did not send is null, ``int``
meeting ``float`` becomes ``float``). When two groups cannot be unified (a column that is a number
in one request and a string in another), each keeps its own file.
"""

from __future__ import annotations

import itertools
import sys
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

MAX_REQUEST_ID_LENGTH = 128

RESERVED_COLUMNS = (
    "request_id",
    "row",
    "time",
    "deployment",
    "model_name",
    "model_version",
    "latency_ms",
    "prediction",
)
"""Columns the log adds to every row; an input column with one of these names is stored as
``input.<name>``."""


@dataclass(slots=True)
class Record:
    """One logged request, as the caller handed it over."""

    seq: int
    request_id: str
    model_name: str
    model_version: str
    inputs: Any
    outputs: Any
    latency_ms: float
    time_ms: int
    rows: int


@dataclass(frozen=True)
class Unit:
    """One file to write: a day's rows of some requests, with what the index records of it."""

    day: str
    table: pa.Table
    rows: int
    requests: int
    min_time: int
    max_time: int
    model_versions: list[dict[str, str]]


def input_rows(inputs: Any) -> int:
    """The number of rows in ``inputs``, checked without converting anything.

    Raises:
        InvalidInput: not a dict of equal-length columns, a DataFrame or an Arrow table.
    """
    if isinstance(inputs, dict):
        if not inputs:
            raise InvalidInput("the inputs have no columns")
        try:
            lengths = {len(column) for column in inputs.values()}
        except TypeError:
            raise InvalidInput(
                "each input column must be a list or an array of values, one per row"
            ) from None
        if len(lengths) != 1:
            sizes = {str(name): len(column) for name, column in inputs.items()}
            raise InvalidInput(
                f"the input columns have different lengths: {sizes}", details={"lengths": sizes}
            )
        return lengths.pop()
    # Checked against the modules only when loaded: a DataFrame cannot exist without pandas.
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(inputs, pandas.DataFrame):
        return len(inputs)
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and isinstance(inputs, pyarrow.Table):
        return int(inputs.num_rows)
    raise InvalidInput(
        "inputs must be a dict of columns, a pandas DataFrame or a pyarrow Table, "
        f"not {type(inputs).__name__}"
    )


def check_request(request_id: Any, model_name: Any, rows: int, outputs: Any) -> None:
    """The cheap checks ``log`` makes before queueing a request.

    Raises:
        InvalidInput: naming the argument that is wrong.
    """
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_REQUEST_ID_LENGTH:
        raise InvalidInput(
            f"request_id must be a string of 1 to {MAX_REQUEST_ID_LENGTH} characters, "
            f"got {request_id!r:.80}"
        )
    if not isinstance(model_name, str) or not model_name:
        raise InvalidInput(f"model_name must be a non-empty string, got {model_name!r:.80}")
    if rows == 0:
        raise InvalidInput(f"request {request_id!r} has no input rows")
    try:
        predictions = len(outputs)
    except TypeError:
        raise InvalidInput(
            f"outputs must be a list or an array, not {type(outputs).__name__}"
        ) from None
    if predictions != rows:
        raise InvalidInput(
            f"request {request_id!r} has {rows} input rows but {predictions} predictions",
            details={"rows": rows, "predictions": predictions},
        )


def day_of(time_ms: int) -> str:
    """The UTC day of a moment, as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d")


def build_units(
    records: Sequence[Record], deployment: str
) -> tuple[list[Unit], list[tuple[int, BaseException]]]:
    """Arrow tables to write, one or more per day, and the failures of groups that could not be
    converted (their row counts and errors), so the caller counts them as failed.
    """
    import pyarrow as pa

    groups: dict[tuple[str, Hashable], list[Record]] = defaultdict(list)
    days: dict[int, str] = {}  # most requests of a batch share a second, let alone a day
    for record in records:
        second = record.time_ms // 1000
        day = days.get(second)
        if day is None:
            day = days[second] = day_of(record.time_ms)
        groups[(day, _shape(record.inputs))].append(record)

    tables_by_day: dict[str, list[tuple[pa.Table, list[Record]]]] = defaultdict(list)
    failures: list[tuple[int, BaseException]] = []
    for (day, _), group in groups.items():
        try:
            tables_by_day[day].append((_group_table(group, deployment), group))
        except Exception as exc:  # a request whose values Arrow cannot type
            failures.append((sum(r.rows for r in group), exc))

    units: list[Unit] = []
    for day, parts in tables_by_day.items():
        try:
            merged = pa.concat_tables([t for t, _ in parts], promote_options="permissive")
            units.append(_unit(day, merged, [r for _, g in parts for r in g]))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            units.extend(_unit(day, table, group) for table, group in parts)
    return units, failures


def _shape(inputs: Any) -> Hashable:
    if isinstance(inputs, dict):
        return ("dict", tuple(inputs))
    if hasattr(inputs, "schema") and hasattr(inputs, "num_rows"):
        return ("arrow", inputs.schema)
    return ("frame", tuple(inputs.columns), tuple(str(d) for d in inputs.dtypes))


def _unit(day: str, table: pa.Table, group: Sequence[Record]) -> Unit:
    times = [r.time_ms for r in group]
    versions = sorted({(r.model_name, r.model_version) for r in group})
    return Unit(
        day=day,
        table=table,
        rows=table.num_rows,
        requests=len(group),
        min_time=min(times),
        max_time=max(times),
        model_versions=[{"name": n, "version": v} for n, v in versions],
    )


def _group_table(group: Sequence[Record], deployment: str) -> pa.Table:
    """One table for requests whose inputs share a shape: the log's columns, then the inputs,
    then the prediction."""
    import numpy as np
    import pyarrow as pa

    counts = np.fromiter((r.rows for r in group), dtype=np.int64, count=len(group))
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    owner = _from_numpy(np.repeat(np.arange(len(group), dtype=np.int64), counts))  # its request

    def per_request(values: list[Any], type_: pa.DataType, dtype: Any = None) -> pa.Array:
        """One value per request, repeated for its rows: strings, or numbers of numpy ``dtype``."""
        array = _strings(values) if dtype is None else _numeric(np.array(values, dtype=dtype))
        return (pa.array(values, type=type_) if array is None else array).take(owner)

    columns: dict[str, pa.Array] = {
        "request_id": per_request([r.request_id for r in group], pa.string()),
        "row": _from_numpy(np.arange(total, dtype=np.int32) - np.repeat(starts, counts)),
        "time": per_request([r.time_ms for r in group], pa.int64(), np.int64).cast(
            pa.timestamp("ms", tz="UTC")
        ),
        "deployment": per_request([deployment] * len(group), pa.string()),
        "model_name": per_request([r.model_name for r in group], pa.string()),
        "model_version": per_request([r.model_version for r in group], pa.string()),
        "latency_ms": per_request([r.latency_ms for r in group], pa.float64(), np.float64),
    }
    inputs = _inputs_table(group)
    for name, column in zip(inputs.column_names, inputs.columns, strict=True):
        columns[f"input.{name}" if name in RESERVED_COLUMNS else name] = column
    columns["prediction"] = _predictions([r.outputs for r in group])
    return pa.table(columns)


def _inputs_table(group: Sequence[Record]) -> pa.Table:
    import pyarrow as pa

    first = group[0].inputs
    if isinstance(first, dict):
        return pa.table({str(name): _column([r.inputs[name] for r in group]) for name in first})
    if isinstance(first, pa.Table):
        return pa.concat_tables([r.inputs for r in group]).combine_chunks()
    import pandas as pd

    frame = pd.concat([r.inputs for r in group], ignore_index=True) if len(group) > 1 else first
    return pa.Table.from_pandas(frame, preserve_index=False)


def _column(parts: list[Any]) -> pa.Array:
    """One column from the requests' pieces: concatenated by numpy when they are arrays."""
    import numpy as np

    if all(isinstance(p, np.ndarray) and p.dtype.kind != "O" for p in parts):
        return _from_numpy(np.concatenate(parts) if len(parts) > 1 else parts[0])
    values = itertools.chain.from_iterable(
        p.tolist() if isinstance(p, np.ndarray) else p for p in parts
    )
    return _from_python(list(values))


def _predictions(parts: list[Any]) -> pa.Array:
    """A scalar column for one value per row (``(n,)`` or ``(n, 1)``), a fixed-size list column
    for several (class probabilities), a list column when the widths differ."""
    import numpy as np
    import pyarrow as pa

    arrays = [np.asarray(p) for p in parts]
    if all(a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1) for a in arrays):
        flat = [a.reshape(-1) for a in arrays]
        if all(a.dtype.kind != "O" for a in flat):
            return _from_numpy(np.concatenate(flat))
        return _from_python(list(itertools.chain.from_iterable(a.tolist() for a in flat)))
    widths = {a.shape[1] for a in arrays if a.ndim == 2}
    if all(a.ndim == 2 for a in arrays) and len(widths) == 1 and arrays[0].dtype.kind in "fiub":
        stacked = np.concatenate(arrays)
        return pa.FixedSizeListArray.from_arrays(_from_numpy(stacked.reshape(-1)), widths.pop())
    return pa.array(list(itertools.chain.from_iterable(a.tolist() for a in arrays)))


# -- Arrow arrays without pyarrow's pandas shim ---------------------------------------------------
# Each returns exactly what ``pa.array`` returns for the same values (type, values, NaN kept as a
# value, not null), or None / a ``pa.array`` call where it cannot be sure of that.


def _from_numpy(values: np.ndarray) -> pa.Array:
    """``pa.array(values)``, from the buffers when ``values`` holds numbers, bools or strings."""
    import pyarrow as pa

    array = _numeric(values)
    if array is None and values.dtype.kind == "U" and values.ndim == 1:
        # pa.array ends a numpy string at its first NUL character: leave those to it.
        items = values.tolist()
        if not any("\x00" in item for item in items):
            array = _strings(items)
    return pa.array(values) if array is None else array


def _from_python(values: list[Any]) -> pa.Array:
    """``pa.array(values)``, from the buffers when every value is a string."""
    import pyarrow as pa

    array = _strings(values) if values and all(isinstance(v, str) for v in values) else None
    return pa.array(values) if array is None else array


def _numeric(values: np.ndarray) -> pa.Array | None:
    """A 1-D numpy array of numbers or bools as Arrow, sharing its memory where numpy's layout
    is Arrow's; None for anything else (a masked array, byte-swapped or ``longdouble`` values)."""
    import numpy as np
    import pyarrow as pa

    dtype = values.dtype
    if values.ndim != 1 or isinstance(values, np.ma.MaskedArray) or not dtype.isnative:
        return None
    if dtype.kind == "b":
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    if dtype.kind in "iuf" and dtype.itemsize <= 8:
        data = np.require(values, requirements="CA")  # contiguous and aligned: a view's copy
        return pa.Array.from_buffers(
            pa.from_numpy_dtype(dtype), len(data), [None, pa.py_buffer(data)]
        )
    return None


def _strings(values: Sequence[str]) -> pa.Array | None:
    """Strings as an Arrow ``string`` array (32-bit offsets); None when they are not all
    encodable as UTF-8 (lone surrogates) or hold 2 GiB or more, which ``pa.array`` handles (or
    refuses) its own way."""
    import numpy as np
    import pyarrow as pa

    try:
        encoded = [value.encode("utf-8") for value in values]
    except UnicodeEncodeError:
        return None
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        return None
    buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers)
