"""Rows and columns from a request, turned into what the model takes: a float array or a frame.

Every payload format reduces to one of two shapes: row-major lists with column names
(``dataframe_split``, ``instances`` as lists, records after reordering) or columns by name
(``inputs`` as a dict, Open Inference Protocol tensors, CSV). For a numeric signature both become
one ``float64`` array in signature order, built by numpy in one call; the per-cell Python scan
that names the offending column and row runs only after numpy has refused the input. Other
signatures get a pandas DataFrame and the model's own signature enforcement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelcycle.errors import InvalidInput
from modelcycle.serving._schema import InputPlan

_NUMBER_KINDS = "fiub"


@dataclass(frozen=True)
class Batch:
    """Model input ready to predict: ``array`` (numeric fast path) or ``frame`` (pandas)."""

    rows: int
    array: np.ndarray | None = None
    frame: Any = None


def rows_to_batch(rows: Any, names: Sequence[str] | None, plan: InputPlan) -> Batch:
    """Row-major ``rows`` whose cells are in the order of ``names`` (signature order if None)."""
    if not isinstance(rows, list):
        raise InvalidInput("the rows must be a JSON array of arrays")
    if not rows:
        raise _empty()
    names = list(plan.names if names is None else names)
    # The usual request names the columns in signature order: one list comparison clears it.
    in_order = names == plan.names
    if plan.columns and not in_order:
        _check_names(names, plan)
    if not plan.numeric:
        return Batch(rows=len(rows), frame=_frame_from_rows(rows, names))
    width = len(names)
    try:
        array = np.asarray(rows)
    except (ValueError, TypeError):
        raise _bad_cell(rows, names, plan) from None
    if array.ndim != 2 or array.shape[1] != width:
        raise _bad_cell(rows, names, plan)
    kind = array.dtype.kind
    if kind == "O":
        # A mix of numbers and nulls (or worse): numpy would also turn "1.5" into 1.5, so the
        # cells are checked one by one, and nulls become NaN for the null check below.
        bad = _find_bad_cell(rows, names, plan)
        if bad is not None:
            raise bad
        array = np.array(rows, dtype=np.float64)
    elif kind not in _NUMBER_KINDS:
        raise _bad_cell(rows, names, plan)
    else:
        array = array.astype(np.float64, copy=False)
    if not in_order:
        array = array[:, [names.index(name) for name in plan.names]]
    return Batch(rows=len(rows), array=_check_array(array, plan))


def records_to_batch(records: Any, plan: InputPlan) -> Batch:
    """A list of ``{column: value}`` objects."""
    if not isinstance(records, list):
        raise InvalidInput("the records must be a JSON array of objects")
    if not records:
        raise _empty()
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidInput(
                f"record {i} is a {_json_type(record)}, not an object of column values",
                details={"row": i},
            )
    if not plan.numeric:
        names = list(dict.fromkeys(key for record in records for key in record))
        if plan.columns:
            _check_names(names, plan)
        import pandas as pd

        return Batch(rows=len(records), frame=pd.DataFrame.from_records(records, columns=names))
    names = plan.names
    try:
        rows = [[record[name] for name in names] for record in records]
    except KeyError:
        for i, record in enumerate(records):
            _check_names(list(record), plan, row=i)
        raise
    width = len(names)
    for i, record in enumerate(records):
        if len(record) != width:
            _check_names(list(record), plan, row=i)
    return rows_to_batch(rows, names, plan)


def columns_to_batch(columns: Mapping[str, Any], plan: InputPlan) -> Batch:
    """``{column: [values]}``; every column must hold the same number of values."""
    names = list(columns)
    if plan.columns:
        _check_names(names, plan)
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        arrays[name] = _column_array(name, columns[name])
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) > 1:
        sizes = {name: len(a) for name, a in arrays.items()}
        raise InvalidInput(
            f"the columns hold different numbers of values: {sizes}", details={"lengths": sizes}
        )
    n = lengths.pop() if lengths else 0
    if n == 0:
        raise _empty()
    if not plan.numeric:
        import pandas as pd

        return Batch(rows=n, frame=pd.DataFrame(arrays))
    parts = []
    for column in plan.columns:
        values = arrays[column.name]
        if values.dtype.kind not in _NUMBER_KINDS:
            values = _numeric_column(column.name, column.dtype, values)
        parts.append(values.astype(np.float64, copy=False))
    return Batch(rows=n, array=_check_array(np.column_stack(parts), plan))


def array_to_batch(array: np.ndarray, plan: InputPlan) -> Batch:
    """A 2-D array whose columns are the signature's, in its order (a v2 tensor)."""
    if array.ndim != 2 or (plan.columns and array.shape[1] != len(plan.columns)):
        raise InvalidInput(
            f"a tensor of shape {list(array.shape)} does not fit the model's "
            f"{len(plan.columns)} columns; send shape [rows, {len(plan.columns)}] or one input "
            "per column",
            details={"shape": list(array.shape), "columns": plan.names},
        )
    if array.shape[0] == 0:
        raise _empty()
    if not plan.numeric:
        import pandas as pd

        names = plan.names or None
        return Batch(rows=array.shape[0], frame=pd.DataFrame(array, columns=names))
    if array.dtype.kind not in _NUMBER_KINDS:
        raise InvalidInput(
            f"the tensor holds {array.dtype} values but every column of the model is numeric",
            details={"columns": plan.names},
        )
    return Batch(rows=array.shape[0], array=_check_array(array.astype(np.float64), plan))


# --------------------------------------------------------------------------------------------


def _check_names(names: list[str], plan: InputPlan, *, row: int | None = None) -> None:
    """Missing, unknown or repeated columns, each named in the message."""
    where = "" if row is None else f" in record {row}"
    details: dict[str, Any] = {} if row is None else {"row": row}
    missing = [name for name in plan.names if name not in names]
    if missing:
        raise InvalidInput(
            f"missing column{_s(missing)} {_quoted(missing)}{where}; the model takes "
            f"{_quoted(plan.names)}",
            details={**details, "missing": missing, "expected": plan.names},
        )
    unknown = [name for name in names if name not in plan.position]
    if unknown:
        raise InvalidInput(
            f"unknown column{_s(unknown)} {_quoted(unknown)}{where}; the model takes "
            f"{_quoted(plan.names)}",
            details={**details, "unknown": unknown, "expected": plan.names},
        )
    if len(names) != len(set(names)):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise InvalidInput(
            f"column{_s(repeated)} {_quoted(repeated)} given more than once",
            details={**details, "repeated": repeated},
        )


def _find_bad_cell(rows: list[Any], names: list[str], plan: InputPlan) -> InvalidInput | None:
    """The first row of the wrong length or cell of the wrong type, as an error; the slow scan
    that runs only once numpy has refused (or could not type) the input."""
    width = len(names)
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            return InvalidInput(
                f"row {i} is a {_json_type(row)}, not an array of {width} values",
                details={"row": i},
            )
        if len(row) != width:
            return InvalidInput(
                f"row {i} has {len(row)} values but there are {width} columns ({_quoted(names)})",
                details={"row": i, "values": len(row), "columns": names},
            )
        for j, value in enumerate(row):
            if value is None or isinstance(value, int | float):
                continue
            column = plan.columns[plan.position[names[j]]] if plan.columns else None
            return _wrong_type(names[j], column.dtype if column else "a number", value, row=i)
    return None


def _bad_cell(rows: list[Any], names: list[str], plan: InputPlan) -> InvalidInput:
    found = _find_bad_cell(rows, names, plan)
    return found or InvalidInput("the rows are not a table of numbers")


def _check_array(array: np.ndarray, plan: InputPlan) -> np.ndarray:
    """NaN in a column that may not be null, or a fraction in an int or bool column."""
    if plan.not_null.size:
        nulls = np.isnan(array[:, plan.not_null])
        if nulls.any():
            col, row = _first_true(nulls)
            name = plan.columns[plan.not_null[col]].name
            raise InvalidInput(
                f"column {name!r} may not be null, but row {row} is null",
                details={"column": name, "row": row},
            )
    if plan.integral.size:
        values = array[:, plan.integral]
        fractional = ~np.isnan(values) & (values != np.floor(values))
        if fractional.any():
            col, row = _first_true(fractional)
            column = plan.columns[plan.integral[col]]
            raise _wrong_type(column.name, column.dtype, float(values[row, col]), row=row)
    return array


def _first_true(mask: np.ndarray) -> tuple[int, int]:
    """(column, row) of the first True cell, scanning row by row."""
    row, col = np.argwhere(mask)[0]
    return int(col), int(row)


def _column_array(name: str, values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        array = values
    elif isinstance(values, list):
        try:
            array = np.asarray(values)
        except (ValueError, TypeError):
            raise InvalidInput(
                f"column {name!r} must be a flat array of values; it holds nested arrays",
                details={"column": name},
            ) from None
    else:
        raise InvalidInput(
            f"column {name!r} must be an array of values, not a {_json_type(values)}",
            details={"column": name},
        )
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidInput(
            f"column {name!r} must be a flat array of values; its shape is {list(array.shape)}",
            details={"column": name, "shape": list(array.shape)},
        )
    return array


def _numeric_column(name: str, dtype: str, values: np.ndarray) -> np.ndarray:
    """An object or string column of a numeric signature column: numbers and nulls only."""
    for i, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and value != value):  # null or NaN
            continue
        if not isinstance(value, int | float):
            raise _wrong_type(name, dtype, value, row=i)
    return np.array(values.tolist(), dtype=np.float64)


def _frame_from_rows(rows: list[Any], names: list[str]) -> Any:
    import pandas as pd

    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            size = len(row) if isinstance(row, list) else 1
            raise InvalidInput(
                f"row {i} has {size} values but there are {len(names)} columns ({_quoted(names)})",
                details={"row": i, "columns": names},
            )
    return pd.DataFrame(rows, columns=names or None)


def _wrong_type(name: str, dtype: str, value: Any, *, row: int) -> InvalidInput:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return InvalidInput(
        f"column {name!r} expects {dtype}, but row {row} holds the {_json_type(value)} {shown}",
        details={"column": name, "row": row, "expected": dtype, "got": _json_type(value)},
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | np.number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return type(value).__name__


def _empty() -> InvalidInput:
    return InvalidInput("the request holds no rows to predict", details={"rows": 0})


def _s(items: Sequence[Any]) -> str:
    return "s" if len(items) > 1 else ""


def _quoted(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:10])
    return shown + (f", … ({len(names)} in all)" if len(names) > 10 else "")
