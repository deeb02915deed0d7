"""Schema migrations: the head constant, self-migration of an embedded store, server databases."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from modelcycle.config import resolve_uri
from modelcycle.errors import SchemaOutdated, StoreUnavailable
from modelcycle.store import database_revision, open_store, upgrade_database
from modelcycle.store._migrate import HEAD_REVISION, MIGRATIONS_DIR
from modelcycle.store.tables import metadata


def test_head_constant_matches_the_migration_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrations_create_exactly_the_declared_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert upgrade_database(url) == (None, HEAD_REVISION)
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set(metadata.tables)
    assert upgrade_database(url) == (HEAD_REVISION, HEAD_REVISION)  # a second run is a no-op


def _open(home: str) -> str | None:
    store = open_store(resolve_uri(home))
    store.close()
    return database_revision(resolve_uri(home).url)[0]


def test_processes_opening_a_new_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        revisions = pool.map(_open, [home] * 4)
    assert revisions == [HEAD_REVISION] * 4


def test_server_database_is_not_migrated_on_open(postgres_schema_url: str, tmp_path: Path) -> None:
    admin = create_engine(postgres_schema_url.split("?")[0])
    with admin.begin() as connection:
        connection.execute(text('DROP SCHEMA IF EXISTS "mc_outdated" CASCADE'))
        connection.execute(text('CREATE SCHEMA "mc_outdated"'))
    url = postgres_schema_url.split("?")[0] + "?options=-csearch_path%3Dmc_outdated"
    try:
        with pytest.raises(SchemaOutdated, match="modelcycle db upgrade"):
            open_store(resolve_uri(url, str(tmp_path)))
        assert upgrade_database(url) == (None, HEAD_REVISION)
        open_store(resolve_uri(url, str(tmp_path))).close()
    finally:
        with admin.begin() as connection:
            connection.execute(text('DROP SCHEMA "mc_outdated" CASCADE'))
        admin.dispose()


def test_unreachable_database_is_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="reachable"):
        open_store(resolve_uri("postgresql+psycopg://nobody@127.0.0.1:1/none", str(tmp_path)))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_migrated_schema_equals_the_declared_tables(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Autogenerate finds nothing to add: the migration and the table modules agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
        upgrade_database(url)
    else:
        url = request.getfixturevalue("postgres_schema_url")
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_current_store_is_shared_and_refuses_a_server(tmp_path: Path) -> None:
    from modelcycle.config import config_context
    from modelcycle.errors import InvalidInput
    from modelcycle.store import close_current_stores, current_store

    with config_context(uri=str(tmp_path / "home")):
        assert current_store() is current_store()
    with config_context(uri="http://127.0.0.1:5000"), pytest.raises(InvalidInput, match="server"):
        current_store()
    close_current_stores()


def test_asking_the_revision_of_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "modelcycle.db"
    assert database_revision(f"sqlite:///{missing}") == (None, HEAD_REVISION)
    assert not missing.exists()
