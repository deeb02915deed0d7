"""What a request must look like, read once from a model's signature.

Checking a request against the signature column by column with pandas costs more than predicting
one row with a linear model, so the server reduces the signature to an :class:`InputPlan` when the
model loads: the column names, their positions, their kinds, and whether every column is numeric.
A numeric plan lets a request go straight from JSON lists to one float array (``predict_array``);
any other plan builds a DataFrame and lets the signature enforce itself (``predict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["float", "int", "bool", "str", "other"]

_KINDS: dict[str, Kind] = {
    "double": "float",
    "float": "float",
    "long": "int",
    "integer": "int",
    "int": "int",
    "bool": "bool",
    "boolean": "bool",
    "str": "str",
    "string": "str",
    "object": "str",
    "binary": "other",
    "bytes": "other",
}


def kind_of(dtype: object) -> Kind:
    """The kind of a signature dtype, whichever spelling it uses (``float64``, ``double``,
    ``Int64``, ``string``, a numpy dtype, ...)."""
    text = str(dtype).strip().lower()
    if text in _KINDS:
        return _KINDS[text]
    if text.startswith(("float", "double")):
        return "float"
    if text.startswith(("int", "uint")):
        return "int"
    if text.startswith("bool"):
        return "bool"
    if text.startswith(("str", "unicode", "<u")):
        return "str"
    return "other"


@dataclass(frozen=True)
class Column:
    """One input column of the signature."""

    name: str
    dtype: str
    kind: Kind
    nullable: bool


@dataclass(frozen=True)
class InputPlan:
    """The signature's inputs in the shape the request path needs them.

    Attributes:
        columns: the input columns in signature order.
        names: their names, in that order (a list, so a request's column list compares to it
            in one step; never mutate it).
        position: column name → its index in that order.
        numeric: every column is float, int or bool, so a request fits one float array.
        not_null: indexes of the columns that may not hold a null (checked as NaN).
        integral: indexes of int and bool columns, whose values must be whole numbers.
    """

    columns: tuple[Column, ...]
    names: list[str]
    position: dict[str, int]
    numeric: bool
    not_null: np.ndarray
    integral: np.ndarray

    @classmethod
    def from_signature(cls, signature: Any) -> InputPlan:
        """Build the plan of a model signature (``signature.inputs``: name, dtype, nullable)."""
        specs: Sequence[Any] = tuple(getattr(signature, "inputs", None) or ())
        columns = tuple(
            Column(
                name=str(spec.name),
                dtype=str(spec.dtype),
                kind=kind_of(spec.dtype),
                nullable=bool(getattr(spec, "nullable", False)),
            )
            for spec in specs
        )
        numeric = bool(columns) and all(c.kind in ("float", "int", "bool") for c in columns)
        return cls(
            columns=columns,
            names=[column.name for column in columns],
            position={column.name: i for i, column in enumerate(columns)},
            numeric=numeric,
            not_null=np.array([i for i, c in enumerate(columns) if not c.nullable], dtype=np.intp),
            integral=np.array(
                [i for i, c in enumerate(columns) if c.kind in ("int", "bool")], dtype=np.intp
            ),
        )
