"""Persistence that knows no ML: the metadata database and the content-addressed object store.

``open_store(location)`` gives a :class:`Store`: an engine with migrated tables, ``write()`` /
``read()`` transactions that translate driver errors, and ``objects``, the object store.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select, union

from modelcycle.config import StoreLocation, current_settings, resolve_uri
from modelcycle.errors import InvalidInput
from modelcycle.store._engine import make_engine, read_transaction, write_transaction
from modelcycle.store._migrate import HEAD_REVISION, current_revision, ensure_current, upgrade

if TYPE_CHECKING:
    from modelcycle.store.objects import ObjectStore
    from modelcycle.store.objects.gc import GcResult

__all__ = [
    "Store",
    "close_current_stores",
    "current_store",
    "database_revision",
    "open_store",
    "upgrade_database",
]


@dataclass
class Store:
    """One platform's metadata database and object store."""

    location: StoreLocation
    engine: Engine
    _objects: ObjectStore | None = field(default=None, repr=False)

    @property
    def objects(self) -> ObjectStore:
        """The object store, opened on first use (a metrics-only process never touches it)."""
        if self._objects is None:
            from modelcycle.store.objects import open_object_store

            if self.location.artifact_root is None:
                raise InvalidInput(
                    f"the store at {self.location.url} has no artifact root; set "
                    "MODELCYCLE_ARTIFACTS to a directory or an fsspec URL.",
                    details={"uri": self.location.url},
                )
            self._objects = open_object_store(
                self.location.artifact_root, fsync=current_settings().objects.fsync
            )
        return self._objects

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction; everything in the block commits together or not at all."""
        return write_transaction(self.engine)

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """A read transaction over a consistent snapshot."""
        return read_transaction(self.engine)

    def referenced_digests(self) -> set[str]:
        """Every object digest some row refers to (columns marked ``object_ref``)."""
        from modelcycle.store.tables import object_ref_columns

        queries = [select(column.label("digest")) for column in object_ref_columns()]
        with self.read() as connection:
            return set(connection.scalars(union(*queries)))

    def collect_garbage(
        self,
        *,
        min_age_seconds: float = 3600,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> GcResult:
        """Remove objects no row refers to and older than ``min_age_seconds``."""
        from modelcycle.store.objects.gc import sweep

        return sweep(
            self.objects,
            self.referenced_digests(),
            min_age_seconds=min_age_seconds,
            dry_run=dry_run,
            progress=progress,
        )

    def close(self) -> None:
        self.engine.dispose()


def open_store(location: StoreLocation, *, migrate: bool | None = None) -> Store:
    """Open the store at ``location``, migrating an embedded database on the way.

    Args:
        location: from :func:`modelcycle.config.resolve_uri`.
        migrate: migrate the schema when it is behind. Defaults to true for SQLite (an embedded
            store looks after itself) and false for a server database, which an operator
            migrates with ``modelcycle db upgrade``.

    Raises:
        InvalidInput: the location is a server URL, which the HTTP client handles.
        SchemaOutdated: the database is behind and ``migrate`` is false.
        StoreUnavailable: the database cannot be reached.
    """
    if location.kind != "sql":
        raise InvalidInput(
            f"{location.url} is a modelcycle server; a store opens only a database URI.",
            details={"uri": location.url},
        )
    if location.is_sqlite:
        Path(location.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(location.url)
    try:
        ensure_current(engine, migrate=location.is_sqlite if migrate is None else migrate)
    except BaseException:
        engine.dispose()
        raise
    return Store(location, engine)


@contextlib.contextmanager
def opened(location: StoreLocation) -> Iterator[Store]:
    """Open a store for the length of a block (CLI commands), disposing its engine after."""
    store = open_store(location)
    try:
        yield store
    finally:
        store.close()


def upgrade_database(url: str) -> tuple[str | None, str]:
    """Migrate the metadata database at ``url`` to the newest schema.

    Returns:
        The revision it was at (``None`` when empty) and the one it is at now.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    engine = make_engine(url)
    try:
        before = upgrade(engine)
    finally:
        engine.dispose()
    return before, HEAD_REVISION


def database_revision(url: str) -> tuple[str | None, str]:
    """The schema revision of the database at ``url``, and the one this version expects.

    A SQLite file that does not exist is reported as empty (``None``) without being created:
    asking must not leave a database behind a typo.
    """
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[-1]).is_file():
        return None, HEAD_REVISION
    engine = make_engine(url)
    try:
        with read_transaction(engine) as connection:
            return current_revision(connection), HEAD_REVISION
    finally:
        engine.dispose()


# Keyed by the settings as given: resolving a URI touches the filesystem, and start_run in a loop
# asks for the store every time.
_current_stores: dict[tuple[str | None, str | None], Store] = {}
_current_stores_lock = threading.Lock()


def current_store() -> Store:
    """The store the current settings point at, opened once per process and location, so the
    SDK's domains (tracking, data, …) share one engine.

    Raises:
        InvalidInput: the settings name a modelcycle server, or a malformed URI.
    """
    settings = current_settings()
    key = (settings.uri, settings.artifacts)
    with _current_stores_lock:
        store = _current_stores.get(key)
        if store is None:
            location = resolve_uri(settings.uri, settings.artifacts)
            if location.kind == "http":
                raise InvalidInput(
                    f"MODELCYCLE_URI={location.url} names a server; tracking goes through "
                    "it, but this part of the SDK opens a store directly: point "
                    "MODELCYCLE_URI at the directory or database for it.",
                    details={"uri": location.url},
                )
            store = _current_stores[key] = open_store(location)
        return store


def close_current_stores() -> None:
    """Close every store :func:`current_store` opened (tests, notebooks)."""
    with _current_stores_lock:
        for store in _current_stores.values():
            store.close()
        _current_stores.clear()
