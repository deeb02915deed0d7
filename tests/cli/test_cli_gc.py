"""``modelcycle gc``: unreferenced objects go, referenced and young ones stay, dry runs keep."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from modelcycle.cli.gc import parse_duration
from modelcycle.config import resolve_uri
from modelcycle.store import Store, open_store

Invoke = Callable[..., Result]
MakeRun = Callable[..., str]


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    opened = open_store(resolve_uri(str(home)))
    yield opened
    opened.close()


@pytest.fixture
def orphan(store: Store, make_run: MakeRun) -> str:
    """An object no row refers to (as an interrupted log_artifact leaves), beside a run's
    referenced artifact."""
    make_run(artifact=("kept.txt", b"referenced"))
    return store.objects.put_bytes(b"orphaned bytes").digest


def test_dry_run_keeps_everything(invoke: Invoke, store: Store, orphan: str) -> None:
    result = invoke("gc", "--dry-run", "--min-age", "0", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "dry_run": True, "min_age_seconds": 0.0, "purged_runs": 0, "removed": 1,
        "freed_bytes": 14, "kept": 1, "temp_removed": 0,
    }  # fmt: skip
    assert store.objects.exists(orphan)


def test_gc_removes_unreferenced_objects(invoke: Invoke, store: Store, orphan: str) -> None:
    result = invoke("gc", "--min-age", "0")

    assert result.exit_code == 0, result.stderr
    assert "Purged 0 deleted runs, removed 1 object and freed 14 B" in result.stdout
    assert "kept 1 object" in result.stdout
    assert not store.objects.exists(orphan)
    again = json.loads(invoke("gc", "--min-age", "0", "--json").stdout)
    assert again["removed"] == 0
    assert again["kept"] == 1


def test_gc_keeps_young_objects_by_default(invoke: Invoke, store: Store, orphan: str) -> None:
    result = invoke("gc")
    assert result.exit_code == 0, result.stderr
    assert "removed 0 objects" in result.stdout
    assert store.objects.exists(orphan)


def test_gc_purges_deleted_runs_and_sweeps_their_artifacts(
    invoke: Invoke, store: Store, make_run: MakeRun
) -> None:
    import modelcycle as mc

    kept = make_run(artifact=("kept.txt", b"still used"))
    gone = make_run(artifact=("gone.txt", b"only the deleted run used this"))
    gone_digest = mc.list_artifacts(gone)[0].digest
    assert invoke("runs", "delete", gone).exit_code == 0

    dry = json.loads(invoke("gc", "--dry-run", "--min-age", "0", "--json").stdout)
    assert dry["purged_runs"] == 1
    assert mc.get_run(gone).lifecycle_stage == "deleted"

    kept_json = json.loads(invoke("gc", "--keep-deleted-runs", "--min-age", "0", "--json").stdout)
    assert (kept_json["purged_runs"], kept_json["removed"]) == (0, 0)

    document = json.loads(invoke("gc", "--min-age", "0", "--json").stdout)
    assert (document["purged_runs"], document["removed"]) == (1, 1)
    assert not store.objects.exists(gone_digest)
    assert mc.list_artifacts(kept)
    with pytest.raises(mc.errors.NotFound):
        mc.get_run(gone)


def test_gc_of_an_empty_store(invoke: Invoke) -> None:
    document = json.loads(invoke("gc", "--json").stdout)
    assert document["removed"] == 0
    assert document["min_age_seconds"] == 3600.0


def test_bad_min_age_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("gc", "--min-age", "an hour")
    assert result.exit_code == 2
    assert "--min-age" in result.stderr
    assert "not a duration" in result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("1h", 3600), ("1.5h", 5400), ("2d", 172800),
     ("0", 0), (" 10M ", 600)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
