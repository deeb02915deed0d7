"""Signatures: inference from examples, and enforcement with errors that name the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from modelcycle.errors import InvalidInput
from modelcycle.registry.signature import ColumnSpec, Signature, infer_signature, to_frame


@pytest.fixture
def signature() -> Signature:
    return Signature(
        inputs=[
            ColumnSpec(name="age", dtype="int64", nullable=False),
            ColumnSpec(name="income", dtype="float64", nullable=False),
            ColumnSpec(name="city", dtype="string", nullable=True),
        ]
    )


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"age": [31, 40], "income": [1.5, 2.5], "city": pd.Series(["Oslo", None], dtype=object)}
    )


def test_infer_from_dataframe_records_names_dtypes_and_nulls() -> None:
    frame = pd.DataFrame(
        {
            "i": np.array([1, 2], dtype="int32"),
            "f": [1.0, np.nan],
            "b": [True, False],
            "s": ["a", "b"],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02"]).astype("datetime64[ns]"),
            "c": pd.Categorical(["x", "y"]),
            "n": pd.array([1, None], dtype="Int64"),
        }
    )
    sig = infer_signature(frame)
    assert [(c.name, c.dtype, c.nullable) for c in sig.inputs] == [
        ("i", "int32", False),
        ("f", "float64", True),
        ("b", "bool", False),
        ("s", "string", False),
        ("t", "datetime64[ns]", False),
        ("c", "category", False),
        ("n", "int64", True),
    ]
    assert sig.outputs is None


def test_infer_from_ndarray_names_columns_by_position() -> None:
    sig = infer_signature(np.zeros((3, 2)), np.array([0, 1, 1]))
    assert [(c.name, c.dtype) for c in sig.inputs] == [("x0", "float64"), ("x1", "float64")]
    assert sig.outputs == [ColumnSpec(name="prediction", dtype="int64", nullable=False)]


def test_infer_from_dict_of_columns() -> None:
    sig = infer_signature({"a": [1, 2], "b": ["u", None]})
    assert [(c.name, c.dtype, c.nullable) for c in sig.inputs] == [
        ("a", "int64", False),
        ("b", "string", True),
    ]


def test_infer_refuses_non_tabular_input() -> None:
    with pytest.raises(InvalidInput, match="cannot read a int"):
        infer_signature(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="2-D"):
        infer_signature(np.zeros((2, 2, 2)))
    with pytest.raises(InvalidInput, match="no columns"):
        infer_signature({})


def test_signature_round_trips_through_json(signature: Signature) -> None:
    assert Signature.model_validate_json(signature.model_dump_json()) == signature


def test_signature_rejects_unknown_dtype_and_duplicate_names() -> None:
    with pytest.raises(ValidationError, match="unknown dtype"):
        ColumnSpec(name="a", dtype="complex128", nullable=False)
    with pytest.raises(ValidationError, match="appears twice"):
        Signature(inputs=[ColumnSpec(name="a", dtype="int64")] * 2)


def test_enforce_orders_columns_and_applies_safe_casts(signature: Signature) -> None:
    frame = pd.DataFrame(
        {
            "city": ["Oslo", "Rome"],
            "income": np.array([1, 2], dtype="int32"),  # int → float
            "age": np.array([3, 4], dtype="int32"),  # int32 → int64
        }
    )
    out = signature.enforce(frame)
    assert out.columns.tolist() == ["age", "income", "city"]
    assert out["age"].dtype == np.int64
    assert out["income"].dtype == np.float64
    whole = signature.enforce(_frame().assign(age=[31.0, 40.0]))  # whole floats → int
    assert whole["age"].tolist() == [31, 40]


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        (lambda f: f.drop(columns="income"), "income", "missing column 'income'"),
        (lambda f: f.assign(extra=1), "extra", "unexpected column 'extra'"),
        (lambda f: f.assign(income=["a", "b"]), "income", "expects float64 but holds string"),
        (lambda f: f.assign(age=[1.5, 2.0]), "age", "expects int64 but holds the fraction"),
        (lambda f: f.assign(age=[True, False]), "age", "expects int64 but holds bool"),
        (lambda f: f.assign(income=[1.0, None]), "income", "holds 1 null value"),
        (lambda f: f.assign(city=[1, 2]), "city", "expects string but holds int64"),
    ],
)
def test_enforce_errors_name_the_column(
    signature: Signature, change: object, column: str, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words) as caught:
        signature.enforce(change(_frame()))  # type: ignore[operator]
    assert caught.value.details["column"] == column
    assert column in caught.value.message


def test_enforce_allows_nulls_where_nullable(signature: Signature) -> None:
    assert signature.enforce(_frame())["city"].isna().tolist() == [False, True]


def test_enforce_int_out_of_range() -> None:
    sig = Signature(inputs=[ColumnSpec(name="small", dtype="int8")])
    with pytest.raises(InvalidInput, match="outside") as caught:
        sig.enforce(pd.DataFrame({"small": [1000]}))
    assert caught.value.details["column"] == "small"


def test_enforce_parses_iso_datetimes_and_refuses_garbage() -> None:
    sig = Signature(inputs=[ColumnSpec(name="when", dtype="datetime64[ns]")])
    out = sig.enforce(pd.DataFrame({"when": ["2024-05-01T10:00:00"]}))
    assert out["when"].dtype == "datetime64[ns]"
    with pytest.raises(InvalidInput, match="'when'.*ISO 8601"):
        sig.enforce(pd.DataFrame({"when": ["not a date"]}))


def test_enforce_numeric_object_column_is_accepted() -> None:
    sig = Signature(inputs=[ColumnSpec(name="x", dtype="float64")])
    out = sig.enforce(pd.DataFrame({"x": pd.Series([1, 2.5], dtype=object)}))
    assert out["x"].tolist() == [1.0, 2.5]


def test_to_frame_reads_records_rows_and_scalars(signature: Signature) -> None:
    records = to_frame([{"age": 1, "income": 2.0, "city": "x"}], signature)
    assert records.columns.tolist() == ["age", "income", "city"]
    rows = to_frame([[1, 2.0, "x"]], signature)
    assert signature.enforce(rows)["city"].tolist() == ["x"]
    scalars = to_frame({"age": 1, "income": 2.0, "city": "x"})
    assert len(scalars) == 1
    with pytest.raises(InvalidInput, match="different lengths"):
        to_frame([[1, 2.0, "x"], [1]], signature)
    with pytest.raises(InvalidInput, match="has 2 columns but the model's signature takes 3"):
        to_frame(np.zeros((1, 2)), signature)
