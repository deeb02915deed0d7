"""Driver errors become the ``ModelcycleError`` they mean, on every backend: a value the database
cannot hold is the caller's ``InvalidInput`` (exit 2, HTTP 400), never a raw driver error, and
the transaction it was in leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, func, select

from modelcycle.errors import AlreadyExists, InvalidInput
from modelcycle.store import Store, open_store, resolve_uri

_scratch = MetaData()
PROBE = Table(
    "translated_errors_probe",
    _scratch,
    Column("id", Integer, primary_key=True),
    Column("short", String(8)),
    Column("body", Text),
    Column("small", Integer),
)


def _with_probe(store: Store) -> Iterator[Store]:
    with store.write() as connection:
        PROBE.drop(connection, checkfirst=True)
        PROBE.create(connection)
    yield store
    with store.write() as connection:
        PROBE.drop(connection, checkfirst=True)


@pytest.fixture
def probe(store: Store) -> Iterator[Store]:
    """The probe table in a store of each backend."""
    yield from _with_probe(store)


@pytest.fixture
def postgres_probe(postgres_schema_url: str, tmp_path: Path) -> Iterator[Store]:
    """The probe table on PostgreSQL, where values are checked against their columns (SQLite
    stores them as given, so there is nothing to translate there)."""
    store = open_store(resolve_uri(postgres_schema_url, str(tmp_path / "objects")))
    try:
        yield from _with_probe(store)
    finally:
        store.close()


def _rows(store: Store) -> int:
    with store.read() as connection:
        return connection.execute(select(func.count()).select_from(PROBE)).scalar_one()


def test_a_duplicate_key_is_already_exists(probe: Store) -> None:
    with probe.write() as connection:
        connection.execute(PROBE.insert().values(id=1))
    with pytest.raises(AlreadyExists), probe.write() as connection:
        connection.execute(PROBE.insert().values(id=1))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "values",
    [
        {"body": "nul\x00inside"},
        {"small": 2**40},
        {"short": "far longer than eight"},
    ],
    ids=["nul in text", "integer out of range", "text over its column"],
)
def test_a_value_the_database_cannot_hold_is_invalid_input(
    postgres_probe: Store, values: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput, match="the store cannot hold a value given") as caught:
        with postgres_probe.write() as connection:
            connection.execute(PROBE.insert().values(id=1))
            connection.execute(PROBE.insert().values(id=2, **values))
    assert caught.value.details["driver"]
    assert _rows(postgres_probe) == 0  # the whole transaction was rolled back
