"""``modelcycle quality drift|profile|schema|validate``: output for people and machines, the exit
codes CI relies on (1 for drift or violations), and bad files (missing → 3, unreadable → 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import Result

Invoke = Callable[..., Result]


def write(path: Path, df: pd.DataFrame) -> Path:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


def sample(rows: int = 400, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 5, rows),
            "income": rng.normal(50_000 + shift * 10_000, 8_000, rows),
            "plan": rng.choice(np.array(["free", "pro"]), rows),
        }
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    df = pd.DataFrame(
        {"id": [1, 2, 3, 3], "x": [1.0, None, 2.5, 2.5], "plan": ["a", "b", "a", "a"]}
    )
    return write(tmp_path / "data.parquet", df)


def test_drift_exits_1_when_drift_is_detected(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    current = write(tmp_path / "cur.parquet", sample(shift=3.0, seed=1))
    html = tmp_path / "report" / "drift.html"

    result = invoke("quality", "drift", str(reference), str(current), "--html", str(html))

    assert result.exit_code == 1, result.stderr
    assert "Drift detected" in result.stdout
    assert "age" in result.stdout and "income" in result.stdout
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_drift_exits_0_without_drift_and_json_is_only_json(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    current = write(tmp_path / "cur.csv", sample(seed=1))

    result = invoke("quality", "drift", str(reference), str(current), "--json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["dataset_drift"] is False
    assert [c["column"] for c in document["columns"]] == ["age", "income", "plan"]


def test_drift_passes_columns_tests_and_threshold(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    current = write(tmp_path / "cur.parquet", sample(seed=1))
    args = ["quality", "drift", str(reference), str(current), "--json"]

    result = invoke(*args, "-c", "age", "-c", "plan", "--test", "age=psi", "--threshold", "0.9")

    assert result.exit_code == 0, result.stderr
    columns = {c["column"]: c for c in json.loads(result.stdout)["columns"]}
    assert sorted(columns) == ["age", "plan"]
    assert columns["age"]["test"] == "psi"
    assert columns["age"]["threshold"] == 0.9


def test_drift_reports_columns_only_one_frame_has(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    current = write(tmp_path / "cur.parquet", sample(seed=1).rename(columns={"plan": "tier"}))

    result = invoke("quality", "drift", str(reference), str(current))

    assert result.exit_code == 0, result.stderr
    assert "Only in the reference: plan" in result.stdout
    assert "Only in the current: tier" in result.stdout


@pytest.mark.parametrize(
    ("option", "message"),
    [("age=", "COLUMN=NAME"), ("nope", "nope"), ("ks,psi", "ks,psi")],
)
def test_drift_bad_test_option_exits_2(
    invoke: Invoke, tmp_path: Path, option: str, message: str
) -> None:
    reference = write(tmp_path / "ref.parquet", sample())

    result = invoke("quality", "drift", str(reference), str(reference), "--test", option)

    assert result.exit_code == 2
    assert "Invalid input" in result.stderr and message in result.stderr


def test_bare_test_name_mixed_with_per_column_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    args = ["quality", "drift", str(reference), str(reference), "-t", "psi", "-t", "age=ks"]

    result = invoke(*args)

    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_drift_missing_file_exits_3_naming_it(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())

    result = invoke("quality", "drift", str(reference), str(tmp_path / "absent.parquet"))

    assert result.exit_code == 3
    assert "Not found" in result.stderr and "absent.parquet" in result.stderr


def test_truncated_parquet_exits_2_naming_it(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(reference.read_bytes()[:200])

    for args in (("drift", str(reference), str(broken)), ("profile", str(broken))):
        result = invoke("quality", *args)

        assert result.exit_code == 2, args
        assert "Invalid input" in result.stderr and "broken.parquet" in result.stderr


def test_profile_prints_figures_and_writes_html(
    invoke: Invoke, data: Path, tmp_path: Path
) -> None:
    html = tmp_path / "profile.html"

    result = invoke("quality", "profile", str(data), "--html", str(html))

    assert result.exit_code == 0, result.stderr
    assert "4 rows, 3 columns, 1 duplicate rows, 1 missing cells" in result.stdout
    assert "<svg" in html.read_text(encoding="utf-8")


def test_profile_json(invoke: Invoke, data: Path) -> None:
    result = invoke("quality", "profile", str(data), "--json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["dataset"]["duplicate_rows"] == 1
    assert [c["name"] for c in document["columns"]] == ["id", "x", "plan"]


def test_empty_file_profiles_to_zero_rows(invoke: Invoke, tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.parquet", pd.DataFrame({"a": pd.Series([], dtype=float)}))

    result = invoke("quality", "profile", str(empty), "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["dataset"]["rows"] == 0


def test_schema_then_validate_round_trip(invoke: Invoke, data: Path, tmp_path: Path) -> None:
    inferred = invoke("quality", "schema", str(data), "--json")
    assert inferred.exit_code == 0, inferred.stderr
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(inferred.stdout, encoding="utf-8")

    same = invoke("quality", "validate", str(data), "--schema", str(schema_file))
    assert same.exit_code == 0, same.stderr
    assert "valid (4 rows)" in same.stdout

    bad = write(
        tmp_path / "bad.csv",
        pd.DataFrame({"id": [1, 9], "x": ["oops", "2"], "plan": ["a", "z"], "new": [0, 0]}),
    )
    result = invoke("quality", "validate", str(bad), "--schema", str(schema_file), "--json")

    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["valid"] is False
    rules = {(v["column"], v["rule"]) for v in document["violations"]}
    assert {
        ("id", "above_max"),
        ("x", "type_mismatch"),
        ("plan", "not_allowed"),
        ("new", "unexpected_column"),
    } <= rules


def test_validate_prints_violations_for_people(invoke: Invoke, data: Path, tmp_path: Path) -> None:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(
        json.dumps({"columns": [{"name": "id", "type": "integer", "max": 2}]}), encoding="utf-8"
    )

    result = invoke("quality", "validate", str(data), "--schema", str(schema_file))

    assert result.exit_code == 1
    for text in ("above_max", "unexpected_column", "plan", "2: 3"):
        assert text in result.stdout


def test_schema_prints_a_table(invoke: Invoke, data: Path) -> None:
    result = invoke("quality", "schema", str(data))

    assert result.exit_code == 0, result.stderr
    for text in ("4 rows", "integer", "float", "categorical", "a, b"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (None, 3, "no schema file"),
        ("{not json", 2, "not a JSON file"),
        ('{"columns": [{"name": "a", "type": "complex"}]}', 2, "columns.0.type"),
    ],
)
def test_validate_bad_schema_file(
    invoke: Invoke, data: Path, tmp_path: Path, content: str | None, code: int, message: str
) -> None:
    schema_file = tmp_path / "schema.json"
    if content is not None:
        schema_file.write_text(content, encoding="utf-8")

    result = invoke("quality", "validate", str(data), "--schema", str(schema_file))

    assert result.exit_code == code
    assert message in result.stderr and "schema.json" in result.stderr


def test_unknown_file_type_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")

    result = invoke("quality", "schema", str(text))

    assert result.exit_code == 2
    assert "notes.txt" in result.stderr


def test_drift_of_an_empty_file_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    empty = write(tmp_path / "empty.parquet", sample().iloc[:0])

    result = invoke("quality", "drift", str(reference), str(empty))

    assert result.exit_code == 2
    assert "Invalid input" in result.stderr


def test_drift_column_missing_from_a_file_is_named(invoke: Invoke, tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.parquet", sample())
    current = write(tmp_path / "cur.parquet", sample(seed=1).drop(columns=["plan"]))

    result = invoke("quality", "drift", str(reference), str(current), "--column", "plan")

    assert result.exit_code == 2
    assert "plan" in result.stderr
