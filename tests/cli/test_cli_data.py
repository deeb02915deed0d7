"""``modelcycle data …`` and ``modelcycle lineage``: JSON shapes, tables, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import Result

import modelcycle as mc
from modelcycle.data import _fluent

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def close_data_services() -> Iterator[None]:
    yield
    _fluent.close_all()


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("age,plan\n31,a\n45,b\n27,a\n")
    return path


def test_add_then_readd(invoke: Invoke, table_file: Path) -> None:
    first = invoke("data", "add", str(table_file), "--name", "churn", "--description", "v1")
    again = invoke("data", "add", str(table_file), "--name", "churn", "--json")

    assert first.exit_code == 0, first.stderr
    assert "Added churn@1: 1 file" in first.stdout and "3 rows" in first.stdout
    assert again.exit_code == 0, again.stderr
    document = json.loads(again.stdout)
    assert (document["version"], document["created"], document["row_count"]) == (1, False, 3)
    assert [c["name"] for c in document["schema"]["columns"]] == ["age", "plan"]


def test_list_show_and_diff(invoke: Invoke, table_file: Path, tmp_path: Path) -> None:
    invoke("data", "add", str(table_file), "--name", "churn")
    table_file.write_text("age,plan,score\n31,a,0.5\n45,b,0.7\n")
    second = invoke("data", "add", str(table_file), "-n", "churn", "--parent", "churn@1")
    assert second.exit_code == 0, second.stderr

    datasets = json.loads(invoke("data", "list", "--json").stdout)["datasets"]
    versions = json.loads(invoke("data", "list", "churn", "--json").stdout)["versions"]
    shown = json.loads(invoke("data", "show", "churn@2", "--json").stdout)
    diff = json.loads(invoke("data", "diff", "churn@1", "churn@2", "--json").stdout)

    assert [(d["name"], d["latest_version"]) for d in datasets] == [("churn", 2)]
    assert [v["version"] for v in versions] == [1, 2]
    assert shown["parents"] == ["churn@1"] and shown["files"][0]["path"] == "train.csv"
    assert diff["changed"] == ["train.csv"]
    assert (diff["row_count_before"], diff["row_count_after"]) == (3, 2)
    assert {c["column"]: c["change"] for c in diff["columns"]}["score"] == "added"
    for args in (("data", "list"), ("data", "list", "churn"), ("data", "show", "churn"),
                 ("data", "diff", "churn@1", "churn@2")):  # fmt: skip
        result = invoke(*args)
        assert result.exit_code == 0, result.stderr
        assert "churn" in result.stdout


def test_checkout(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "a.bin").write_bytes(b"\x00\x01")
    invoke("data", "add", str(tmp_path / "src"), "--name", "blobs")

    result = invoke("data", "checkout", "blobs@1", str(tmp_path / "out"))

    assert result.exit_code == 0, result.stderr
    assert "Checked out blobs@1" in result.stdout
    assert (tmp_path / "out" / "sub" / "a.bin").read_bytes() == b"\x00\x01"
    again = invoke("data", "checkout", "blobs@1", str(tmp_path / "out"))
    assert again.exit_code == 4 and "Already exists" in again.stderr


def test_errors_have_their_exit_codes(invoke: Invoke, tmp_path: Path) -> None:
    missing = invoke("data", "add", str(tmp_path / "nope.csv"), "--name", "x")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n")
    ragged = invoke("data", "add", str(tmp_path / "ragged.csv"), "--name", "x")
    unknown = invoke("data", "show", "ghost@1")
    malformed = invoke("data", "show", "ghost@zero")

    assert (missing.exit_code, ragged.exit_code) == (3, 2)
    assert "ragged.csv" in ragged.stderr
    assert (unknown.exit_code, malformed.exit_code) == (3, 2)


def test_lineage(invoke: Invoke) -> None:
    raw = mc.data.add(pd.DataFrame({"x": [1, 2]}), name="raw")
    train = mc.data.add(pd.DataFrame({"x": [1]}), name="train", parents=[raw.ref])
    with mc.start_run(experiment="e") as run:
        run.log_input(train, role="train")

    graph = json.loads(invoke("lineage", "train@1", "--json").stdout)
    by_run = invoke("lineage", run.id)
    human = invoke("lineage", "train")

    assert graph["root"] == "train@1"
    assert {(e["source"], e["target"], e["kind"]) for e in graph["edges"]} == {
        ("raw@1", "train@1", "derived"),
        ("train@1", run.id, "input"),
    }
    assert by_run.exit_code == 0 and "data train@1 [train]" in by_run.stdout
    assert human.exit_code == 0 and "came from" in human.stdout and run.id in human.stdout
    assert invoke("lineage", "nothing-here").exit_code == 3
