"""The request formats the server accepts, each parsed into a :class:`Batch` for the model.

``POST /invocations`` takes what ``mlflow models serve`` takes, so MLflow clients work unchanged:

=========================================================  =====================================
body                                                       meaning
=========================================================  =====================================
``{"dataframe_split": {"columns": [...], "data": [[]]}}``  rows, cells in ``columns`` order
``{"dataframe_records": [{"col": v, ...}, ...]}``          one object per row
``{"instances": [[...], ...]}`` / ``[{...}, ...]``         rows in signature order, or records
``{"inputs": {"col": [...], ...}}`` / ``[[...], ...]``     columns by name, or as ``instances``
``Content-Type: text/csv``                                 a header line, then one line per row
=========================================================  =====================================

``POST /v2/models/{name}/infer`` takes the Open Inference Protocol (KServe v2): ``inputs`` is a
list of tensors ``{"name", "shape", "datatype", "data"}``, either one per signature column (shape
``[rows]``) or one tensor of shape ``[rows, columns]`` in signature order.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from modelcycle.errors import InvalidInput
from modelcycle.serving._json import loads
from modelcycle.serving._schema import InputPlan
from modelcycle.serving._tabular import (
    Batch,
    array_to_batch,
    columns_to_batch,
    records_to_batch,
    rows_to_batch,
)

__all__ = ["Batch", "INVOCATION_KEYS", "parse_csv", "parse_invocations", "parse_v2"]

INVOCATION_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")

V2_DATATYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": object,
}


def parse_invocations(body: bytes, plan: InputPlan) -> Batch:
    """A JSON body of ``POST /invocations``.

    Raises:
        InvalidInput: malformed JSON, no or several format keys, or rows that do not fit the
            signature; the message names the key, column or row.
    """
    payload = loads(body)
    if not isinstance(payload, dict):
        raise InvalidInput(
            f"the body must be a JSON object with one of the keys {_keys()}",
            details={"accepted": list(INVOCATION_KEYS)},
        )
    if payload.get("params"):
        raise InvalidInput(
            "this server takes no inference params; remove the 'params' key",
            details={"key": "params"},
        )
    if len(payload) == 1:
        key = next(iter(payload))
        if key in INVOCATION_KEYS:
            return _dispatch(key, payload[key], plan)
    given = [key for key in payload if key != "params"]
    found = [key for key in given if key in INVOCATION_KEYS]
    if len(found) != 1 or len(given) != 1:
        unknown = [key for key in given if key not in INVOCATION_KEYS]
        problem = (
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            if unknown
            else ("no format key" if not found else f"several format keys {found}")
        )
        raise InvalidInput(
            f"{problem}: the body must hold exactly one of {_keys()}",
            details={"accepted": list(INVOCATION_KEYS), "given": given},
        )
    return _dispatch(found[0], payload[found[0]], plan)


def _dispatch(key: str, value: Any, plan: InputPlan) -> Batch:
    if key == "dataframe_split":
        return _split(value, plan)
    if key == "dataframe_records":
        return records_to_batch(value, plan)
    if key == "inputs" and isinstance(value, dict):
        return columns_to_batch(value, plan)
    return _instances(value, plan, key)


def parse_csv(body: bytes, plan: InputPlan) -> Batch:
    """A CSV body: a header line naming the columns, then one line per row."""
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        # EmptyDataError is a ValueError: an empty body lands here too.
        raise InvalidInput(f"the body is not valid CSV with a header line: {exc}") from None
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        # pandas takes the extra leading values of rows longer than the header as row labels,
        # which would shift every value into the next column's place.
        raise InvalidInput(
            f"the rows hold more values than the header names columns ({len(frame.columns)}: "
            f"{', '.join(map(str, frame.columns))})",
            details={"columns": [str(c) for c in frame.columns]},
        )
    return columns_to_batch({str(c): frame[c].to_numpy() for c in frame.columns}, plan)


def parse_v2(body: bytes, plan: InputPlan) -> tuple[Batch, str | None]:
    """An Open Inference Protocol request: the batch and the request's ``id`` (echoed back)."""
    payload = loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise InvalidInput(
            "an inference request is a JSON object whose 'inputs' is an array of tensors "
            '{"name", "shape", "datatype", "data"}',
            details={"key": "inputs"},
        )
    request_id = payload.get("id")
    tensors = payload["inputs"]
    if not tensors:
        raise InvalidInput("'inputs' holds no tensors", details={"key": "inputs"})
    arrays = dict(_tensor(t, i) for i, t in enumerate(tensors))
    if len(arrays) != len(tensors):
        raise InvalidInput("two inputs have the same name", details={"key": "inputs"})
    if len(arrays) == 1:
        name, array = next(iter(arrays.items()))
        if array.ndim == 2 and (name not in plan.position or len(plan.columns) > 1):
            return array_to_batch(array, plan), _id(request_id)
    return columns_to_batch(arrays, plan), _id(request_id)


def _split(value: Any, plan: InputPlan) -> Batch:
    if not isinstance(value, dict) or "data" not in value:
        raise InvalidInput(
            'dataframe_split must be an object {"columns": [...], "data": [[...], ...]}',
            details={"key": "dataframe_split"},
        )
    columns = value.get("columns")
    if columns is not None and (
        not isinstance(columns, list)
        or (columns != plan.names and not all(isinstance(c, str) for c in columns))
    ):
        raise InvalidInput(
            "dataframe_split.columns must be an array of column names",
            details={"key": "dataframe_split"},
        )
    return rows_to_batch(value["data"], columns, plan)


def _instances(value: Any, plan: InputPlan, key: str) -> Batch:
    if not isinstance(value, list):
        raise InvalidInput(
            f"{key} must be an array of rows (arrays or objects)", details={"key": key}
        )
    if not value:
        return rows_to_batch(value, None, plan)
    first = value[0]
    if isinstance(first, dict):
        return records_to_batch(value, plan)
    if not isinstance(first, list) and len(plan.columns) == 1:
        # A model of one column: each instance is its value.
        return columns_to_batch({plan.columns[0].name: value}, plan)
    return rows_to_batch(value, None, plan)


def _tensor(tensor: Any, index: int) -> tuple[str, np.ndarray]:
    """One v2 input as a numpy array of its declared shape and datatype."""
    if not isinstance(tensor, dict):
        raise InvalidInput(f"inputs[{index}] must be an object", details={"input": index})
    name = tensor.get("name")
    where = f"input {name!r}" if isinstance(name, str) else f"inputs[{index}]"
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in tensor]
    if missing:
        raise InvalidInput(
            f"{where} lacks {', '.join(map(repr, missing))}",
            details={"input": name if isinstance(name, str) else index, "missing": missing},
        )
    shape, datatype, data = tensor["shape"], tensor["datatype"], tensor["data"]
    if not isinstance(name, str):
        raise InvalidInput(f"inputs[{index}].name must be a string", details={"input": index})
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise InvalidInput(
            f"{where}: shape must be an array of non-negative integers",
            details={"input": name, "shape": shape},
        )
    dtype = V2_DATATYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise InvalidInput(
            f"{where}: unknown datatype {datatype!r}; one of {', '.join(V2_DATATYPES)}",
            details={"input": name, "datatype": datatype},
        )
    if not isinstance(data, list):
        raise InvalidInput(f"{where}: data must be an array", details={"input": name})
    array = _typed(data, datatype, dtype, where, name)
    if array.size != math.prod(shape):
        raise InvalidInput(
            f"{where}: shape {shape} needs {math.prod(shape)} values but data holds {array.size}",
            details={"input": name, "shape": shape, "values": int(array.size)},
        )
    return name, array.reshape(shape)


_JSON_TYPES: dict[str, tuple[type, ...]] = {"BOOL": (bool,), "BYTES": (str,)}
"""The JSON values each datatype takes; integers take ``int`` (and integral floats: ``2.0``),
floats ``int`` or ``float``, never ``bool``. numpy would convert anything else silently
(``"x"`` as BOOL is True, 1.5 as INT64 is 1, ``"1"`` as FP64 is 1.0, ``true`` as FP64 is 1.0), so
it is refused."""


def _typed(data: list[Any], datatype: str, dtype: Any, where: str, name: str) -> np.ndarray:
    """``data`` as ``dtype``, refused unless every JSON value is of the datatype's kind and, for
    integers, within its range."""
    details = {"input": name, "datatype": datatype}
    try:
        parsed = np.asarray(data)
        values = list(_json_values(data))  # walked once; their types tell true from 1
        if datatype in _JSON_TYPES:
            accepted = _JSON_TYPES[datatype]
            if not all(type(value) in accepted for value in values):
                wanted = "booleans" if datatype == "BOOL" else "strings"
                raise InvalidInput(f"{where}: {datatype} data must be {wanted}", details=details)
            return parsed.astype(dtype)
        integer = datatype.startswith(("INT", "UINT"))
        kind = parsed.dtype.kind
        if parsed.size and (
            kind not in "iuf"
            or any(type(value) is bool for value in values)
            or (integer and kind == "f" and not _integral(parsed))
        ):
            wanted = "integers" if integer else "numbers"
            raise InvalidInput(
                f"{where}: {datatype} data must be {wanted}, got "
                f"{'booleans among them' if kind in 'iuf' else parsed.dtype.name + ' values'}",
                details=details,
            )
        # A value beyond the datatype's range (1e10 as FP16, 300 or 300.0 as UINT8) is the
        # client's error, not a wrapped-around value or a warning.
        with np.errstate(over="raise", invalid="raise"):
            if integer and parsed.size:
                info = np.iinfo(dtype)
                if kind == "f":  # the JSON numbers: exact beyond 2**53, where floats round
                    low, high = min(values), max(values)
                else:
                    low, high = parsed.min(), parsed.max()
                if low < info.min or high > info.max:
                    raise OverflowError(f"values outside [{info.min}, {info.max}]")
            return parsed.astype(dtype, copy=False)
    except InvalidInput:
        raise
    except (ValueError, TypeError, OverflowError, FloatingPointError) as exc:
        raise InvalidInput(
            f"{where}: its data do not fit the datatype {datatype}: {exc}", details=details
        ) from None


def _json_values(data: list[Any]) -> Iterator[Any]:
    """The JSON values of a (possibly nested) ``data`` array, as parsed: their Python types tell
    ``true`` from 1, which the array numpy built from them no longer does."""
    stack = [data]
    while stack:
        for value in stack.pop():
            if isinstance(value, list):
                stack.append(value)
            else:
                yield value


def _integral(values: np.ndarray) -> bool:
    finite = np.isfinite(values)
    return bool(finite.all() and (values == np.round(values)).all())


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _keys() -> str:
    return ", ".join(repr(k) for k in INVOCATION_KEYS)
