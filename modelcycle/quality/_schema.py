"""What a table is expected to look like, inferred from one frame and checked against later ones.

A :class:`Schema` is stored as JSON with every tabular dataset version, so it holds only plain
values: Python ints, floats and strings, and datetimes as ISO 8601 strings. Inference is one
vectorised pass per column; :func:`modelcycle.quality._validate` checks a frame against it.

    >>> import pandas as pd
    >>> schema = infer_schema(pd.DataFrame({"age": [31, 47], "plan": ["free", "pro"]}))
    >>> [(c.name, c.type) for c in schema.columns]
    [('age', 'integer'), ('plan', 'categorical')]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

LogicalType = Literal["integer", "float", "boolean", "string", "datetime", "categorical"]

DEFAULT_MAX_CATEGORIES = 20
"""A string column with at most this many distinct values is categorical, with an allowed set."""

Bound = int | float | str | None
"""A numeric bound, or an ISO 8601 string for a datetime column."""


class ColumnSchema(BaseModel):
    """The expectations for one column.

    Attributes:
        name: the column's name.
        type: its logical type; ``categorical`` columns carry ``allowed_values``.
        nullable: whether missing values are allowed.
        min: the smallest allowed value (numbers; ISO strings for datetimes), or ``None``.
        max: the largest allowed value, or ``None``.
        allowed_values: the allowed values as strings, or ``None`` for no such rule.
        unique: whether the non-missing values must all differ.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: LogicalType
    nullable: bool = True
    min: Bound = None
    max: Bound = None
    allowed_values: list[str] | None = None
    unique: bool = False

    @model_validator(mode="after")
    def _bounds_fit_the_type(self) -> ColumnSchema:
        """Refuse bounds validation could not compare (a text ``min`` on a float column, a date
        that does not parse), so a hand-edited schema fails when loaded, not mid-validation."""
        for label, bound in (("min", self.min), ("max", self.max)):
            if bound is None:
                continue
            if self.type in ("integer", "float"):
                if isinstance(bound, str):
                    raise ValueError(f"{label} of a {self.type} column must be a number")
            elif self.type == "datetime":
                if not isinstance(bound, str):
                    raise ValueError(f"{label} of a datetime column must be an ISO 8601 string")
                import pandas as pd

                try:  # pandas, not datetime.fromisoformat: inferred bounds may hold nanoseconds
                    pd.to_datetime(bound, format="ISO8601")
                except ValueError:
                    raise ValueError(f"{label} {bound!r} is not an ISO 8601 datetime") from None
            else:
                raise ValueError(f"a {self.type} column has no {label}")
        return self


class Schema(BaseModel):
    """The expected columns of a table, in order, and the row count it was inferred from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: list[ColumnSchema] = Field(default_factory=list)
    row_count: int = Field(default=0, ge=0)

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [column.name for column in self.columns]

    def column(self, name: str) -> ColumnSchema:
        """The schema of one column.

        Raises:
            InvalidInput: the schema has no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise InvalidInput(
            f"the schema has no column {name!r}; it has {', '.join(self.names) or 'none'}",
            details={"column": name},
        )

    def to_dict(self) -> dict[str, Any]:
        """The schema as plain JSON-ready values (what the data domain stores)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Any) -> Schema:
        """A schema from :meth:`to_dict` output.

        Raises:
            InvalidInput: ``data`` is not a schema document; the message names the bad field.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'schema'}: {error['msg']}"
                for error in exc.errors()
            )
            raise InvalidInput(f"not a valid schema: {problems}") from exc


def infer_schema(df: pd.DataFrame, *, max_categories: int = DEFAULT_MAX_CATEGORIES) -> Schema:
    """The schema ``df`` satisfies: types, nullability, ranges, allowed values, uniqueness.

    Float and boolean columns are never marked unique: measurements that happen not to repeat
    in a sample are not keys, and a rule inferred from chance would fail the next version.

    Args:
        df: the frame to describe; an empty frame gives columns with no ranges.
        max_categories: a string column with at most this many distinct values becomes
            ``categorical`` with those values allowed.

    Raises:
        InvalidInput: ``df`` is not a DataFrame, has duplicate column names, or
            ``max_categories`` is negative.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"infer_schema needs a pandas DataFrame, not {type(df).__name__}")
    if max_categories < 0:
        raise InvalidInput(f"max_categories must be 0 or more, not {max_categories}")
    check_unique_names(df)
    columns = [_infer_column(str(name), df[name], max_categories) for name in df.columns]
    return Schema(columns=columns, row_count=len(df))


def check_unique_names(df: pd.DataFrame) -> None:
    """Refuse a frame whose column names repeat: ``df[name]`` would then be a frame, and every
    rule about "the column" would be ambiguous."""
    duplicated = df.columns[df.columns.duplicated()].unique().tolist()
    if duplicated:
        raise InvalidInput(
            f"column names must be unique; repeated: {', '.join(map(str, duplicated))}",
            details={"columns": [str(name) for name in duplicated]},
        )


def logical_type(series: pd.Series, max_categories: int = DEFAULT_MAX_CATEGORIES) -> LogicalType:
    """The logical type of a column from its dtype, or from its values for object columns."""
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_integer_dtype(dtype):
        return "integer"
    if types.is_float_dtype(dtype):
        return "float"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    inferred = types.infer_dtype(series, skipna=True)
    if inferred == "boolean":
        return "boolean"
    if inferred == "integer":
        return "integer"
    if inferred in ("floating", "mixed-integer-float", "decimal"):
        return "float"
    if inferred in ("datetime", "datetime64", "date"):
        return "datetime"
    if inferred != "empty" and as_text(series).nunique() <= max_categories:
        return "categorical"
    return "string"


def as_text(series: pd.Series) -> pd.Series:
    """The present values as strings: how text rules compare values, and the only way to count
    cells holding lists or dicts, which cannot be hashed."""
    import pandas as pd

    present = series.dropna()
    return present if isinstance(present.dtype, pd.StringDtype) else present.astype(str)


def _infer_column(name: str, series: pd.Series, max_categories: int) -> ColumnSchema:
    kind = logical_type(series, max_categories)
    values = series.dropna()
    minimum: Bound = None
    maximum: Bound = None
    allowed: list[str] | None = None
    if len(values) and kind in ("integer", "float"):
        minimum, maximum = plain_number(values.min()), plain_number(values.max())
    elif len(values) and kind == "datetime":
        import pandas as pd

        stamps = pd.to_datetime(values)
        minimum, maximum = stamps.min().isoformat(), stamps.max().isoformat()
    elif kind == "categorical":
        allowed = sorted(set(as_text(values).unique().tolist()))
    keys = as_text(values) if kind == "string" else values
    unique = kind in ("integer", "string", "datetime") and len(values) > 0 and keys.is_unique
    return ColumnSchema(
        name=name,
        type=kind,
        nullable=bool(series.isna().any()),
        min=minimum,
        max=maximum,
        allowed_values=allowed,
        unique=bool(unique),
    )


def plain_number(value: Any) -> int | float | None:
    """A numpy or pandas scalar as a Python int or float (JSON has no numpy types); NaN as
    ``None``."""
    number = value.item() if hasattr(value, "item") else value
    if isinstance(number, bool):
        return int(number)
    if isinstance(number, int):
        return number
    number = float(number)
    return None if math.isnan(number) else number
