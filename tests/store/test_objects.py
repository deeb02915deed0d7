"""The object store contract, run against every implementation, plus gc and the scheme registry."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import fsspec
import pytest
from fsspec.registry import known_implementations

from modelcycle._internal.hashing import CHUNK_SIZE, hash_bytes, hash_file
from modelcycle.errors import IntegrityError, InvalidInput, NotFound
from modelcycle.store.objects import ObjectInfo, ObjectStore, open_object_store
from modelcycle.store.objects.fsspec_store import FsspecObjectStore
from modelcycle.store.objects.gc import GcResult, sweep
from modelcycle.store.objects.local import LocalObjectStore

HOUR = 3600.0


@dataclass
class Backend:
    """A store plus the test-only powers to reach behind its back: edit bytes, age files."""

    store: ObjectStore
    read_raw: Callable[[str], bytes]
    write_raw: Callable[[str, bytes], object]
    set_mtime: Callable[[str, float], None]

    def object_key(self, digest: str) -> str:
        return f"{digest[:2]}/{digest[2:]}"

    def corrupt(self, digest: str) -> None:
        """Change one byte of the stored object in place."""
        data = bytearray(self.read_raw(self.object_key(digest)))
        data[len(data) // 2] ^= 0x01
        self.write_raw(self.object_key(digest), bytes(data))

    def age(self, digest: str, seconds: float) -> None:
        self.set_mtime(self.object_key(digest), time.time() - seconds)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _disk_backend(store: ObjectStore, root: Path) -> Backend:
    return Backend(
        store=store,
        read_raw=lambda key: (root / key).read_bytes(),
        write_raw=lambda key, data: _write(root / key, data),
        set_mtime=lambda key, mtime: os.utime(root / key, (mtime, mtime)),
    )


def _memory_backend(root: str) -> Backend:
    fs = fsspec.filesystem("memory")

    def set_mtime(key: str, mtime: float) -> None:
        fs.store[f"{root}/{key}"].created = datetime.fromtimestamp(mtime, tz=UTC)

    return Backend(
        store=FsspecObjectStore(f"memory://{root}"),
        read_raw=lambda key: fs.cat_file(f"{root}/{key}"),
        write_raw=lambda key, data: fs.pipe_file(f"{root}/{key}", data),
        set_mtime=set_mtime,
    )


@pytest.fixture(params=["local", "memory", "fsspec-file"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield _disk_backend(LocalObjectStore(tmp_path / "objects"), tmp_path / "objects")
    elif request.param == "fsspec-file":
        # The fsspec store over a filesystem with real directories, which must be created.
        store = FsspecObjectStore(f"file://{tmp_path}/objects")
        yield _disk_backend(store, tmp_path / "objects")
    else:
        root = f"/{uuid.uuid4().hex}/objects"
        yield _memory_backend(root)
        # The memory filesystem is one process-wide dict: leave nothing behind for other tests.
        fs = fsspec.filesystem("memory")
        if fs.exists(root):
            fs.rm(root, recursive=True)


@pytest.fixture
def store(backend: Backend) -> ObjectStore:
    return backend.store


# -- round trips -------------------------------------------------------------------------------


def test_put_bytes_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    info = store.put_bytes(b"model weights")

    assert isinstance(store, ObjectStore)
    assert info == ObjectInfo(hash_bytes(b"model weights"), 13)
    assert store.get_bytes(info.digest) == b"model weights"
    assert store.exists(info.digest)
    assert store.size(info.digest) == 13
    with store.open(info.digest) as stream:
        assert stream.read() == b"model weights"
    store.copy_to(info.digest, tmp_path / "out" / "weights.bin")
    assert (tmp_path / "out" / "weights.bin").read_bytes() == b"model weights"


def test_put_file_streams_a_multi_chunk_file(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 12345)
    source = _write(tmp_path / "big.bin", data)

    info = store.put_file(source)

    assert info == ObjectInfo(hash_file(source), len(data))
    assert store.get_bytes(info.digest) == data
    store.copy_to(info.digest, tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == data
    with store.open(info.digest) as stream:
        pieces = iter(lambda: stream.read(100_000), b"")
        assert b"".join(pieces) == data


def test_empty_object_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    info = store.put_file(_write(tmp_path / "empty", b""))

    assert info == ObjectInfo(hash_bytes(b""), 0)
    assert store.get_bytes(info.digest) == b""
    with store.open(info.digest) as stream:
        assert stream.read() == b""


def test_identical_content_is_stored_once(store: ObjectStore, tmp_path: Path) -> None:
    first = store.put_bytes(b"same")
    second = store.put_bytes(b"same")
    third = store.put_file(_write(tmp_path / "same.txt", b"same"))

    assert first == second == third
    assert [digest for digest, _ in store.iter_objects()] == [first.digest]
    assert list(store.iter_temp()) == []


def test_concurrent_puts_of_the_same_content(store: ObjectStore) -> None:
    results: list[ObjectInfo] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.put_bytes(b"x" * 100_000)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(results)) == 1 and len(results) == 8
    assert [digest for digest, _ in store.iter_objects()] == [results[0].digest]
    assert store.get_bytes(results[0].digest) == b"x" * 100_000


def test_iter_objects_lists_only_objects(backend: Backend) -> None:
    info = backend.store.put_bytes(b"kept")
    backend.write_raw("tmp/" + "0" * 32, b"partial write")
    backend.write_raw("README", b"not an object")
    backend.write_raw("ab/short", b"not an object either")

    listed = list(backend.store.iter_objects())

    assert [digest for digest, _ in listed] == [info.digest]
    assert abs(listed[0][1] - time.time()) < HOUR
    assert [name for name, _ in backend.store.iter_temp()] == ["0" * 32]


# -- corruption --------------------------------------------------------------------------------


def test_changed_byte_fails_get_bytes(backend: Backend) -> None:
    digest = backend.store.put_bytes(b"trusted content").digest
    backend.corrupt(digest)

    with pytest.raises(IntegrityError, match=f"{digest}.*corrupted"):
        backend.store.get_bytes(digest)


def test_changed_byte_fails_copy_to_and_leaves_dest_untouched(
    backend: Backend, tmp_path: Path
) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 7)
    digest = backend.store.put_bytes(data).digest
    backend.corrupt(digest)
    dest = _write(tmp_path / "checkout" / "model.bin", b"previous version")
    _write(tmp_path / "checkout" / "other.txt", b"neighbour")

    with pytest.raises(IntegrityError, match=f"{digest}.*corrupted"):
        backend.store.copy_to(digest, dest)

    assert dest.read_bytes() == b"previous version"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin", "other.txt"]


def test_changed_byte_fails_open_at_end_of_stream(backend: Backend) -> None:
    data = os.urandom(CHUNK_SIZE + 99)
    digest = backend.store.put_bytes(data).digest
    backend.corrupt(digest)

    with backend.store.open(digest) as stream, pytest.raises(IntegrityError, match=digest):
        stream.read()
    with backend.store.open(digest) as stream:
        assert len(stream.read(1000)) == 1000  # bytes flow until the end, where the check is
        with pytest.raises(IntegrityError):
            while stream.read(CHUNK_SIZE):
                pass


def test_truncated_object_fails_every_read(backend: Backend, tmp_path: Path) -> None:
    digest = backend.store.put_bytes(b"0123456789").digest
    backend.write_raw(backend.object_key(digest), b"01234")

    with pytest.raises(IntegrityError):
        backend.store.get_bytes(digest)
    with pytest.raises(IntegrityError):
        backend.store.copy_to(digest, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    with backend.store.open(digest) as stream, pytest.raises(IntegrityError):
        stream.read()


def test_storing_again_repairs_a_truncated_object(backend: Backend) -> None:
    digest = backend.store.put_bytes(b"0123456789").digest
    backend.write_raw(backend.object_key(digest), b"01234")

    backend.store.put_bytes(b"0123456789")

    assert backend.store.get_bytes(digest) == b"0123456789"


# -- bad input ---------------------------------------------------------------------------------

BAD_DIGESTS = ["../etc/passwd", "../" + "a" * 61, "a" * 63, "a" * 65, "A" * 64, "G" * 64, ""]


def _calls(tmp_path: Path) -> dict[str, Callable[[ObjectStore, str], object]]:
    return {
        "get_bytes": lambda s, d: s.get_bytes(d),
        "copy_to": lambda s, d: s.copy_to(d, tmp_path / "dest"),
        "open": lambda s, d: s.open(d),
        "exists": lambda s, d: s.exists(d),
        "size": lambda s, d: s.size(d),
        "delete": lambda s, d: s.delete(d),
    }


@pytest.mark.parametrize("bad", BAD_DIGESTS)
@pytest.mark.parametrize("method", ["get_bytes", "copy_to", "open", "exists", "size", "delete"])
def test_malformed_digest_is_invalid_input(
    store: ObjectStore, tmp_path: Path, method: str, bad: str
) -> None:
    with pytest.raises(InvalidInput, match="invalid object digest"):
        _calls(tmp_path)[method](store, bad)
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a" * 31, "tmp"])
def test_malformed_temp_name_is_invalid_input(store: ObjectStore, bad: str) -> None:
    with pytest.raises(InvalidInput, match="invalid temp name"):
        store.delete_temp(bad)


@pytest.mark.parametrize("method", ["get_bytes", "copy_to", "open", "size"])
def test_missing_object_is_not_found(store: ObjectStore, tmp_path: Path, method: str) -> None:
    digest = hash_bytes(b"never stored")

    with pytest.raises(NotFound, match=digest):
        _calls(tmp_path)[method](store, digest)
    assert not (tmp_path / "dest").exists()


def test_delete_removes_the_object_and_tolerates_missing_ones(store: ObjectStore) -> None:
    digest = store.put_bytes(b"short-lived").digest

    store.delete(digest)
    store.delete(digest)  # a second sweep racing the first must not fail
    store.delete_temp("0" * 32)

    assert not store.exists(digest)
    assert list(store.iter_objects()) == []


def test_put_file_rejects_missing_file_and_directory(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        store.put_file(tmp_path / "absent.bin")
    with pytest.raises(InvalidInput, match="directory"):
        store.put_file(tmp_path)


# -- garbage collection ------------------------------------------------------------------------


def test_sweep_removes_only_unreferenced_old_objects(backend: Backend) -> None:
    store = backend.store
    referenced_old = store.put_bytes(b"referenced").digest
    orphan_old = store.put_bytes(b"orphan").digest
    orphan_young = store.put_bytes(b"just stored").digest
    backend.age(referenced_old, 2 * HOUR)
    backend.age(orphan_old, 2 * HOUR)
    ticks: list[int] = []

    result = sweep(store, {referenced_old}, min_age_seconds=HOUR, progress=ticks.append)

    assert result == GcResult(removed=1, freed_bytes=len(b"orphan"), kept=2, temp_removed=0)
    assert sum(ticks) == 3
    assert not store.exists(orphan_old)
    assert store.exists(referenced_old) and store.exists(orphan_young)


def test_sweep_dry_run_removes_nothing(backend: Backend) -> None:
    digest = backend.store.put_bytes(b"orphan").digest
    backend.age(digest, 2 * HOUR)
    backend.write_raw("tmp/" + "1" * 32, b"abandoned")
    backend.set_mtime("tmp/" + "1" * 32, time.time() - 2 * HOUR)

    result = sweep(backend.store, set(), min_age_seconds=HOUR, dry_run=True)

    assert result == GcResult(removed=1, freed_bytes=6, kept=0, temp_removed=1)
    assert backend.store.exists(digest)
    assert [name for name, _ in backend.store.iter_temp()] == ["1" * 32]


def test_sweep_removes_stale_temp_files_only(backend: Backend) -> None:
    stale, fresh = "1" * 32, "2" * 32
    backend.write_raw(f"tmp/{stale}", b"abandoned by a crash")
    backend.write_raw(f"tmp/{fresh}", b"write in progress")
    backend.set_mtime(f"tmp/{stale}", time.time() - 2 * HOUR)

    result = sweep(backend.store, set(), min_age_seconds=HOUR)

    assert result.temp_removed == 1
    assert [name for name, _ in backend.store.iter_temp()] == [fresh]


def test_storing_existing_content_restarts_the_grace_period(backend: Backend) -> None:
    digest = backend.store.put_bytes(b"reused").digest
    backend.age(digest, 2 * HOUR)

    backend.store.put_bytes(b"reused")  # a writer about to reference it again
    result = sweep(backend.store, set(), min_age_seconds=HOUR)

    assert result.removed == 0
    assert backend.store.exists(digest)


def test_sweep_rejects_negative_grace_period(store: ObjectStore) -> None:
    with pytest.raises(InvalidInput, match="min_age_seconds"):
        sweep(store, set(), min_age_seconds=-1)


# -- choosing an implementation ----------------------------------------------------------------


def test_paths_and_file_urls_open_the_local_store(tmp_path: Path) -> None:
    plain = open_object_store(str(tmp_path / "a"))
    url = open_object_store(f"FILE://{tmp_path}/b")

    assert isinstance(plain, LocalObjectStore) and plain.root == tmp_path / "a"
    assert isinstance(url, LocalObjectStore) and url.root == tmp_path / "b"


@pytest.mark.parametrize("fsync", [True, False])
def test_fsync_setting_decides_whether_new_objects_are_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: bool
) -> None:
    import modelcycle.store.objects.local as local

    flushed: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        flushed.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(local.os, "fsync", counting_fsync)
    store = open_object_store(tmp_path / "objects", fsync=fsync)
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 * CHUNK_SIZE + 5))

    digest = store.put_file(source).digest

    assert bool(flushed) is fsync
    assert store.get_bytes(digest) == source.read_bytes()


def test_store_objects_follow_the_fsync_setting(tmp_path: Path) -> None:
    from modelcycle.config import config_context, resolve_uri
    from modelcycle.store import open_store

    with config_context(objects={"fsync": False}):
        store = open_store(resolve_uri(str(tmp_path / "home")))
        try:
            objects = store.objects
        finally:
            store.close()
    assert isinstance(objects, LocalObjectStore) and objects.fsync is False


def test_other_schemes_open_the_fsspec_store() -> None:
    assert isinstance(open_object_store("memory://registry-test/objects"), FsspecObjectStore)


def test_unknown_scheme_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown object store scheme 'nosuchfs'"):
        open_object_store("nosuchfs://bucket/objects")


def test_missing_backend_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        known_implementations, "fakefs", {"class": "fakefs_absent.FakeFS", "err": "no fakefs"}
    )

    with pytest.raises(InvalidInput, match="pip install fakefs_absent"):
        open_object_store("fakefs://bucket/objects")


@pytest.mark.skipif(find_spec("s3fs") is not None, reason="s3fs is installed")
def test_s3_without_s3fs_names_the_package() -> None:
    with pytest.raises(InvalidInput, match="s3fs"):
        open_object_store("s3://bucket/objects")


class TestLargeFilePath:
    """The one-pass kernel-copy-while-hashing path of the local store, its threshold lowered."""

    @pytest.fixture
    def store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalObjectStore:
        from modelcycle.store.objects import local

        monkeypatch.setattr(local, "_KERNEL_COPY_MIN_SIZE", 1)
        return LocalObjectStore(tmp_path / "objects")

    def test_round_trip_and_stored_content_is_not_rewritten(
        self, store: LocalObjectStore, tmp_path: Path
    ) -> None:
        source = tmp_path / "big.bin"
        data = os.urandom(3 * 1024 * 1024 + 17)
        source.write_bytes(data)
        info = store.put_file(source)
        assert info == ObjectInfo(hash_file(source), len(data))
        assert store.get_bytes(info.digest) == data
        stored = store.root / info.digest[:2] / info.digest[2:]
        inode = stored.stat().st_ino
        assert store.put_file(source) == info
        assert stored.stat().st_ino == inode  # not rewritten
        assert list(store.iter_temp()) == []

    def test_damaged_copy_of_another_size_is_replaced(
        self, store: LocalObjectStore, tmp_path: Path
    ) -> None:
        source = tmp_path / "big.bin"
        source.write_bytes(b"x" * 4096)
        info = store.put_file(source)
        stored = store.root / info.digest[:2] / info.digest[2:]
        stored.write_bytes(b"x" * 10)
        assert store.put_file(source) == info
        assert store.get_bytes(info.digest) == b"x" * 4096

    def test_spans_several_windows(
        self, store: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from modelcycle._internal import hashing

        monkeypatch.setattr(hashing, "MMAP_WINDOW", 4096)
        source = tmp_path / "big.bin"
        data = os.urandom(5 * 4096 + 123)
        source.write_bytes(data)
        info = store.put_file(source)
        assert info == ObjectInfo(hash_bytes(data), len(data))
        assert store.get_bytes(info.digest) == data

    def test_source_changed_during_the_copy_is_refused(
        self, store: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from modelcycle.store.objects import local

        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(8192))
        real_copy = local.kernel_copy_hashing

        def copy_while_someone_appends(source_fd: int, sink_fd: int, size: int) -> str:
            digest = real_copy(source_fd, sink_fd, size)
            with open(source, "ab") as writer:
                writer.write(b"late bytes")
            return digest

        monkeypatch.setattr(local, "kernel_copy_hashing", copy_while_someone_appends)
        with pytest.raises(InvalidInput, match="changed while it was being stored"):
            store.put_file(source)
        assert list(store.iter_objects()) == [] and list(store.iter_temp()) == []

    def test_missing_source(self, store: LocalObjectStore, tmp_path: Path) -> None:
        with pytest.raises(NotFound):
            store.put_file(tmp_path / "nope.bin")


def test_hash_file_spans_several_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelcycle._internal import hashing

    monkeypatch.setattr(hashing, "MMAP_WINDOW", 4096)
    data = os.urandom(3 * 4096 + 5)
    (tmp_path / "f.bin").write_bytes(data)
    (tmp_path / "empty.bin").write_bytes(b"")
    assert hashing.hash_file(tmp_path / "f.bin") == hash_bytes(data)
    assert hashing.hash_file(tmp_path / "empty.bin") == hash_bytes(b"")
