"""Dataset versions through a live ``modelcycle server``: ``mc.data`` reads over HTTP give the same
records as the store, names with ``/`` route, and bad references get the API's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from live_server import LiveServer

import modelcycle as mc
from modelcycle.client import HttpDataService
from modelcycle.config import config_context
from modelcycle.data._fluent import data_service
from modelcycle.data.service import DataService
from modelcycle.errors import AlreadyExists, IntegrityError, InvalidInput, NotFound


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[DataService]:
    """The SDK pointed at the live server; the service over its store to add versions."""
    with config_context(uri=server.url, token=server.admin_token):
        yield DataService(server.store)
    mc.data._fluent.close_all()


def test_data_reads_through_the_server(sdk: DataService) -> None:
    first = sdk.add(pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}), "team/churn")
    second = sdk.add(
        pd.DataFrame({"x": [1, 2, 3, 4], "y": ["a", "b", "c", "d"]}),
        "team/churn",
        parents=[first.ref],
    )
    sdk.add(pd.DataFrame({"z": [0.5]}), "other")
    assert isinstance(data_service(), HttpDataService)

    assert [(d.name, d.latest_version) for d in mc.data.list()] == [
        ("other", 1),
        ("team/churn", 2),
    ]
    assert [v.version for v in mc.data.list("team/churn")] == [1, 2]
    assert mc.data.get("team/churn@1") == first
    assert mc.data.get("team/churn") == second
    assert mc.data.get("team/churn@2").files() == sdk.files("team/churn@2")
    changes = mc.data.diff("team/churn@1", "team/churn@2")
    assert (changes.row_count_before, changes.row_count_after) == (3, 4)

    with mc.start_run(experiment="train") as run:
        run.log_input(second, role="train")
    graph = mc.data.lineage(second)
    assert graph.upstream() == [first.ref] and graph.downstream() == [run.id]
    assert mc.data.lineage(run).upstream() == [second.ref]


def test_checkout_and_read_through_the_server_verify_every_byte(
    sdk: DataService, server: LiveServer, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    (source / "nested").mkdir(parents=True)
    (source / "small.txt").write_bytes(b"packed with other small files")
    (source / "nested" / "large.bin").write_bytes(bytes(range(256)) * 5000)  # its own object
    version = sdk.add(source, "files")
    table = sdk.add(pd.DataFrame({"x": [1, 2, 3]}), "table")

    out = mc.data.checkout(version.ref, tmp_path / "out")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "nested/large.bin",
        "small.txt",
    ]
    assert (out / "nested" / "large.bin").read_bytes() == (
        source / "nested" / "large.bin"
    ).read_bytes()
    assert (out / "small.txt").read_bytes() == b"packed with other small files"
    assert list(mc.data.get(table.ref).to_pandas()["x"]) == [1, 2, 3]
    with pytest.raises(AlreadyExists):
        mc.data.checkout(version.ref, out)

    large = next(f for f in sdk.files(version.ref) if f.path == "nested/large.bin")
    stored = Path(server.location.artifact_root or "") / large.digest[:2] / large.digest[2:]
    stored.chmod(0o644)
    damaged = bytearray(stored.read_bytes())
    damaged[100] ^= 0x01
    stored.write_bytes(bytes(damaged))
    with pytest.raises(IntegrityError):
        mc.data.checkout(version.ref, tmp_path / "again")
    assert not (tmp_path / "again").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_bad_dataset_references(sdk: DataService, server: LiveServer) -> None:
    sdk.add(pd.DataFrame({"x": [1]}), "churn")
    with pytest.raises(NotFound):
        mc.data.get("churn@7")
    with pytest.raises(NotFound):
        mc.data.get("nothing")
    with pytest.raises(InvalidInput, match="NAME@VERSION"):
        mc.data.get("churn@x")
    with pytest.raises(InvalidInput, match="not available through a modelcycle server yet"):
        mc.data.add(pd.DataFrame({"x": [2]}), "churn")
    with server.client() as admin:
        no_file = admin.get("/datasets/churn/versions/1/files/nope.csv")
        missing = admin.get("/datasets/churn/versions/7")
        bad = admin.get("/datasets/churn/versions/0")
        unknown = admin.get("/lineage", params={"target": "nobody@1"})
    assert no_file.status_code == 404 and "has no file 'nope.csv'" in no_file.text
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "InvalidInput"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NotFound"
