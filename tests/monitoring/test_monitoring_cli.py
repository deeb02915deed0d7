"""``modelcycle monitor …``: JSON shapes, tables and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from predlog_helpers import DAY0, DAY_MS, MakeLogger, one_row
from typer.testing import CliRunner, Result

from modelcycle.cli.main import app
from modelcycle.config import reset_settings_cache
from modelcycle.store import current_store

Invoke = Callable[..., Result]


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("MODELCYCLE_URI", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    reset_settings_cache()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))


@pytest.fixture
def logged(invoke: Invoke, make_logger: MakeLogger) -> None:
    """Four one-row requests of "churn" over two days and one of "fraud"."""
    churn = make_logger(current_store(), "churn", flush_interval_s=3600)
    for i in range(4):
        churn.log(f"c{i}", "churn", 3, one_row(i), [i % 2], 2.5, DAY0 + (i // 2) * DAY_MS + i)
    churn.close()
    fraud = make_logger(current_store(), "fraud", flush_interval_s=3600)
    fraud.log("f0", "fraud", 1, {"amount": [12.5]}, [0.9], 1.0, DAY0)
    fraud.close()


@pytest.mark.usefixtures("logged")
def test_predictions_json_and_table(invoke: Invoke) -> None:
    everything = invoke("monitor", "predictions", "--json")
    churn_day2 = invoke(
        "monitor", "predictions", "-d", "churn", "--since", "2026-05-02", "--json", "--limit", "5"
    )
    table = invoke("monitor", "predictions", "--limit", "2")

    assert everything.exit_code == 0, everything.stderr
    rows = json.loads(everything.stdout)["predictions"]
    assert [r["request_id"] for r in rows] == ["c0", "f0", "c1", "c2", "c3"]
    assert rows[0]["time"].startswith("2026-05-01T00:00:00") and rows[0]["label"] is None
    assert rows[1]["amount"] == 12.5 and rows[0]["model_version"] == "3"
    assert [r["request_id"] for r in json.loads(churn_day2.stdout)["predictions"]] == ["c2", "c3"]
    assert table.exit_code == 0 and "c3" in table.stdout and "c0" not in table.stdout


@pytest.mark.usefixtures("logged")
def test_labels_from_csv_and_parquet_then_stats(invoke: Invoke, tmp_path: Path) -> None:
    csv = tmp_path / "truth.csv"
    csv.write_text("id,y\nc0,1\nc1,0\n")
    parquet = tmp_path / "truth.parquet"
    pd.DataFrame({"rid": ["f0"], "row": [0], "y": [1]}).to_parquet(parquet)

    from_csv = invoke(
        "monitor", "labels", str(csv), "--id-column", "id", "--label-column", "y", "--json"
    )
    from_parquet = invoke(
        "monitor", "labels", str(parquet), "--id-column", "rid", "--label-column", "y",
        "--row-column", "row", "--deployment", "fraud",
    )  # fmt: skip
    stats = invoke("monitor", "stats", "--json")
    shown = invoke("monitor", "stats", "--deployment", "churn")

    assert from_csv.exit_code == 0, from_csv.stderr
    assert json.loads(from_csv.stdout) == {"file": str(csv), "labelled": 2}
    assert from_parquet.exit_code == 0 and "Attached 1 labels" in from_parquet.stdout
    days = json.loads(stats.stdout)["days"]
    assert [(d["deployment"], d["day"], d["rows"], d["labelled_rows"]) for d in days] == [
        ("churn", "2026-05-01", 2, 2),
        ("churn", "2026-05-02", 2, 0),
        ("fraud", "2026-05-01", 1, 1),
    ]
    assert days[0]["labelled_fraction"] == 1.0 and days[0]["model_versions"] == "churn:3"
    assert shown.exit_code == 0 and "2026-05-02" in shown.stdout and "fraud" not in shown.stdout


def test_empty_log(invoke: Invoke) -> None:
    assert json.loads(invoke("monitor", "predictions", "--json").stdout) == {"predictions": []}
    assert json.loads(invoke("monitor", "stats", "--json").stdout) == {"days": []}
    assert "No predictions" in invoke("monitor", "stats").stdout


def test_errors_exit_with_their_codes(invoke: Invoke, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("id,y\na,1\nb,\n")
    blank_id = tmp_path / "blank.csv"
    blank_id.write_text("id,y\n,1\n")
    text = tmp_path / "labels.json"
    text.write_text("{}")

    missing_file = invoke(
        "monitor", "labels", "nope.csv", "--id-column", "id", "--label-column", "y"
    )
    missing_column = invoke(
        "monitor", "labels", str(labels), "--id-column", "rid", "--label-column", "y"
    )
    missing_label = invoke(
        "monitor", "labels", str(labels), "--id-column", "id", "--label-column", "y"
    )
    no_id = invoke("monitor", "labels", str(blank_id), "--id-column", "id", "--label-column", "y")
    wrong_format = invoke(
        "monitor", "labels", str(text), "--id-column", "id", "--label-column", "y"
    )
    bad_time = invoke("monitor", "predictions", "--since", "last tuesday")
    bad_limit = invoke("monitor", "predictions", "--limit", "0")

    assert missing_file.exit_code == 3 and "nope.csv" in missing_file.stderr
    assert missing_column.exit_code == 2 and "'rid'" in missing_column.stderr
    assert missing_label.exit_code == 2 and "labels[1]" in missing_label.stderr
    assert no_id.exit_code == 2 and "row 0" in no_id.stderr
    assert wrong_format.exit_code == 2 and "Parquet" in wrong_format.stderr
    assert bad_time.exit_code == 2 and "ISO 8601" in bad_time.stderr
    assert bad_limit.exit_code == 2


def test_help_of_every_command(invoke: Invoke) -> None:
    for command in ("predictions", "labels", "stats"):
        result = invoke("monitor", command, "--help")
        assert result.exit_code == 0 and "--json" in result.stdout
