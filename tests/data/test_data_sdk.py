"""``mc.data``: the module-level SDK, its records' methods, and lineage with tracked runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import modelcycle as mc
from modelcycle.data import _fluent
from modelcycle.errors import InvalidInput


@pytest.fixture(autouse=True)
def close_data_services() -> Iterator[None]:
    yield
    _fluent.close_all()


def test_add_get_list_checkout(mc_home: Path, tmp_path: Path) -> None:
    frame = pd.DataFrame({"tenure": [1, 5, 9], "churned": [True, False, False]})
    frame.to_parquet(tmp_path / "train.parquet")

    ds = mc.data.add(tmp_path / "train.parquet", name="churn-train")

    assert (ds.name, ds.version, len(ds.hash)) == ("churn-train", 1, 64)
    assert ds.schema is not None and ds.row_count == 3
    pd.testing.assert_frame_equal(mc.data.get("churn-train@1").to_pandas(), frame)
    assert mc.data.get("churn-train").to_arrow().num_rows == 3
    [dataset] = mc.data.list()
    assert (dataset.name, dataset.latest_version, dataset.version_count) == ("churn-train", 1, 1)
    assert [v.ref for v in mc.data.list("churn-train")] == ["churn-train@1"]
    out = ds.checkout(tmp_path / "restored")
    assert (out / "train.parquet").read_bytes() == (tmp_path / "train.parquet").read_bytes()
    assert mc.data.checkout("churn-train@1", tmp_path / "again").is_dir()


def test_to_pandas_of_a_directory_is_invalid_input(mc_home: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("a")
    with pytest.raises(InvalidInput, match="not a table"):
        mc.data.add(tmp_path / "d", name="docs").to_pandas()


def test_lineage_both_ways_with_runs(mc_home: Path) -> None:
    raw = mc.data.add(pd.DataFrame({"x": [1, 2, 3]}), name="raw")
    train = mc.data.add(pd.DataFrame({"x": [1, 2]}), name="train", parents=[raw.ref])
    test = mc.data.add(pd.DataFrame({"x": [3]}), name="test", parents=[raw.ref])
    with mc.start_run(experiment="churn") as run:
        run.log_input(train, role="train")
        run.log_input(test, role="eval")

    of_train = mc.data.lineage(train)
    of_run = mc.data.lineage(run.id)
    of_raw = mc.data.lineage("raw@1")

    assert of_train.upstream() == ["raw@1"]
    assert of_train.downstream() == [run.id]
    [edge] = [e for e in of_train.edges if e.target == run.id]
    assert (edge.kind, edge.role) == ("input", "train")
    assert sorted(of_run.upstream()) == ["test@1", "train@1"]
    assert {n.id for n in of_run.nodes} == {run.id, "train@1", "test@1", "raw@1"}
    assert {n.id for n in of_raw.nodes if n.kind == "run"} == {run.id}
    assert mc.data.lineage(mc.get_run(run.id)).root == run.id


def test_lineage_of_a_run_reading_an_unknown_dataset(mc_home: Path) -> None:
    with mc.start_run() as run:
        run.log_input("elsewhere@4", role="train")

    graph = mc.data.lineage(run.id)

    assert graph.upstream() == ["elsewhere@4"]
    assert [n.version for n in graph.nodes if n.id == "elsewhere@4"] == [None]


def test_import_is_light() -> None:
    code = (
        "import sys, modelcycle.data, modelcycle.data.entities; "
        "print(any(m in sys.modules for m in ('sqlalchemy', 'pandas', 'pyarrow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert sorted(dir(mc.data)) == sorted(mc.data.__all__)
