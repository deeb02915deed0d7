"""Fixtures shared by every test: a clean environment, and stores on SQLite and PostgreSQL.

PostgreSQL tests use the server on 127.0.0.1:5432 (database ``test``). Each test session gets
its own schema, migrated once; each test starts from empty tables. Under ``CI=true`` an
unreachable server fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import modelcycle.data._fluent as data_fluent
import modelcycle.monitoring._fluent as monitoring_fluent
import modelcycle.registry._fluent as registry_fluent
import modelcycle.serving._deploy_fluent as deploy_fluent
import modelcycle.tracking._fluent as fluent
from modelcycle.config import StoreLocation, config_context, reset_settings_cache, resolve_uri
from modelcycle.store import Store, open_store
from modelcycle.store._migrate import upgrade
from modelcycle.store.tables import metadata

POSTGRES_SERVER = os.environ.get(
    "MODELCYCLE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No MODELCYCLE_* variable leaks in, and each test runs in its own working directory."""
    for name in list(os.environ):
        if name.startswith("MODELCYCLE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    reset_settings_cache()
    yield
    fluent.close_all()
    data_fluent.close_all()
    registry_fluent.close_all()
    deploy_fluent.close_all()
    monitoring_fluent.close_all()
    reset_settings_cache()


@pytest.fixture
def mc_home(tmp_path: Path) -> Iterator[Path]:
    """An embedded platform in a temporary directory, in force for the SDK during the test."""
    home = tmp_path / "mc-home"
    with config_context(uri=str(home)):
        yield home


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of the test database, migrated to head."""
    schema = f"mc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_SERVER)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is down or refuses us
        admin.dispose()
        message = f"PostgreSQL at {POSTGRES_SERVER} is not usable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = f"{POSTGRES_SERVER}?options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _truncate_all(store: Store) -> None:
    names = ", ".join(f'"{t.name}"' for t in reversed(metadata.sorted_tables))
    with store.write() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(
    params=["local-sqlite", pytest.param("local-postgres", marks=pytest.mark.postgres)]
)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreLocation]:
    """A location for each backend the store runs on, empty at the start of the test."""
    if request.param == "local-sqlite":
        yield resolve_uri(str(tmp_path / "sqlite-home"))
        return
    url = request.getfixturevalue("postgres_schema_url")
    location = resolve_uri(url, str(tmp_path / "objects"))
    store = open_store(location)
    _truncate_all(store)
    store.close()
    yield location


@pytest.fixture
def store(store_location: StoreLocation) -> Iterator[Store]:
    opened = open_store(store_location)
    yield opened
    opened.close()
