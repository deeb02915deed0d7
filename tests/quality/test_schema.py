"""``infer_schema`` and ``Schema``: what is inferred per dtype, the JSON round trip the data
domain relies on, and the bad inputs (empty frames, all-null and mixed-type columns)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import modelcycle as mc
from modelcycle.errors import InvalidInput
from modelcycle.quality._schema import ColumnSchema, Schema, infer_schema


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "income": [10.5, np.nan, 30.0, 45.25],
            "plan": ["free", "pro", "free", None],
            "name": ["ann", "bob", "cy", "dee"],
            "joined": pd.to_datetime(["2024-01-02", "2024-03-04", None, "2024-05-06"]),
            "active": [True, False, True, True],
            "tier": pd.Categorical(["a", "b", "a", "a"]),
        }
    )


def test_infers_type_nullability_ranges_categories_and_uniqueness() -> None:
    schema = infer_schema(frame(), max_categories=2)

    by_name = {column.name: column for column in schema.columns}
    assert schema.names == ["id", "income", "plan", "name", "joined", "active", "tier"]
    assert schema.row_count == 4
    assert by_name["id"] == ColumnSchema(
        name="id", type="integer", nullable=False, min=1, max=4, unique=True
    )
    assert by_name["income"] == ColumnSchema(name="income", type="float", min=10.5, max=45.25)
    assert by_name["plan"].type == "categorical"
    assert by_name["plan"].allowed_values == ["free", "pro"]
    assert by_name["plan"].nullable is True
    assert by_name["name"].type == "string"  # 4 distinct values > max_categories=2
    assert by_name["name"].allowed_values is None
    assert by_name["name"].unique is True
    assert by_name["joined"].type == "datetime"
    assert (by_name["joined"].min, by_name["joined"].max) == (
        "2024-01-02T00:00:00",
        "2024-05-06T00:00:00",
    )
    assert by_name["active"].type == "boolean"
    assert by_name["tier"].type == "categorical"
    assert by_name["tier"].allowed_values == ["a", "b"]


def test_floats_and_booleans_are_never_inferred_unique() -> None:
    schema = infer_schema(pd.DataFrame({"x": [0.1, 0.2, 0.3], "flag": [True, False, None]}))

    assert [column.unique for column in schema.columns] == [False, False]


def test_json_round_trip_keeps_every_field_with_plain_types() -> None:
    df = frame()
    df["stamp"] = pd.to_datetime(["2024-01-01T00:00:00.123456789"] * 4)
    schema = infer_schema(df)

    text = json.dumps(schema.to_dict())  # fails on numpy or datetime values
    again = Schema.from_dict(json.loads(text))

    assert again == schema
    assert Schema.model_validate(schema.model_dump(mode="json")) == schema
    assert isinstance(schema.column("id").min, int)


def test_public_names_resolve_to_this_module() -> None:
    assert mc.quality.infer_schema is infer_schema
    assert mc.quality.Schema is Schema


def test_schema_is_frozen() -> None:
    schema = infer_schema(frame())

    with pytest.raises(ValueError, match="frozen"):
        schema.row_count = 3  # type: ignore[misc]


def test_empty_frame_gives_columns_without_ranges() -> None:
    empty = pd.DataFrame({"x": pd.Series([], dtype="float64"), "s": pd.Series([], dtype=object)})

    schema = infer_schema(empty)

    assert schema.row_count == 0
    assert [(c.name, c.type, c.min, c.max, c.unique) for c in schema.columns] == [
        ("x", "float", None, None, False),
        ("s", "string", None, None, False),
    ]
    assert infer_schema(pd.DataFrame()).columns == []


def test_all_null_columns_are_nullable_with_no_range() -> None:
    schema = infer_schema(pd.DataFrame({"f": [np.nan, np.nan], "o": [None, None]}))

    for column in schema.columns:
        assert column.nullable is True
        assert (column.min, column.max, column.allowed_values, column.unique) == (
            None,
            None,
            None,
            False,
        )


def test_mixed_type_column_becomes_text_with_its_values_as_strings() -> None:
    schema = infer_schema(pd.DataFrame({"m": [1, "two", 3.5, None]}))

    [column] = schema.columns
    assert column.type == "categorical"
    assert column.allowed_values == ["1", "3.5", "two"]


def test_column_lookup_names_the_missing_column() -> None:
    with pytest.raises(InvalidInput, match="'nope'"):
        infer_schema(frame()).column("nope")


@pytest.mark.parametrize("bad", [None, [1, 2], {"a": [1]}, pd.Series([1])])
def test_non_frame_is_invalid_input(bad: object) -> None:
    with pytest.raises(InvalidInput, match="DataFrame"):
        infer_schema(bad)  # type: ignore[arg-type]


def test_repeated_column_names_are_named_in_the_error() -> None:
    doubled = pd.DataFrame([[1, 2]], columns=["a", "a"])

    with pytest.raises(InvalidInput, match="repeated: a"):
        infer_schema(doubled)


def test_negative_max_categories_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="max_categories"):
        infer_schema(frame(), max_categories=-1)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"columns": [{"name": "a", "type": "complex"}]}, "columns.0.type"),
        ({"columns": [{"type": "float"}]}, "columns.0.name"),
        ({"columns": [], "row_count": -1}, "row_count"),
        ({"columns": [], "colour": "red"}, "colour"),
    ],
)
def test_from_dict_names_the_bad_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=field.replace(".", r"\.")):
        Schema.from_dict(document)


def test_unhashable_cells_are_counted_as_text() -> None:
    schema = infer_schema(pd.DataFrame({"s": [[1], [2], {"a": 1}, None]}))

    [column] = schema.columns
    assert column.type == "categorical"
    assert column.allowed_values == ["[1]", "[2]", "{'a': 1}"]


def test_non_text_categories_are_allowed_as_strings() -> None:
    schema = infer_schema(pd.DataFrame({"c": pd.Categorical([3, 1, 3])}))

    assert schema.column("c").allowed_values == ["1", "3"]


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"name": "a", "type": "float", "min": "5"}, "min of a float column must be a number"),
        ({"name": "a", "type": "datetime", "max": 3}, "max of a datetime column must be an ISO"),
        ({"name": "a", "type": "datetime", "min": "June"}, "'June' is not an ISO 8601"),
        ({"name": "a", "type": "string", "max": "z"}, "a string column has no max"),
    ],
)
def test_from_dict_refuses_bounds_that_cannot_be_compared(
    column: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        Schema.from_dict({"columns": [column]})
