"""``modelcycle db upgrade|current`` on SQLite files, platform directories and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import Result

from modelcycle.store._migrate import HEAD_REVISION

Invoke = Callable[..., Result]


def test_upgrade_a_fresh_sqlite_file(invoke: Invoke, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'meta.db'}"

    result = invoke("db", "upgrade", "--uri", url)

    assert result.exit_code == 0, result.stderr
    assert f"(empty) → {HEAD_REVISION}" in result.stdout
    assert (tmp_path / "new" / "meta.db").is_file()
    again = invoke("db", "upgrade", "--uri", url)
    assert again.exit_code == 0, again.stderr
    assert f"already at revision {HEAD_REVISION}" in again.stdout


def test_current_reports_empty_then_head(invoke: Invoke, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"

    empty = invoke("db", "current", "--uri", url, "--json")
    assert empty.exit_code == 0, empty.stderr
    assert json.loads(empty.stdout) == {
        "url": url,
        "current": None,
        "head": HEAD_REVISION,
        "up_to_date": False,
    }
    assert "behind: run `modelcycle db upgrade`" in invoke("db", "current", "--uri", url).stdout

    invoke("db", "upgrade", "--uri", url)
    current = json.loads(invoke("db", "current", "--uri", url, "--json").stdout)
    assert current["current"] == HEAD_REVISION
    assert current["up_to_date"] is True


def test_upgrade_defaults_to_the_configured_home(invoke: Invoke, home: Path) -> None:
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert str(home / "modelcycle.db") in result.stdout
    current = json.loads(invoke("db", "current", "--json").stdout)
    assert current["up_to_date"] is True


def test_a_server_uri_is_refused(invoke: Invoke) -> None:
    result = invoke("db", "upgrade", "--uri", "http://127.0.0.1:8080")
    assert result.exit_code == 2
    assert result.stderr.startswith("Invalid input: http://127.0.0.1:8080 is a modelcycle server")


def test_an_unknown_scheme_is_refused(invoke: Invoke) -> None:
    result = invoke("db", "current", "--uri", "mysql://db/modelcycle")
    assert result.exit_code == 2
    assert "unknown scheme 'mysql'" in result.stderr


@pytest.fixture
def empty_postgres_schema(postgres_schema_url: str) -> Iterator[str]:
    """A URL on a new, empty schema of the test server (the shared one is already migrated)."""
    server = postgres_schema_url.split("?", 1)[0]
    schema = f"mc_cli_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_upgrade_postgres_without_an_artifact_root(
    invoke: Invoke, empty_postgres_schema: str
) -> None:
    """An operator migrates a server database with only its URL: MODELCYCLE_ARTIFACTS unset."""
    result = invoke("db", "upgrade", "--uri", empty_postgres_schema)
    assert result.exit_code == 0, result.stderr
    assert f"(empty) → {HEAD_REVISION}" in result.stdout
    current = json.loads(invoke("db", "current", "--uri", empty_postgres_schema, "--json").stdout)
    assert current["up_to_date"] is True


def test_an_unreachable_database_exits_7_without_its_password(invoke: Invoke) -> None:
    result = invoke("db", "current", "--uri", "postgresql://user:s3cret@127.0.0.1:1/db")
    assert result.exit_code == 7
    assert result.stderr.startswith("Store unavailable: ")
    assert "s3cret" not in result.stderr
