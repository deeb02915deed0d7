"""Check a frame against a :class:`~modelcycle.quality._schema.Schema` and list every broken rule.

Bad data is the expected input here, not an error: :func:`validate` always returns a
:class:`ValidationResult` with one :class:`Violation` per (column, rule), its count and a few
example rows, so a pipeline can log, gate or repair. Each rule is a vectorised mask over the
column; values that cannot be parsed as the schema's type count once, as ``type_mismatch``, and
are left out of the range checks.

    >>> import pandas as pd
    >>> from modelcycle.quality._schema import infer_schema
    >>> schema = infer_schema(pd.DataFrame({"age": [31, 47]}))
    >>> validate(pd.DataFrame({"age": [31, "n/a", 200]}), schema).to_dict()["valid"]
    False
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from modelcycle.errors import InvalidInput
from modelcycle.quality._schema import ColumnSchema, Schema, check_unique_names

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Rule = Literal[
    "missing_column",
    "unexpected_column",
    "type_mismatch",
    "not_nullable",
    "below_min",
    "above_max",
    "not_allowed",
    "duplicate",
]

MAX_EXAMPLES = 5
"""Example rows kept per violation: enough to see the pattern, small enough to store."""


class Example(BaseModel):
    """One offending row: its index label and the value found (JSON-ready)."""

    model_config = ConfigDict(frozen=True)

    index: int | str
    value: Any


class Violation(BaseModel):
    """One broken rule on one column: how many rows break it and the first few of them.

    For ``missing_column`` and ``unexpected_column`` the count is the frame's row count and there
    are no examples.
    """

    model_config = ConfigDict(frozen=True)

    column: str
    rule: Rule
    count: int
    examples: list[Example] = Field(default_factory=list)


class ValidationResult(BaseModel):
    """Every violation found, in schema column order."""

    model_config = ConfigDict(frozen=True)

    row_count: int
    violations: list[Violation] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def valid(self) -> bool:
        """Whether the frame broke no rule."""
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready values, ``valid`` included."""
        return self.model_dump(mode="json")


def validate(df: pd.DataFrame, schema: Schema) -> ValidationResult:
    """Every rule of ``schema`` that ``df`` breaks, with counts and example rows.

    Rules: missing and unexpected columns, values not parsable as the column's type, nulls in
    a non-nullable column, values below ``min`` or above ``max``, values outside
    ``allowed_values`` and repeated values in a unique column.

    Raises:
        InvalidInput: ``df`` is not a DataFrame, ``schema`` is not a Schema, or ``df`` repeats a
            column name. Bad values never raise.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"validate needs a pandas DataFrame, not {type(df).__name__}")
    if not isinstance(schema, Schema):
        raise InvalidInput(
            f"validate needs a Schema, not {type(schema).__name__}; "
            "use Schema.from_dict() for a stored schema"
        )
    check_unique_names(df)
    present = {str(name): name for name in df.columns}
    expected = set(schema.names)
    violations: list[Violation] = []
    for column in schema.columns:
        if column.name not in present:
            violations.append(Violation(column=column.name, rule="missing_column", count=len(df)))
            continue
        violations.extend(_check_column(df[present[column.name]], column))
    violations.extend(
        Violation(column=name, rule="unexpected_column", count=len(df))
        for name in present
        if name not in expected
    )
    return ValidationResult(row_count=len(df), violations=violations)


def _check_column(series: pd.Series, column: ColumnSchema) -> list[Violation]:
    import numpy as np

    # Masks are numpy arrays, not Series, so a frame with a repeated index label still lines up.
    present = series.notna().to_numpy()
    parsed, unparsable = _parse(series, column.type, present)
    found: list[tuple[Rule, np.ndarray]] = [("type_mismatch", unparsable)]
    if not column.nullable:
        found.append(("not_nullable", ~present))
    comparable = present & ~unparsable
    if column.type in ("integer", "float", "datetime"):
        for rule, bound in (("below_min", column.min), ("above_max", column.max)):
            if bound is not None:
                limit = _bound(bound, parsed) if column.type == "datetime" else bound
                beyond = parsed < limit if rule == "below_min" else parsed > limit
                found.append((rule, comparable & beyond.to_numpy(dtype=bool)))
    if column.allowed_values is not None:
        outside = np.zeros(len(series), dtype=bool)
        values = series[present].astype(str)
        outside[present] = ~values.isin(column.allowed_values).to_numpy()
        found.append(("not_allowed", outside))
    if column.unique:
        repeated = np.zeros(len(series), dtype=bool)
        keys = series[present]
        if keys.dtype == object:  # cells may hold lists or dicts, which cannot be hashed
            keys = keys.astype(str)
        repeated[present] = keys.duplicated(keep="first").to_numpy()
        found.append(("duplicate", repeated))
    return [_violation(column.name, rule, mask, series) for rule, mask in found if mask.any()]


def _parse(series: pd.Series, kind: str, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """The column as the schema's type, and the mask of present values that do not parse."""
    import numpy as np
    import pandas as pd
    from pandas.api import types

    nothing = np.zeros(len(series), dtype=bool)
    if kind in ("integer", "float"):
        if types.is_bool_dtype(series.dtype):
            return series, present.copy()
        if types.is_numeric_dtype(series.dtype):
            parsed = series.astype("float64")
        else:
            parsed = pd.to_numeric(series.astype("object"), errors="coerce").astype("float64")
        failed = parsed.isna().to_numpy()
        if kind == "integer":
            failed = failed | (parsed.notna() & (parsed != parsed.round())).to_numpy()
        return parsed, present & failed
    if kind == "datetime":
        if types.is_datetime64_any_dtype(series.dtype):
            return series, nothing
        # Through text, so a number is a mismatch rather than an epoch, and in UTC, so offsets
        # that differ from row to row compare instead of raising.
        parsed = pd.to_datetime(series.astype(str), errors="coerce", format="ISO8601", utc=True)
        return parsed, present & parsed.isna().to_numpy()
    if kind == "boolean":
        if types.is_bool_dtype(series.dtype):
            return series, nothing
        return series, present & ~series.isin([True, False]).to_numpy()
    return series, nothing


def _bound(iso: int | float | str, parsed: pd.Series) -> Any:
    """A datetime bound in the column's time zone, so aware and naive values compare."""
    import pandas as pd

    bound = pd.Timestamp(iso)
    zone = getattr(parsed.dt, "tz", None)
    if zone is not None and bound.tzinfo is None:
        return bound.tz_localize(zone)
    if zone is None and bound.tzinfo is not None:
        return bound.tz_convert(None)
    return bound


def _violation(name: str, rule: Rule, mask: np.ndarray, series: pd.Series) -> Violation:
    import numpy as np

    rows = series.iloc[np.flatnonzero(mask)[:MAX_EXAMPLES]]
    examples = [
        Example(index=_plain_label(label), value=_plain_value(value))
        for label, value in rows.items()
    ]
    return Violation(column=name, rule=rule, count=int(mask.sum()), examples=examples)


def _plain_label(label: Any) -> int | str:
    value = label.item() if hasattr(label, "item") else label
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _plain_value(value: Any) -> Any:
    """A cell as a JSON value: numpy scalars unwrapped, times as ISO strings, NaN as None."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
