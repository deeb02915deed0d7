"""Live servers for the server tests: one subprocess per backend per session, emptied per test.

``server`` runs a test once behind SQLite and once behind PostgreSQL; ``sqlite_server`` only
behind SQLite, for tests whose subject is HTTP rather than the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import LiveServer, start

from modelcycle.config import resolve_uri


@pytest.fixture(scope="session")
def _live_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("live-sqlite")
    server = start("sqlite", resolve_uri(str(home / "store")), home, str(home / "store"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _live_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_schema_url: str
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("live-postgres")
    location = resolve_uri(postgres_schema_url, str(home / "objects"))
    server = start("postgres", location, home, postgres_schema_url)
    yield server
    server.stop()


@pytest.fixture(params=["http-sqlite", pytest.param("http-postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest) -> LiveServer:
    """A live server, empty but for its admin, behind each backend."""
    live: LiveServer = request.getfixturevalue(
        "_live_sqlite" if request.param == "http-sqlite" else "_live_postgres"
    )
    live.reset()
    return live


@pytest.fixture
def sqlite_server(_live_sqlite: LiveServer) -> LiveServer:
    _live_sqlite.reset()
    return _live_sqlite


@pytest.fixture
def artifact_root(sqlite_server: LiveServer) -> Path:
    return Path(sqlite_server.location.artifact_root or "")
