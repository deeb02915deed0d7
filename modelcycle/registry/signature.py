"""A model's signature: the columns it takes (and returns), and the check applied at predict time.

A signature is inferred from an input example when a model is saved and stored in its manifest.
Every ``predict`` call goes through :meth:`Signature.enforce`, so a caller who sends the wrong
columns or types gets an :class:`~modelcycle.errors.InvalidInput` naming the column and the
problem, instead of a stack trace from inside scikit-learn or onnxruntime, or (worse) a silent
prediction from misaligned columns.

Dtypes are canonical names, independent of how pandas happens to store a column::

    bool  int8 int16 int32 int64  uint8 uint16 uint32 uint64  float32 float64
    string  category  datetime64[<unit>]  object (anything; only nullability is checked)

Casts that lose nothing are applied silently (``int32 → int64``, ``int → float``, a float column
whose values are all whole numbers → ``int``, ISO strings → ``datetime64``); anything else is an
error. Nullability is inferred from the example: a column with no nulls in the example refuses
nulls at predict time. Pass an explicit signature (or an example with a null) to allow them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, field_validator

from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["ColumnSpec", "Signature", "infer_signature", "to_frame"]

_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_FLOATS = ("float32", "float64")
_SIMPLE = frozenset((*_INTS, *_FLOATS, "bool", "string", "category", "object"))
_DATETIME = re.compile(r"datetime64\[(s|ms|us|ns)(, .+)?\]")
_NUMERIC_OBJECT_KINDS = frozenset(("integer", "floating", "mixed-integer-float", "decimal"))


class ColumnSpec(BaseModel):
    """One column: its name, canonical dtype and whether it may hold nulls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    dtype: str
    nullable: bool = False

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, value: str) -> str:
        if value in _SIMPLE or _DATETIME.fullmatch(value):
            return value
        raise ValueError(
            f"unknown dtype {value!r}; use one of {', '.join(sorted(_SIMPLE))} or "
            "datetime64[ns] (s, ms, us, ns)"
        )

    @property
    def is_numeric(self) -> bool:
        """Whether the column can travel in a float array (the serving fast path)."""
        return self.dtype in _INTS or self.dtype in _FLOATS or self.dtype == "bool"


class Signature(BaseModel):
    """The columns a model takes, in order, and optionally the columns it returns.

    Example:
        >>> import pandas as pd
        >>> sig = infer_signature(pd.DataFrame({"age": [31, 40], "income": [1.5, 2.0]}))
        >>> [c.dtype for c in sig.inputs]
        ['int64', 'float64']
        >>> sig.enforce(pd.DataFrame({"income": [3.0], "age": [22]})).columns.tolist()
        ['age', 'income']
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    inputs: list[ColumnSpec]
    outputs: list[ColumnSpec] | None = None

    @field_validator("inputs")
    @classmethod
    def _unique_names(cls, value: list[ColumnSpec]) -> list[ColumnSpec]:
        if not value:
            raise ValueError("a signature needs at least one input column")
        seen: set[str] = set()
        for column in value:
            if column.name in seen:
                raise ValueError(f"input column {column.name!r} appears twice")
            seen.add(column.name)
        return value

    @property
    def input_names(self) -> list[str]:
        """The input column names, in order."""
        return [column.name for column in self.inputs]

    @property
    def all_numeric(self) -> bool:
        """Whether every input is numeric or boolean, so a 2-D float array can carry the input."""
        return all(column.is_numeric for column in self.inputs)

    def enforce(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Check ``frame`` against the inputs and return it with the columns in signature order.

        Args:
            frame: the rows to predict on.

        Returns:
            A new frame holding exactly the input columns, in order, each cast to its dtype.

        Raises:
            InvalidInput: a column is missing or unexpected, holds values of the wrong type, or
                holds nulls where none are allowed. The message names the column and the
                problem; ``details["column"]`` is the column's name.
        """
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise InvalidInput(
                f"expected a pandas DataFrame, got {type(frame).__name__}",
                details={"type": type(frame).__name__},
            )
        names = self.input_names
        present = [str(column) for column in frame.columns]
        if len(set(present)) != len(present):
            twice = sorted({name for name in present if present.count(name) > 1})
            raise InvalidInput(
                f"column {twice[0]!r} appears more than once in the input",
                details={"column": twice[0], "problem": "duplicate"},
            )
        missing = [name for name in names if name not in present]
        if missing:
            raise InvalidInput(
                f"missing column {missing[0]!r}: the model's signature needs "
                f"{', '.join(names)} (missing: {', '.join(missing)})",
                details={"column": missing[0], "problem": "missing", "missing": missing},
            )
        extra = [name for name in present if name not in set(names)]
        if extra:
            raise InvalidInput(
                f"unexpected column {extra[0]!r}: the model's signature takes only "
                f"{', '.join(names)} (unexpected: {', '.join(extra)})",
                details={"column": extra[0], "problem": "unexpected", "unexpected": extra},
            )
        by_name = dict(zip(present, frame.columns, strict=True))
        columns = {
            spec.name: _enforce_column(frame[by_name[spec.name]], spec) for spec in self.inputs
        }
        return pd.DataFrame(columns, index=frame.index)


def _enforce_column(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    """The column cast to ``spec.dtype``, or InvalidInput naming it."""
    converted = _convert(series, spec)
    if not spec.nullable:
        nulls = converted.isna().to_numpy()
        if nulls.any():
            count = int(nulls.sum())
            first = series.index[nulls.argmax()]
            raise InvalidInput(
                f"column {spec.name!r} holds {count} null value(s) (first at row {first!r}) "
                "but the signature does not allow nulls in it",
                details={"column": spec.name, "problem": "null", "count": count},
            )
    return converted


def _convert(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    target = spec.dtype
    if target == "object":
        return series
    if target == "category":
        return series if isinstance(dtype, pd.CategoricalDtype) else series.astype("category")
    if isinstance(dtype, pd.CategoricalDtype):
        # Compare the categories' values, not the categorical wrapper.
        series = series.astype(dtype.categories.dtype)
        dtype = series.dtype
    if target == "bool":
        if types.is_bool_dtype(dtype) or _object_of(series, "boolean"):
            return series if series.hasnans else series.astype(bool)
        raise _wrong_type(spec, series)
    if target == "string":
        if isinstance(dtype, pd.StringDtype) or _object_of(series, "string"):
            return series
        raise _wrong_type(spec, series)
    if target.startswith("datetime64"):
        return _to_datetime(series, spec)
    # Numeric targets.
    if types.is_bool_dtype(dtype) or not (
        types.is_numeric_dtype(dtype)
        or (
            types.is_object_dtype(dtype)
            and types.infer_dtype(series, skipna=True) in _NUMERIC_OBJECT_KINDS
        )
    ):
        raise _wrong_type(spec, series)
    if target in _FLOATS:
        return series.astype(target)
    return _to_int(series, spec)


def _to_int(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Integers only when no value changes: whole numbers within the target's range."""
    import numpy as np

    values = series.to_numpy(dtype="float64", na_value=np.nan)
    present = values[~np.isnan(values)]
    if (present != np.floor(present)).any():
        bad = present[present != np.floor(present)][0]
        raise InvalidInput(
            f"column {spec.name!r} expects {spec.dtype} but holds the fraction {bad!r}",
            details={"column": spec.name, "problem": "dtype", "expected": spec.dtype},
        )
    info = np.iinfo(spec.dtype)
    if present.size and (present.min() < info.min or present.max() > info.max):
        raise InvalidInput(
            f"column {spec.name!r} expects {spec.dtype} but holds values outside "
            f"[{info.min}, {info.max}]",
            details={"column": spec.name, "problem": "range", "expected": spec.dtype},
        )
    if present.size < values.size:
        # Nulls: a nullable integer column (the null check rejects them when not allowed).
        return series.astype(spec.dtype.replace("u", "U").replace("i", "I", 1))
    if series.dtype.kind in "iu":
        return series.astype(spec.dtype)
    return series.astype("float64").astype(spec.dtype)


def _to_datetime(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    import pandas as pd
    from pandas.api import types

    if types.is_datetime64_any_dtype(series.dtype):
        return series.astype(spec.dtype)
    if isinstance(series.dtype, pd.StringDtype) or _object_of(series, "string"):
        try:
            return pd.to_datetime(series, format="ISO8601").astype(spec.dtype)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(
                f"column {spec.name!r} expects {spec.dtype} but holds a value that is not an "
                f"ISO 8601 date-time: {exc}",
                details={"column": spec.name, "problem": "dtype", "expected": spec.dtype},
            ) from exc
    raise _wrong_type(spec, series)


def _object_of(series: pd.Series, kind: str) -> bool:
    """Whether an object column holds only values of ``kind`` (pandas' inference, in C)."""
    from pandas.api import types

    return types.is_object_dtype(series.dtype) and types.infer_dtype(series, skipna=True) in (
        kind,
        "empty",
    )


def _wrong_type(spec: ColumnSpec, series: pd.Series) -> InvalidInput:
    present = series.dropna()
    example = present.iloc[0] if len(present) else None
    found = _canonical_dtype(series)
    return InvalidInput(
        f"column {spec.name!r} expects {spec.dtype} but holds {found} values "
        f"(for example {example!r})",
        details={"column": spec.name, "problem": "dtype", "expected": spec.dtype, "found": found},
    )


def infer_signature(
    input_example: pd.DataFrame | np.ndarray | Mapping[str, Any], output_example: Any = None
) -> Signature:
    """The signature of a model from an example of its input (and optionally its output).

    Args:
        input_example: a DataFrame; a 2-D array (columns ``x0``, ``x1``, …); or a dict of
            column name → values.
        output_example: predictions for the example: an array, a Series or a DataFrame.

    Returns:
        The inferred signature; a column is nullable when the example holds a null in it.

    Raises:
        InvalidInput: the example is empty of columns, not tabular, or of an unsupported type.
    """
    frame = to_frame(input_example)
    outputs = None
    if output_example is not None:
        outputs = _columns(_output_frame(output_example))
    return Signature(inputs=_columns(frame), outputs=outputs)


def to_frame(data: Any, signature: Signature | None = None) -> pd.DataFrame:
    """Turn what a caller passes to ``predict`` into a DataFrame.

    Accepted: a DataFrame; a dict of column → values (or → one scalar, for one row); a list of
    records (dicts); a 2-D array or a list of rows (columns taken positionally from the
    signature, else named ``x0``, ``x1``, …); a 1-D array is one row.

    Raises:
        InvalidInput: the data is not tabular or its width does not match the signature.
    """
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, Mapping):
        if not data:
            raise InvalidInput("the input holds no columns", details={"problem": "empty"})
        values = {str(key): value for key, value in data.items()}
        if all(np.ndim(value) == 0 for value in values.values()):
            return pd.DataFrame({key: [value] for key, value in values.items()})
        if any(np.ndim(value) > 1 for value in values.values()):
            raise InvalidInput(
                "each column of a dict input must be one-dimensional",
                details={"problem": "shape"},
            )
        try:
            return pd.DataFrame(values)
        except ValueError as exc:
            raise InvalidInput(f"the columns of the input do not line up: {exc}") from exc
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if data and all(isinstance(row, Mapping) for row in data):
            return pd.DataFrame.from_records(list(data))
        if data and all(_is_row(row) for row in data):
            return _rows_frame(data, signature)
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        return _array_frame(data, signature)
    raise InvalidInput(
        f"cannot read a {type(data).__name__} as tabular input; pass a DataFrame, a dict of "
        "columns, a list of records or a 2-D array",
        details={"type": type(data).__name__},
    )


def _is_row(value: Any) -> bool:
    import numpy as np

    return isinstance(value, list | tuple | np.ndarray) and np.ndim(value) == 1


def _rows_frame(rows: Sequence[Any], signature: Signature | None) -> pd.DataFrame:
    """A list of rows, each column's type inferred on its own (a numpy array of mixed rows
    would turn every value into a string)."""
    import pandas as pd

    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise InvalidInput(
            f"the rows of the input have different lengths: {sorted(widths)}",
            details={"problem": "width"},
        )
    names = _names(widths.pop(), signature)
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=names)


def _names(width: int, signature: Signature | None) -> list[str]:
    if signature is None:
        return [f"x{i}" for i in range(width)]
    names = signature.input_names
    if width != len(names):
        raise InvalidInput(
            f"the input has {width} columns but the model's signature takes {len(names)} "
            f"({', '.join(names)})",
            details={"problem": "width", "expected": len(names), "found": width},
        )
    return names


def _array_frame(array: np.ndarray, signature: Signature | None) -> pd.DataFrame:
    import pandas as pd

    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise InvalidInput(
            f"an array input must be 2-D (rows × columns), got {array.ndim} dimensions",
            details={"problem": "shape", "shape": list(array.shape)},
        )
    names = _names(array.shape[1], signature)
    if array.dtype == object:
        return pd.DataFrame({name: array[:, i] for i, name in enumerate(names)}).infer_objects()
    return pd.DataFrame(array, columns=names)


def _output_frame(example: Any) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if isinstance(example, pd.DataFrame):
        return example
    if isinstance(example, pd.Series):
        return example.to_frame(
            name=str(example.name) if example.name is not None else "prediction"
        )
    array = np.asarray(example)
    if array.ndim == 1:
        return pd.DataFrame({"prediction": array})
    if array.ndim == 2:
        return pd.DataFrame(array, columns=[f"y{i}" for i in range(array.shape[1])])
    raise InvalidInput(
        f"an output example must be 1-D or 2-D, got {array.ndim} dimensions",
        details={"problem": "shape"},
    )


def _columns(frame: pd.DataFrame) -> list[ColumnSpec]:
    if frame.shape[1] == 0:
        raise InvalidInput("the example holds no columns", details={"problem": "empty"})
    return [
        ColumnSpec(
            name=str(name),
            dtype=_canonical_dtype(frame[name]),
            nullable=bool(frame[name].isna().any()),
        )
        for name in frame.columns
    ]


def _canonical_dtype(series: pd.Series) -> str:
    """The canonical name of a column's type: pandas' nullable and numpy dtypes map to one name."""
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if types.is_bool_dtype(dtype):
        return "bool"
    if types.is_integer_dtype(dtype) or types.is_float_dtype(dtype):
        name = str(dtype).lower()  # Int64 → int64, Float32 → float32
        return "float32" if name == "float16" else name
    if types.is_datetime64_any_dtype(dtype):
        unit = getattr(dtype, "unit", "ns")
        tz = getattr(dtype, "tz", None)
        return f"datetime64[{unit}, {tz}]" if tz is not None else f"datetime64[{unit}]"
    if types.is_string_dtype(dtype):
        kind = types.infer_dtype(series, skipna=True)
        if kind in ("string", "empty"):
            return "string"
        if kind == "boolean":
            return "bool"
        if kind in ("integer", "mixed-integer-float", "floating"):
            return "int64" if kind == "integer" else "float64"
    return "object"
