"""Settings sources and MODELCYCLE_URI resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelcycle.config import (
    Settings,
    config_context,
    current_settings,
    reset_settings_cache,
    resolve_uri,
)
from modelcycle.errors import InvalidInput


def test_unset_uri_is_the_local_home(tmp_path: Path) -> None:
    location = resolve_uri(None)
    assert location.url == f"sqlite:///{tmp_path / '.modelcycle' / 'modelcycle.db'}"
    assert location.artifact_root == str(tmp_path / ".modelcycle" / "objects")


def test_directory_sqlite_postgres_and_http(tmp_path: Path) -> None:
    assert resolve_uri("somewhere").url == f"sqlite:///{tmp_path / 'somewhere' / 'modelcycle.db'}"
    sqlite = resolve_uri("sqlite:///data/meta.db")
    assert sqlite.artifact_root == str(tmp_path / "data" / "objects")
    postgres = resolve_uri("postgresql://u@h:5432/db", "s3://bucket/mc")
    assert postgres.url == "postgresql+psycopg://u@h:5432/db"
    assert postgres.artifact_root == "s3://bucket/mc"
    assert resolve_uri("http://127.0.0.1:5000/").kind == "http"


def test_bad_uris_name_the_fix() -> None:
    with pytest.raises(InvalidInput, match="MODELCYCLE_ARTIFACTS") as caught:
        resolve_uri("postgresql+psycopg://user:secret@h/db")
    assert "secret" not in str(caught.value)
    with pytest.raises(InvalidInput, match="unknown scheme 'ftp'"):
        resolve_uri("ftp://x")
    with pytest.raises(InvalidInput, match="names no file"):
        resolve_uri("sqlite://")


def test_environment_names_follow_the_settings_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELCYCLE_URI", "/srv/mc")
    monkeypatch.setenv("MODELCYCLE_TRACKING_FLUSH_INTERVAL", "2.5")
    reset_settings_cache()
    settings = current_settings()
    assert settings.uri == "/srv/mc"
    assert settings.tracking.flush_interval == 2.5


def test_toml_file_and_environment_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "modelcycle.toml").write_text('uri = "from-file"\n[tracking]\nflush_size = 7\n')
    assert Settings().uri == "from-file"
    assert Settings().tracking.flush_size == 7
    monkeypatch.setenv("MODELCYCLE_URI", "from-env")
    assert Settings().uri == "from-env"


def test_invalid_setting_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELCYCLE_TRACKING_FLUSH_SIZE", "0")
    with pytest.raises(ValueError, match="flush_size"):
        Settings()


def test_config_context_restores() -> None:
    before = current_settings()
    with config_context(uri="elsewhere", tracking={"flush_size": 3}) as inside:
        assert current_settings() is inside
        assert inside.tracking.flush_size == 3
        assert inside.tracking.flush_interval == before.tracking.flush_interval
    assert current_settings() is before
