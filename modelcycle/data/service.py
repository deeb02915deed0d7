"""``DataService``: dataset versions over the local store (SQLite or PostgreSQL).

Bytes go to the object store first (see ``_ingest``), then one short write transaction records
the version, its manifest and its parents. A version number is the dataset's highest plus one,
taken inside that transaction while holding a lock on the dataset's row. Two adds that create
the same new dataset at once collide on its unique name, and the loser tries again.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, func, insert, select

from modelcycle._internal.clock import now_ms
from modelcycle.data import _ingest, _profile
from modelcycle.data._diff import diff_versions
from modelcycle.data._ingest import Location, StoredFile
from modelcycle.data._lineage import LineageWalk
from modelcycle.data._queries import (
    dataset_not_found,
    find_version,
    select_versions,
    version_row,
    versions,
)
from modelcycle.data._refs import check_name, parse_ref
from modelcycle.data._restore import cut_from_pack, restore
from modelcycle.data.entities import (
    Dataset,
    DatasetDiff,
    DatasetFile,
    DatasetVersion,
    LineageGraph,
    from_millis,
)
from modelcycle.errors import AlreadyExists, InvalidInput
from modelcycle.store import Store
from modelcycle.store._bulk import insert_rows
from modelcycle.store.tables import dataset_files, dataset_parents, dataset_versions, datasets
from modelcycle.store.tables.data import FILE_PATH_LENGTH

if TYPE_CHECKING:
    import pyarrow as pa

_ADD_ATTEMPTS: Final = 5
_FILE_COLUMNS = ("version_id", "path", "digest", "size", "pack", "pack_offset")


class DataService:
    """Dataset versions and lineage over a :class:`~modelcycle.store.Store`.

    >>> from modelcycle.config import resolve_uri
    >>> from modelcycle.store import open_store
    >>> service = DataService(open_store(resolve_uri("/tmp/mc-doctest")))  # doctest: +SKIP
    >>> service.add("data/train.parquet", name="churn-train").version  # doctest: +SKIP
    1
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def close(self) -> None:
        """Release the database connections."""
        self._store.close()

    # -- writing -----------------------------------------------------------------------------

    def add(
        self,
        source: str | os.PathLike[str] | Any,
        name: str,
        *,
        parents: Sequence[str] = (),
        description: str | None = None,
        progress: _ingest.Progress | None = None,
    ) -> DatasetVersion:
        """Add a version of dataset ``name``, or return the existing one with the same content.

        Args:
            source: a file, a directory (walked recursively), a pandas DataFrame or a pyarrow
                Table (stored as ``data.parquet``).
            parents: ``name@version`` of the versions this one was derived from.
            description: free text shown by ``data show``.
            progress: called with (bytes just stored, total bytes), possibly from other threads.

        Returns:
            The new version, or the version that already holds exactly this content (its parents
            and description are left as they were).

        Raises:
            NotFound: ``source`` does not exist, or a parent version does not.
            InvalidInput: bad name or source; a tabular file that is truncated, ragged or empty
                (the message names it).
        """
        check_name(name)
        parent_refs = [parse_ref(p) for p in parents]
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            return self._add_path(path, str(source), name, parent_refs, description, progress)
        with tempfile.TemporaryDirectory(prefix="mc-data-") as temp:
            path = Path(temp, _profile.FRAME_FILE)
            _profile.write_frame(source, path)
            return self._add_path(path, path.name, name, parent_refs, description, progress)

    def _add_path(
        self,
        path: Path,
        shown: str,
        name: str,
        parents: Sequence[tuple[str, int | None]],
        description: str | None,
        progress: _ingest.Progress | None,
    ) -> DatasetVersion:
        files = _ingest.collect(path, FILE_PATH_LENGTH)
        # Profile before storing anything: a broken table is refused with nothing written.
        table = _profile.profile(path, shown) if _profile.is_tabular(path) else None
        manifest = _ingest.store_files(self._store.objects, files, self._locations, progress)
        for attempt in range(_ADD_ATTEMPTS):
            try:
                with self._store.write() as connection:
                    return self._record(connection, name, manifest, table, parents, description)
            except AlreadyExists:  # a concurrent add took the number (or created the dataset)
                if attempt == _ADD_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(
        self,
        connection: Connection,
        name: str,
        manifest: Sequence[StoredFile],
        table: _profile.TableProfile | None,
        parents: Sequence[tuple[str, int | None]],
        description: str | None,
    ) -> DatasetVersion:
        now = now_ms()
        version_hash = _ingest.manifest_hash(manifest)
        # Locking the dataset's row queues concurrent adds to one dataset on PostgreSQL, so
        # the next number is free when read (SQLite's write transaction is exclusive already).
        dataset_id = connection.scalar(
            select(datasets.c.id).where(datasets.c.name == name).with_for_update()
        )
        if dataset_id is None:
            dataset_id = connection.execute(
                insert(datasets).values(name=name, created_at=now).returning(datasets.c.id)
            ).scalar_one()
        existing = connection.execute(
            select_versions().where(
                dataset_versions.c.dataset_id == dataset_id,
                dataset_versions.c.hash == version_hash,
            )
        ).first()
        if existing is not None:
            return versions(connection, [existing])[0]
        parent_ids = [version_row(connection, n, v).id for n, v in parents]
        number = (
            connection.scalar(
                select(func.max(dataset_versions.c.version)).where(
                    dataset_versions.c.dataset_id == dataset_id
                )
            )
            or 0
        ) + 1
        version_id = connection.execute(
            insert(dataset_versions)
            .values(
                dataset_id=dataset_id,
                version=number,
                hash=version_hash,
                created_at=now,
                file_count=len(manifest),
                total_size=sum(f.size for f in manifest),
                row_count=table.row_count if table else None,
                schema=table.schema if table else None,
                statistics=table.statistics if table else None,
                description=description,
            )  # fmt: skip
            .returning(dataset_versions.c.id)
        ).scalar_one()
        insert_rows(
            connection, dataset_files, _FILE_COLUMNS,
            [(version_id, f.path, f.digest, f.size, f.pack, f.offset) for f in manifest],
        )  # fmt: skip
        insert_rows(
            connection, dataset_parents, ("child_id", "parent_id"),
            [(version_id, p) for p in dict.fromkeys(parent_ids)],
        )  # fmt: skip
        row = connection.execute(
            select_versions().where(dataset_versions.c.id == version_id)
        ).one()
        return versions(connection, [row])[0]

    def _locations(self, digests: Sequence[str]) -> Mapping[str, Location]:
        with self._store.read() as connection:
            rows = connection.execute(
                select(dataset_files.c.digest, dataset_files.c.pack, dataset_files.c.pack_offset)
                .where(dataset_files.c.digest.in_(digests))
            ).all()  # fmt: skip
        return {r.digest: Location(r.pack, r.pack_offset) for r in rows}

    # -- reading -----------------------------------------------------------------------------

    def get(self, ref: str) -> DatasetVersion:
        """The version ``name@version``, or the latest of ``name``.

        Raises:
            InvalidInput: the reference is malformed.
            NotFound: no such dataset or version.
        """
        name, version = parse_ref(ref)
        with self._store.read() as connection:
            return versions(connection, [version_row(connection, name, version)])[0]

    def list_datasets(self) -> list[Dataset]:
        """Every dataset, by name, with its latest version number and version count."""
        query = (
            select(
                datasets.c.name,
                datasets.c.created_at,
                func.max(dataset_versions.c.version).label("latest"),
                func.count(dataset_versions.c.id).label("count"),
            )  # fmt: skip
            .join(dataset_versions, dataset_versions.c.dataset_id == datasets.c.id)
            .group_by(datasets.c.id, datasets.c.name, datasets.c.created_at)
            .order_by(datasets.c.name)
        )
        with self._store.read() as connection:
            rows = connection.execute(query).all()
        return [
            Dataset(
                name=r.name,
                created_at=from_millis(r.created_at),
                latest_version=r.latest,
                version_count=r.count,
            )  # fmt: skip
            for r in rows
        ]

    def list_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of ``name``, oldest first.

        Raises:
            NotFound: no dataset has this name.
        """
        check_name(name)
        with self._store.read() as connection:
            rows = connection.execute(
                select_versions().where(datasets.c.name == name)
                .order_by(dataset_versions.c.version)
            ).all()  # fmt: skip
            if not rows:
                raise dataset_not_found(name)
            return versions(connection, rows)

    def files(self, ref: str) -> list[DatasetFile]:
        """The manifest of a version: path, digest and size of each file, by path."""
        return [DatasetFile(path=f.path, digest=f.digest, size=f.size) for f in self._files(ref)]

    def stored_file(self, ref: str, path: str) -> StoredFile:
        """Where one file of a version is stored: its own object (``pack`` is None), or a slice
        of a pack (small files). One row read by its key, whatever the version's size.

        Raises:
            NotFound: no such version, or the version has no file at ``path``.
        """
        from modelcycle.errors import NotFound

        name, version = parse_ref(ref)
        with self._store.read() as connection:
            version_id = version_row(connection, name, version).id
            row = connection.execute(
                select(dataset_files).where(
                    dataset_files.c.version_id == version_id, dataset_files.c.path == path
                )
            ).first()
        if row is None:
            raise NotFound(
                f"dataset {ref} has no file {path!r}; list its files to see them",
                details={"ref": ref, "path": path},
            )
        return StoredFile(row.path, row.digest, row.size, row.pack, row.pack_offset)

    def packed_bytes(self, item: StoredFile) -> bytes:
        """A packed file's bytes: its pack read whole (verified), the file cut out and checked
        against its own digest, as a checkout does.

        Raises:
            IntegrityError: the pack or the file's slice does not match its digest.
        """
        if item.pack is None:
            raise InvalidInput(f"file {item.path!r} is stored as its own object, not in a pack")
        return bytes(cut_from_pack(memoryview(self._store.objects.get_bytes(item.pack)), item))

    def _files(self, ref: str) -> list[StoredFile]:
        name, version = parse_ref(ref)
        with self._store.read() as connection:
            version_id = version_row(connection, name, version).id
            rows = connection.execute(
                select(dataset_files).where(dataset_files.c.version_id == version_id)
                .order_by(dataset_files.c.path)
            ).all()  # fmt: skip
        return [StoredFile(r.path, r.digest, r.size, r.pack, r.pack_offset) for r in rows]

    def checkout(
        self,
        ref: str,
        dest: str | os.PathLike[str],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Restore a version's files under ``dest`` (a new or empty directory), all verified.

        Args:
            progress: called with the number of files just restored, possibly from other threads.

        Returns:
            The absolute path of ``dest``.

        Raises:
            NotFound: no such version, or a stored object is missing.
            AlreadyExists: ``dest`` is a file or a non-empty directory.
            IntegrityError: a stored object is corrupted; ``dest`` is left as it was.
        """
        return restore(self._store.objects, self._files(ref), Path(dest), progress)

    def read_arrow(self, ref: str) -> pa.Table:
        """A tabular version's table, from verified bytes.

        Raises:
            InvalidInput: the version is not one table (a directory, or not a tabular file).
        """
        from modelcycle._internal.tabular import read_arrow

        version = self.get(ref)
        files = self._files(version.ref)
        if version.row_count is None or len(files) != 1:
            raise InvalidInput(
                f"{version.ref} is not a table: it holds {len(files)} file(s); check it out "
                "and read its files instead",
                details={"ref": version.ref},
            )
        with tempfile.TemporaryDirectory(prefix="mc-data-") as temp:
            restore(self._store.objects, files, Path(temp, "version"))
            return read_arrow(Path(temp, "version", files[0].path))

    def diff(self, a: str, b: str) -> DatasetDiff:
        """What changed from version ``a`` to version ``b`` (files, rows, columns)."""
        before, after = self.get(a), self.get(b)
        return diff_versions(before, self.files(before.ref), after, self.files(after.ref))

    def lineage(self, target: str) -> LineageGraph:
        """The lineage graph around a version (``name@version`` or ``name``) or a run id.

        Raises:
            NotFound: ``target`` names neither a dataset nor a run.
        """
        with self._store.read() as connection:
            walk = LineageWalk(connection)
            name, version = _dataset_target(target)
            row = find_version(connection, name, version) if name else None
            root = walk.from_version(row.id) if row is not None else walk.from_run(target)
            return walk.graph(root)


def _dataset_target(target: str) -> tuple[str | None, int | None]:
    """A lineage target read as a dataset reference, or (None, None) when it cannot be one."""
    try:
        return parse_ref(target)
    except InvalidInput:
        return None, None
