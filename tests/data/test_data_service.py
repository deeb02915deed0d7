"""DataService on SQLite and PostgreSQL: versions, dedup, tables, checkout, diff, lineage, gc."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from modelcycle.data.service import DataService
from modelcycle.errors import AlreadyExists, IntegrityError, InvalidInput, NotFound
from modelcycle.store import Store

LARGE = (1 << 20) + 17  # just over the pack threshold: an object of its own


@pytest.fixture
def service(store: Store) -> DataService:
    return DataService(store)


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def _object_count(store: Store) -> int:
    return sum(1 for _ in store.objects.iter_objects())


def _object_path(store: Store, digest: str) -> Path:
    root = Path(store.objects.root)  # type: ignore[attr-defined]
    return root / digest[:2] / digest[2:]


def test_add_file_records_a_manifest(service: DataService, tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"hello")

    version = service.add(tmp_path / "blob.bin", name="blobs", description="first")

    assert (version.name, version.version, version.ref) == ("blobs", 1, "blobs@1")
    assert (version.file_count, version.total_size, version.description) == (1, 5, "first")
    assert version.row_count is None and version.schema is None and version.statistics is None
    [entry] = service.files("blobs@1")
    assert (entry.path, entry.size) == ("blob.bin", 5)
    assert service.get("blobs") == service.get("blobs@1") == version


def test_add_directory_and_checkout_restores_exact_bytes(
    service: DataService, tmp_path: Path
) -> None:
    files = {
        "a.txt": b"a",
        "sub/b.bin": bytes(range(256)) * 9,
        "sub/deep/c": b"",
        "big": b"x" * LARGE,
    }
    _tree(tmp_path / "src", files)

    version = service.add(tmp_path / "src", name="tree")
    dest = service.checkout("tree@1", tmp_path / "out")

    assert [f.path for f in service.files(version.ref)] == sorted(files)
    assert version.total_size == sum(len(d) for d in files.values())
    restored = {
        p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()
    }
    assert restored == files


def test_identical_readd_returns_the_same_version_and_stores_nothing(
    service: DataService, store: Store, tmp_path: Path
) -> None:
    _tree(tmp_path / "src", {"a": b"1", "b": b"2", "big": b"y" * LARGE})
    first = service.add(tmp_path / "src", name="same")
    objects = _object_count(store)

    again = service.add(tmp_path / "src", name="same", description="ignored")

    assert again == first
    assert _object_count(store) == objects
    assert [v.version for v in service.list_versions("same")] == [1]


def test_a_changed_file_makes_a_version_storing_only_that_file(
    service: DataService, store: Store, tmp_path: Path
) -> None:
    src = _tree(tmp_path / "src", {f"f{i}.txt": f"row {i}".encode() for i in range(50)})
    (src / "big.bin").write_bytes(b"z" * LARGE)
    first = service.add(src, name="many")
    objects = _object_count(store)

    (src / "f7.txt").write_bytes(b"changed")
    second = service.add(src, name="many")
    assert second.version == 2 and second.hash != first.hash
    assert _object_count(store) == objects + 1  # one pack holding the one changed small file

    (src / "big.bin").write_bytes(b"w" * LARGE)
    third = service.add(src, name="many")
    assert third.version == 3
    assert _object_count(store) == objects + 2  # the changed large file, and nothing else
    assert service.diff("many@2", "many@3").changed == ("big.bin",)


def test_dataframe_records_rows_schema_and_statistics(service: DataService) -> None:
    frame = pd.DataFrame({"age": [31, 45, 27, 45], "plan": ["a", "b", "a", "c"]})

    version = service.add(frame, name="churn")

    assert version.row_count == 4
    assert [f.path for f in service.files("churn@1")] == ["data.parquet"]
    assert version.schema is not None
    assert [c["name"] for c in version.schema["columns"]] == ["age", "plan"]
    assert version.statistics is not None and version.statistics["age"]["max"] == 45
    pd.testing.assert_frame_equal(service.read_arrow("churn@1").to_pandas(), frame)
    assert service.add(frame.copy(), name="churn").version == 1  # same content, same version


def test_arrow_table_and_tabular_files(service: DataService, tmp_path: Path) -> None:
    table = pa.table({"x": [1.5, 2.5, None]})
    assert service.add(table, name="arrow").row_count == 3

    (tmp_path / "rows.csv").write_text("a,b\n1,x\n2,y\n")
    csv = service.add(tmp_path / "rows.csv", name="csv")
    assert (csv.row_count, sorted(csv.statistics or {})) == (2, ["a", "b"])

    pd.DataFrame({"v": range(1000)}).to_parquet(tmp_path / "t.parquet")
    assert service.add(tmp_path / "t.parquet", name="pq").row_count == 1000

    pa.feather.write_feather(pa.table({"k": ["p", "q"]}), tmp_path / "t.arrow")
    assert service.add(tmp_path / "t.arrow", name="feather").row_count == 2


def test_empty_frames(service: DataService) -> None:
    version = service.add(pd.DataFrame({"a": pd.Series([], dtype="int64")}), name="empty")
    assert version.row_count == 0
    with pytest.raises(InvalidInput, match="no columns"):
        service.add(pd.DataFrame(), name="nothing")
    with pytest.raises(InvalidInput, match="pandas DataFrame or a pyarrow Table"):
        service.add([1, 2, 3], name="list")


@pytest.mark.parametrize(
    ("file_name", "content"),
    [
        ("truncated.parquet", None),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n"),
        ("empty.csv", b""),
        ("junk.arrow", b"not an arrow file at all"),
    ],
)
def test_unreadable_tables_are_invalid_input_naming_the_file(
    service: DataService, store: Store, tmp_path: Path, file_name: str, content: bytes | None
) -> None:
    path = tmp_path / file_name
    if content is None:
        pd.DataFrame({"v": range(100)}).to_parquet(path)
        content = path.read_bytes()[:-20]
    path.write_bytes(content)

    with pytest.raises(InvalidInput, match=file_name):
        service.add(path, name="bad")

    assert service.list_datasets() == []
    assert _object_count(store) == 0  # refused before anything was stored


def test_missing_things_are_not_found(service: DataService, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        service.add(tmp_path / "nope.parquet", name="x")
    (tmp_path / "f").write_bytes(b"1")
    with pytest.raises(NotFound, match="no dataset named 'ghost'"):
        service.add(tmp_path / "f", name="x", parents=["ghost@1"])
    service.add(tmp_path / "f", name="x")
    with pytest.raises(NotFound, match="no version 9"):
        service.get("x@9")
    with pytest.raises(NotFound):
        service.list_versions("ghost")
    with pytest.raises(NotFound, match="no dataset or run"):
        service.lineage("ghost")


@pytest.mark.parametrize("ref", ["x@0", "x@one", "@1", " x", "x@"])
def test_malformed_refs_are_invalid_input(service: DataService, ref: str) -> None:
    with pytest.raises(InvalidInput):
        service.get(ref)


def test_empty_directory_is_invalid_input(service: DataService, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="holds no file"):
        service.add(tmp_path / "empty", name="x")


@pytest.mark.parametrize("large", [True, False], ids=["object", "pack"])
def test_corrupted_blob_on_checkout_leaves_the_destination_untouched(
    service: DataService, store: Store, tmp_path: Path, large: bool
) -> None:
    work = tmp_path / "work"
    data = b"q" * (LARGE if large else 100)
    _tree(work / "src", {"good.txt": b"fine", "victim.bin": data})
    service.add(work / "src", name="c")
    victim = next(f for f in service._files("c@1") if f.path == "victim.bin")
    blob = _object_path(store, victim.pack or victim.digest)
    corrupted = bytearray(blob.read_bytes())
    corrupted[-1] ^= 0xFF
    blob.write_bytes(bytes(corrupted))
    dest = work / "out"
    dest.mkdir()

    with pytest.raises(IntegrityError):
        service.checkout("c@1", dest)

    assert list(dest.iterdir()) == []
    assert sorted(p.name for p in work.iterdir()) == ["out", "src"]  # no staging left
    with pytest.raises(IntegrityError):
        service.checkout("c@1", work / "fresh")
    assert not (work / "fresh").exists()


def test_checkout_refuses_a_non_empty_destination(service: DataService, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"1")
    service.add(tmp_path / "f", name="x")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine").write_bytes(b"keep")
    with pytest.raises(AlreadyExists):
        service.checkout("x@1", tmp_path / "out")
    assert (tmp_path / "out" / "mine").read_bytes() == b"keep"


def test_diff_of_files(service: DataService, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"keep": b"k", "change": b"1", "drop": b"d"})
    service.add(src, name="d")
    (src / "drop").unlink()
    (src / "change").write_bytes(b"2")
    (src / "new").write_bytes(b"n")
    service.add(src, name="d")

    diff = service.diff("d@1", "d@2")

    assert (diff.added, diff.removed, diff.changed) == (("new",), ("drop",), ("change",))
    assert diff.unchanged_count == 1 and not diff.identical
    assert service.diff("d@2", "d@2").identical


def test_diff_of_tables(service: DataService) -> None:
    service.add(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}), name="t")
    service.add(pd.DataFrame({"a": [1, 2, 3, 10], "c": [0.5, 1.5, 2.5, 3.5]}), name="t")

    diff = service.diff("t@1", "t@2")

    assert (diff.row_count_before, diff.row_count_after) == (3, 4)
    changes = {c.column: c for c in diff.columns}
    assert (changes["b"].change, changes["c"].change) == ("removed", "added")
    assert changes["a"].change == "statistics"
    assert changes["a"].after is not None and changes["a"].after["max"] == 10


def test_lineage_walks_parents_and_children(service: DataService) -> None:
    service.add(pd.DataFrame({"a": [1]}), name="raw")
    service.add(pd.DataFrame({"a": [2]}), name="clean", parents=["raw@1"])
    service.add(pd.DataFrame({"a": [3]}), name="features", parents=["clean@1", "raw@1"])

    from_middle = service.lineage("clean@1")
    from_root = service.lineage("raw")

    assert service.get("features@1").parents == ("clean@1", "raw@1")
    assert from_middle.upstream() == ["raw@1"]
    assert from_middle.downstream() == ["features@1"]
    assert {n.id for n in from_root.nodes} == {"raw@1", "clean@1", "features@1"}
    assert sorted(from_root.downstream()) == ["clean@1", "features@1"]


def test_gc_keeps_dataset_objects(service: DataService, store: Store, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"small": b"s", "big": b"b" * LARGE})
    service.add(tmp_path / "src", name="kept")
    orphan = store.objects.put_bytes(b"nobody refers to me").digest

    result = store.collect_garbage(min_age_seconds=0)

    assert result.removed == 1 and not store.objects.exists(orphan)
    service.checkout("kept@1", tmp_path / "out")
    assert (tmp_path / "out" / "big").read_bytes() == b"b" * LARGE


def test_concurrent_adds_get_distinct_version_numbers(service: DataService) -> None:
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            service.add(pd.DataFrame({"i": [i]}), name="race")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [v.version for v in service.list_versions("race")] == [1, 2, 3, 4, 5, 6]


def test_progress_reports_every_byte(service: DataService, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": b"1" * 10, "b": b"2" * 20, "big": b"3" * LARGE})
    seen: list[tuple[int, int]] = []

    service.add(tmp_path / "src", name="p", progress=lambda n, total: seen.append((n, total)))

    assert sum(n for n, _ in seen) == 30 + LARGE
    assert {total for _, total in seen} == {30 + LARGE}


def test_duplicate_small_files_are_packed_once(
    service: DataService, store: Store, tmp_path: Path
) -> None:
    _tree(tmp_path / "src", {"one": b"same bytes", "two": b"same bytes", "three": b"other"})

    service.add(tmp_path / "src", name="dup")
    [pack] = {f.pack for f in service._files("dup@1")}

    assert pack is not None and store.objects.size(pack) == len(b"same bytes") + len(b"other")
    out = service.checkout("dup@1", tmp_path / "out")
    assert (out / "one").read_bytes() == (out / "two").read_bytes() == b"same bytes"


def test_one_file_is_found_by_its_path_and_cut_from_its_pack_verified(
    service: DataService, store: Store, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from modelcycle.store.tables import dataset_files

    _tree(tmp_path / "src", {"a": b"small a", "b": b"small b", "big": b"3" * LARGE})
    service.add(tmp_path / "src", name="one")

    small = service.stored_file("one@1", "b")
    assert small.pack is not None and service.packed_bytes(small) == b"small b"
    big = service.stored_file("one@1", "big")
    assert big.pack is None  # its own object: streamed, not cut from a pack
    with pytest.raises(InvalidInput, match="its own object, not in a pack"):
        service.packed_bytes(big)
    with pytest.raises(NotFound, match="has no file 'nope'"):
        service.stored_file("one@1", "nope")
    with pytest.raises(NotFound):
        service.stored_file("one@9", "b")
    with store.write() as connection:  # a row pointing at the wrong slice of the pack
        connection.execute(
            update(dataset_files).where(dataset_files.c.path == "b").values(pack_offset=0)
        )
    with pytest.raises(IntegrityError, match="'b' in pack"):
        service.packed_bytes(service.stored_file("one@1", "b"))


def test_a_tampered_path_cannot_escape_the_destination(
    service: DataService, store: Store, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from modelcycle.store.tables import dataset_files

    (tmp_path / "f").write_bytes(b"1")
    service.add(tmp_path / "f", name="evil")
    with store.write() as connection:
        connection.execute(update(dataset_files).values(path="../escaped"))

    with pytest.raises(IntegrityError, match="would leave the destination"):
        service.checkout("evil@1", tmp_path / "work" / "out")
    assert not (tmp_path / "work" / "escaped").exists()
