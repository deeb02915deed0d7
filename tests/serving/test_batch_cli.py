"""``modelcycle predict``: summary line and ``--json``, registry URIs, exit codes of errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from modelcycle.cli.main import app
from modelcycle.config import reset_settings_cache
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from tests.serving.test_batch import (
    Model,
    customers,
    expected,
    leftovers,
    save_classifier,
    write_csv,
    write_parquet,
)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return save_classifier(tmp_path_factory.mktemp("batch-cli-models"))


def predict(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["predict", *map(str, args)], env={"COLUMNS": "200"})


def test_summary_line_and_output(classifier: Model, tmp_path: Path) -> None:
    frame = customers(250)
    source = write_parquet(frame, tmp_path / "in.parquet")

    result = predict(classifier.path, source, tmp_path / "out.parquet", "--chunk-rows", "100")

    assert result.exit_code == 0, result.output
    assert "Scored 250 rows in 1 file in" in result.stdout and "rows/s" in result.stdout
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert scored["prediction"].tolist() == expected(classifier, frame)


def test_json_summary_with_proba_keep_and_csv(classifier: Model, tmp_path: Path) -> None:
    frame = customers(40)
    source = write_csv(frame, tmp_path / "in.csv")

    result = predict(
        classifier.path, source, tmp_path / "out.csv",
        "--proba", "--keep", "customer_id", "--keep", "age", "--output-column", "churn", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["rows"], document["files"], document["model"]) == (
        40,
        1,
        str(classifier.path),
    )
    assert document["outputs"] == [str(tmp_path / "out.csv")] and document["rows_per_second"] > 0
    scored = pd.read_csv(tmp_path / "out.csv")
    assert list(scored.columns) == ["customer_id", "age", "churn", "proba_churn", "proba_stay"]
    assert scored["churn"].tolist() == expected(classifier, frame)


def test_registry_uri(classifier: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelcycle as mc

    monkeypatch.setenv("MODELCYCLE_URI", str(tmp_path / "home"))
    reset_settings_cache()
    mc.registry.register_model(classifier.path, "churn")
    source = write_parquet(customers(30), tmp_path / "in.parquet")

    result = predict("models:/churn/1", source, tmp_path / "out.parquet", "--json")
    missing = predict("models:/churn/2", source, tmp_path / "other.parquet")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 30
    assert missing.exit_code == NotFound.exit_code and "Not found" in missing.stderr


def test_errors_exit_with_their_code_and_write_nothing(classifier: Model, tmp_path: Path) -> None:
    source = write_parquet(customers(30).drop(columns="income"), tmp_path / "bad.parquet")
    good = write_parquet(customers(30), tmp_path / "good.parquet")
    (tmp_path / "taken.parquet").write_bytes(b"keep me")

    bad = predict(classifier.path, source, tmp_path / "out.parquet")
    taken = predict(classifier.path, good, tmp_path / "taken.parquet")
    bad_format = predict(classifier.path, good, tmp_path / "x.parquet", "--format", "xlsx")
    replaced = predict(classifier.path, good, tmp_path / "taken.parquet", "--overwrite")

    assert bad.exit_code == InvalidInput.exit_code
    assert "missing column 'income'" in bad.stderr and "bad.parquet" in bad.stderr
    assert not (tmp_path / "out.parquet").exists()
    assert taken.exit_code == AlreadyExists.exit_code and "--overwrite" in taken.stderr
    assert (
        bad_format.exit_code == InvalidInput.exit_code
        and "unknown output format" in bad_format.stderr
    )
    assert replaced.exit_code == 0, replaced.output
    assert len(pd.read_parquet(tmp_path / "taken.parquet")) == 30
    assert leftovers(tmp_path) == []


def test_help_lists_every_option() -> None:
    result = CliRunner().invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    for option in (
        "--proba", "--chunk-rows", "--keep", "--output-column", "--format", "--overwrite",
        "--trusted", "--dask", "--json", "MODEL_URI", "INPUT", "OUTPUT",
    ):  # fmt: skip
        assert option in result.output, option
