"""Engines and transactions: the one place where driver errors become ``ModelcycleError``.

SQLite runs in WAL mode with a busy timeout so several processes can share one embedded store.
Write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that reads first and
writes later can deadlock against another writer in a way no busy timeout resolves, and fails
with "database is locked" at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc

from modelcycle.errors import (
    AlreadyExists,
    InvalidInput,
    ModelcycleError,
    NotFound,
    StoreUnavailable,
)

SQLITE_BUSY_TIMEOUT_MS = 60_000
# Checkpoint the WAL every ~40 MB instead of every ~4 MB: each checkpoint syncs the database
# file, and at the default interval that doubled the cost of a small commit.
SQLITE_WAL_CHECKPOINT_PAGES = 10_000


def make_engine(url: str) -> Engine:
    """Create the engine for a metadata database URL, tuned for its dialect."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver, so "begin" below decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back whole if it raises."""
    with translate_errors(), engine.connect() as connection:
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            yield connection


@contextlib.contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction: a consistent snapshot that takes no write lock."""
    with translate_errors(), engine.connect() as connection, connection.begin():
        yield connection


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy and driver errors as the ``ModelcycleError`` they mean."""
    try:
        yield
    except ModelcycleError:
        raise
    except sa_exc.IntegrityError as exc:
        message = str(exc.orig)
        if "FOREIGN KEY" in message.upper() or "foreign key" in message:
            raise NotFound(
                f"a referenced object does not exist: {message}", details={"driver": message}
            ) from exc
        raise AlreadyExists(
            f"a row with the same key already exists: {message}", details={"driver": message}
        ) from exc
    except sa_exc.DataError as exc:
        # A value the database cannot hold (NUL in text, a number out of range, text longer
        # than its column on PostgreSQL) that no check before the write caught: the caller's.
        message = str(exc.orig).strip()
        raise InvalidInput(
            f"the store cannot hold a value given: {message}", details={"driver": message}
        ) from exc
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        message = str(exc.orig) if getattr(exc, "orig", None) is not None else str(exc)
        raise StoreUnavailable(
            f"the metadata database could not be used: {message}. Check that it is running "
            "and reachable, and that the path or URL in MODELCYCLE_URI is right.",
            details={"driver": message},
        ) from exc
