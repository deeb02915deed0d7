"""Batch scoring on a Dask cluster: a ``LocalCluster`` on loopback, reached by its TCP address.

The workers run as threads of the test process (``processes=False``): spawned worker processes
would start their own dashboards and warn about ports in use, which ``filterwarnings = error``
turns into failures. The scheduler is still reached over TCP on 127.0.0.1, as a remote one would.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from modelcycle.cli.main import app
from modelcycle.errors import InvalidInput, StoreUnavailable
from modelcycle.serving import _batch_dask
from modelcycle.serving.batch import score_files
from tests.serving.test_batch import (
    Model,
    customers,
    expected,
    leftovers,
    save_classifier,
    write_csv,
    write_parquet,
)

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return save_classifier(tmp_path_factory.mktemp("batch-dask-models"))


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2,
        processes=False,
        threads_per_worker=1,
        protocol="tcp",
        host="127.0.0.1",
        # The scheduler's HTTP server (health, metrics) starts whatever this says: a free port,
        # not 8787, which a parallel test run or another program may hold.
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


def test_a_directory_on_the_cluster_equals_local_scoring(
    classifier: Model, scheduler: str, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    frames = {f"part-{i}.parquet": customers(120 + i, seed=i) for i in range(4)}
    for name, frame in frames.items():
        write_parquet(frame, source / ("nested/" if name.endswith("3.parquet") else "") / name)
    seen: list[int] = []

    result = score_files(
        classifier.path, source, tmp_path / "out", dask=scheduler, proba=True, chunk_rows=50,
        progress=lambda rows, total: seen.append(rows),
    )  # fmt: skip
    local = score_files(classifier.path, source, tmp_path / "local", proba=True)

    assert (result.rows, result.files) == (sum(len(f) for f in frames.values()), 4)
    assert sorted(seen) == sorted(len(f) for f in frames.values())
    for remote_path, local_path in zip(result.outputs, local.outputs, strict=True):
        assert remote_path.relative_to(tmp_path / "out") == local_path.relative_to(
            tmp_path / "local"
        )
        pd.testing.assert_frame_equal(pd.read_parquet(remote_path), pd.read_parquet(local_path))
    first = pd.read_parquet(tmp_path / "out/part-0.parquet")
    assert first["prediction"].tolist() == expected(classifier, frames["part-0.parquet"])
    assert [p.name for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")] == []


def test_a_registry_alias_is_pinned_and_verified_once_per_worker(
    classifier: Model, scheduler: str, mc_home: Path, tmp_path: Path
) -> None:
    import modelcycle as mc

    mc.registry.register_model(classifier.path, "churn")
    mc.registry.set_alias("churn", "champion", 1)
    source = tmp_path / "in"
    for i in range(3):
        write_csv(customers(30, seed=i), source / f"{i}.csv")
    _batch_dask._models.clear()

    result = score_files("models:/churn@champion", source, tmp_path / "out", dask=scheduler)

    assert result.rows == 90
    assert len(_batch_dask._models) == 1  # one load shared by the in-process workers
    (ref,) = _batch_dask._models
    assert ref.manifest_digest and Path(ref.directory).is_dir()


def test_a_failing_file_leaves_nothing_and_names_column_and_file(
    classifier: Model, scheduler: str, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    write_parquet(customers(40, 1), source / "a.parquet")
    frame = customers(40, 2)
    frame.loc[7, "income"] = None
    write_parquet(frame, source / "b.parquet")

    with pytest.raises(
        InvalidInput, match=r"column 'income' in .*b\.parquet' holds 1 null"
    ) as err:
        score_files(classifier.path, source, tmp_path / "out", dask=scheduler)

    assert err.value.details["column"] == "income"
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_a_missing_column_is_refused_before_tasks_are_sent(
    classifier: Model, scheduler: str, tmp_path: Path
) -> None:
    source = write_parquet(customers(10).drop(columns="age"), tmp_path / "in.parquet")

    with pytest.raises(InvalidInput, match=r"missing column 'age' in .*in\.parquet"):
        score_files(classifier.path, source, tmp_path / "out.parquet", dask=scheduler)
    with pytest.raises(InvalidInput, match="needs the model's URI or directory"):
        score_files(classifier.loaded, source, tmp_path / "out.parquet", dask=scheduler)
    assert leftovers(tmp_path) == []


def test_the_cli_runs_on_the_cluster(classifier: Model, scheduler: str, tmp_path: Path) -> None:
    source = write_parquet(customers(60), tmp_path / "in.parquet")

    result = CliRunner().invoke(
        app,
        ["predict", str(classifier.path), str(source), str(tmp_path / "o.parquet"),
         "--dask", scheduler, "--json"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 60
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 60


def test_an_unreachable_scheduler_is_store_unavailable(
    classifier: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(_batch_dask, "CONNECT_TIMEOUT_SECONDS", 1)
    source = write_parquet(customers(10), tmp_path / "in.parquet")

    with pytest.raises(StoreUnavailable, match="cannot reach the Dask scheduler"):
        score_files(
            classifier.path, source, tmp_path / "out.parquet", dask=f"dask://127.0.0.1:{port}"
        )
    assert not (tmp_path / "out.parquet").exists() and leftovers(tmp_path) == []


def test_workers_score_with_the_onnx_twin_when_asked(scheduler: str, tmp_path: Path) -> None:
    twin = save_classifier(tmp_path / "models", onnx=True)
    frame = customers(200)
    source = write_parquet(frame, tmp_path / "in.parquet")
    loaded: list[str] = []
    real = _batch_dask.load_verified

    def spy(ref: _batch_dask.ModelRef) -> object:
        loaded.append(ref.runtime)
        return real(ref)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_batch_dask, "load_verified", spy)
        score_files(twin.path, source, tmp_path / "out.parquet", dask=scheduler, runtime="onnx")
    assert pd.read_parquet(tmp_path / "out.parquet")["prediction"].tolist() == expected(
        twin, frame
    )
    assert loaded and set(loaded) == {"onnx"}
