"""``modelcycle server`` refuses unsafe or impossible starts before it serves anything."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from modelcycle.cli.main import app
from modelcycle.cli.server import is_loopback

POSTGRES_SERVER = os.environ.get(
    "MODELCYCLE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def test_refuses_no_auth_on_a_public_address() -> None:
    result = CliRunner().invoke(app, ["server", "--host", "0.0.0.0", "--no-auth"])
    assert result.exit_code == 2
    assert "refusing to serve without auth on 0.0.0.0" in result.output


def test_refuses_auth_disabled_by_environment_on_a_public_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELCYCLE_SERVER_AUTH", "false")
    result = CliRunner().invoke(app, ["server", "--host", "10.1.2.3"])
    assert result.exit_code == 2 and "without auth" in result.output


def test_refuses_a_server_uri_as_its_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELCYCLE_URI", "http://127.0.0.1:5000")
    result = CliRunner().invoke(app, ["server"])
    assert result.exit_code == 2 and "names a server" in result.output


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")


@pytest.mark.postgres
def test_outdated_postgres_schema_says_how_to_upgrade(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schema = f"mc_empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_SERVER)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the same rule as tests/conftest.py: skip locally, fail in CI
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is not usable: {exc}")
        pytest.skip(f"PostgreSQL is not usable: {exc}")
    try:
        monkeypatch.setenv("MODELCYCLE_URI", f"{POSTGRES_SERVER}?options=-csearch_path%3D{schema}")
        monkeypatch.setenv("MODELCYCLE_ARTIFACTS", str(tmp_path / "objects"))
        result = CliRunner().invoke(app, ["server"])
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    assert result.exit_code == 8
    assert "modelcycle db upgrade" in result.output


def test_help_describes_every_option() -> None:
    result = CliRunner().invoke(app, ["server", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--no-auth", "MODELCYCLE_TOKEN"):
        assert option in result.output
