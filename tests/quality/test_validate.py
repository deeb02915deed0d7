"""``validate``: each rule with its count and example rows, a clean frame passing, and bad data
never raising (empty frames, all-null and mixed-type columns, columns on one side only)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from modelcycle.errors import InvalidInput
from modelcycle.quality._schema import ColumnSchema, Schema, infer_schema
from modelcycle.quality._validate import ValidationResult, Violation, validate


def schema_of(*columns: ColumnSchema) -> Schema:
    return Schema(columns=list(columns), row_count=0)


def only(result: ValidationResult, rule: str) -> Violation:
    [violation] = [v for v in result.violations if v.rule == rule]
    return violation


def test_frame_that_fits_its_inferred_schema_is_valid() -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "x": [0.5, 1.5, np.nan], "plan": ["a", "b", "a"]})

    result = validate(df, infer_schema(df))

    assert result.valid is True
    assert result.violations == []
    assert result.to_dict() == {"row_count": 3, "violations": [], "valid": True}


def test_missing_and_unexpected_columns_are_named() -> None:
    schema = schema_of(
        ColumnSchema(name="a", type="integer"), ColumnSchema(name="b", type="float")
    )

    result = validate(pd.DataFrame({"a": [1, 2], "extra": ["x", "y"]}), schema)

    assert result.valid is False
    assert [(v.column, v.rule, v.count) for v in result.violations] == [
        ("b", "missing_column", 2),
        ("extra", "unexpected_column", 2),
    ]


def test_strings_in_numeric_column_count_as_type_mismatch_not_range() -> None:
    schema = schema_of(ColumnSchema(name="x", type="float", min=0.0, max=10.0))
    df = pd.DataFrame({"x": [1.0, "n/a", 3, "oops", None, 50]}, index=list("abcdef"))

    result = validate(df, schema)

    mismatch = only(result, "type_mismatch")
    assert mismatch.count == 2
    assert [(e.index, e.value) for e in mismatch.examples] == [("b", "n/a"), ("d", "oops")]
    assert only(result, "above_max").count == 1
    assert [r.rule for r in result.violations] == ["type_mismatch", "above_max"]


def test_fractions_in_integer_column_are_type_mismatches() -> None:
    schema = schema_of(ColumnSchema(name="n", type="integer"))

    result = validate(pd.DataFrame({"n": [1.0, 2.5, 3.0]}), schema)

    assert only(result, "type_mismatch").count == 1
    assert only(result, "type_mismatch").examples[0].value == 2.5


def test_nulls_in_non_nullable_column() -> None:
    schema = schema_of(ColumnSchema(name="x", type="float", nullable=False))

    result = validate(pd.DataFrame({"x": [1.0, np.nan, np.nan, 4.0]}), schema)

    violation = only(result, "not_nullable")
    assert violation.count == 2
    assert [(e.index, e.value) for e in violation.examples] == [(1, None), (2, None)]


def test_below_min_and_above_max_with_at_most_five_examples() -> None:
    schema = schema_of(ColumnSchema(name="x", type="integer", min=0, max=100))
    values = [-1, -2, 5, 101, 102, 103, 104, 105, 106, 107]

    result = validate(pd.DataFrame({"x": values}), schema)

    assert only(result, "below_min").count == 2
    above = only(result, "above_max")
    assert above.count == 7
    assert [e.value for e in above.examples] == [101, 102, 103, 104, 105]


def test_datetime_range_and_unparsable_dates() -> None:
    schema = schema_of(
        ColumnSchema(
            name="t", type="datetime", min="2024-01-01T00:00:00", max="2024-12-31T00:00:00"
        )
    )
    df = pd.DataFrame({"t": ["2023-06-01", "2024-06-01", "not a date", "2025-02-01", None]})

    result = validate(df, schema)

    assert [(v.rule, v.count) for v in result.violations] == [
        ("type_mismatch", 1),
        ("below_min", 1),
        ("above_max", 1),
    ]


def test_datetime_bounds_compare_with_time_zone_aware_values() -> None:
    schema = schema_of(ColumnSchema(name="t", type="datetime", max="2024-01-01T00:00:00"))
    df = pd.DataFrame({"t": pd.to_datetime(["2023-01-01", "2025-01-01"]).tz_localize("UTC")})

    assert only(validate(df, schema), "above_max").count == 1


def test_value_not_in_allowed_set() -> None:
    schema = schema_of(ColumnSchema(name="plan", type="categorical", allowed_values=["a", "b"]))

    result = validate(pd.DataFrame({"plan": ["a", "c", None, "d", "c"]}), schema)

    violation = only(result, "not_allowed")
    assert violation.count == 3
    assert [e.value for e in violation.examples] == ["c", "d", "c"]


def test_duplicates_in_unique_column_count_repeats_and_ignore_nulls() -> None:
    schema = schema_of(ColumnSchema(name="id", type="integer", unique=True))

    result = validate(pd.DataFrame({"id": [1, 2, 2, None, None, 1, 2]}), schema)

    violation = only(result, "duplicate")
    assert violation.count == 3
    assert [e.index for e in violation.examples] == [2, 5, 6]


def test_non_boolean_values_in_boolean_column() -> None:
    schema = schema_of(ColumnSchema(name="b", type="boolean"))

    result = validate(pd.DataFrame({"b": [True, "yes", False, None]}), schema)

    assert only(result, "type_mismatch").examples[0].value == "yes"


def test_empty_frame_reports_only_structural_rules() -> None:
    schema = schema_of(
        ColumnSchema(name="a", type="integer", nullable=False, min=0, unique=True),
        ColumnSchema(name="b", type="string"),
    )

    result = validate(pd.DataFrame({"a": pd.Series([], dtype="int64")}), schema)

    assert [(v.column, v.rule, v.count) for v in result.violations] == [("b", "missing_column", 0)]


def test_all_null_column_breaks_only_nullability() -> None:
    schema = schema_of(
        ColumnSchema(name="x", type="float", nullable=False, min=0.0, max=1.0, unique=True)
    )

    result = validate(pd.DataFrame({"x": [None, None, None]}), schema)

    assert [(v.rule, v.count) for v in result.violations] == [("not_nullable", 3)]


def test_repeated_index_labels_still_line_up() -> None:
    schema = schema_of(ColumnSchema(name="x", type="integer", max=5))
    df = pd.DataFrame({"x": [1, 9, 2]}, index=[0, 0, 0])

    assert only(validate(df, schema), "above_max").count == 1


def test_result_is_json_and_frozen() -> None:
    schema = schema_of(ColumnSchema(name="t", type="datetime", max="2024-01-01T00:00:00"))
    df = pd.DataFrame({"t": pd.to_datetime(["2025-01-01"])}, index=[pd.Timestamp("2025-01-01")])

    result = validate(df, schema)
    document = json.loads(json.dumps(result.to_dict()))

    assert document["valid"] is False
    assert document["violations"][0]["examples"] == [
        {"index": "2025-01-01 00:00:00", "value": "2025-01-01T00:00:00"}
    ]
    with pytest.raises(ValueError, match="frozen"):
        result.row_count = 2  # type: ignore[misc]


def test_public_names_resolve_to_this_module_when_used_first() -> None:
    code = (
        "import modelcycle as mc\n"
        "public = mc.quality.validate, mc.quality.ValidationResult\n"
        "from modelcycle.quality._validate import ValidationResult, validate\n"
        "assert public == (validate, ValidationResult), public"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_non_frame_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="DataFrame"):
        validate([[1]], schema_of())  # type: ignore[arg-type]


def test_non_schema_is_invalid_input_pointing_at_from_dict() -> None:
    schema = infer_schema(pd.DataFrame({"a": [1]}))

    with pytest.raises(InvalidInput, match="from_dict"):
        validate(pd.DataFrame({"a": [1]}), schema.to_dict())  # type: ignore[arg-type]


def test_public_function_survives_importing_its_module_first() -> None:
    code = (
        "import modelcycle.quality._validate\n"
        "import modelcycle as mc\n"
        "assert callable(mc.quality.validate), mc.quality.validate"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_numbers_and_mixed_offsets_in_a_datetime_column_never_raise() -> None:
    schema = schema_of(ColumnSchema(name="t", type="datetime", min="2024-01-01T00:00:00"))
    df = pd.DataFrame({"t": ["2024-01-01T00:00:00+01:00", "2024-06-01T00:00:00Z", 5, "x"]})

    result = validate(df, schema)

    assert [(v.rule, v.count) for v in result.violations] == [
        ("type_mismatch", 2),
        ("below_min", 1),  # midnight at +01:00 is 23:00 UTC the day before
    ]


def test_unhashable_cells_are_compared_as_text() -> None:
    schema = schema_of(ColumnSchema(name="s", type="string", unique=True))

    result = validate(pd.DataFrame({"s": [[1], [1], {"a": 2}, None]}), schema)

    assert [(v.rule, v.count) for v in result.violations] == [("duplicate", 1)]
