"""``modelcycle users|tokens|audit``: bootstrapping an admin against the store, tokens shown
once, listings for people and machines, and errors with their class's exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from modelcycle.auth import AuthService, Role
from modelcycle.config import resolve_uri
from modelcycle.errors import Unauthenticated
from modelcycle.store import opened

Invoke = Callable[..., Result]


def _json(result: Result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _authenticate(home: Path, token: str) -> tuple[str, Role]:
    with opened(resolve_uri(str(home))) as store:
        principal = AuthService(store).authenticate(token)
    return principal.user, principal.role


def test_users_create_bootstraps_an_admin_whose_token_works(invoke: Invoke, home: Path) -> None:
    result = invoke("users", "create", "alice", "--role", "admin")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("mct_")
    assert "Created user alice (admin)" in result.stdout
    assert "not shown again" in result.stderr
    assert _authenticate(home, token) == ("alice", Role.ADMIN)


def test_users_create_json(invoke: Invoke, home: Path) -> None:
    created = _json(invoke("users", "create", "bob", "--role", "editor", "--json"))
    assert set(created) == {"token", "user", "role", "token_id"}
    assert (created["user"], created["role"]) == ("bob", "editor")
    assert created["token"].startswith(f"mct_{created['token_id']}_")
    assert _authenticate(home, created["token"]) == ("bob", Role.EDITOR)


def test_users_create_defaults_to_viewer(invoke: Invoke) -> None:
    assert _json(invoke("users", "create", "carol", "--json"))["role"] == "viewer"


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (("users", "create", "bad name"), 2, "is not valid"),
        (("users", "create", "x", "--role", "root"), 2, "viewer, editor, admin"),
        (("users", "set-role", "ghost", "admin"), 3, "'ghost' does not exist"),
        (("users", "disable", "ghost"), 3, "'ghost' does not exist"),
        (("tokens", "create", "ghost"), 3, "'ghost' does not exist"),
        (("tokens", "revoke", "0123456789ab"), 3, "no API token"),
        (("tokens", "revoke", "nope"), 2, "not a token id"),
        (("tokens", "list", "--user", "ghost"), 3, "'ghost' does not exist"),
        (("audit", "list", "--since", "last week"), 2, "not a date"),
        (("audit", "list", "--limit", "20000"), 2, "limit must be"),
    ],
)
def test_errors_exit_with_their_class_code(
    invoke: Invoke, args: tuple[str, ...], exit_code: int, message: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == exit_code, result.stdout
    assert message in result.stderr
    assert result.stdout == ""


def test_a_taken_name_exits_4(invoke: Invoke) -> None:
    invoke("users", "create", "alice", "--role", "admin")
    result = invoke("users", "create", "alice")
    assert result.exit_code == 4
    assert "Already exists" in result.stderr


def test_users_list_set_role_disable_enable(invoke: Invoke) -> None:
    invoke("users", "create", "alice", "--role", "admin")
    invoke("users", "create", "bob")
    listed = invoke("users", "list")
    assert listed.exit_code == 0, listed.stderr
    assert "alice" in listed.stdout and "viewer" in listed.stdout
    assert "bob is now editor" in invoke("users", "set-role", "bob", "editor").stdout
    disabled = _json(invoke("users", "disable", "bob", "--json"))
    assert (disabled["name"], disabled["role"], disabled["disabled"]) == ("bob", "editor", True)
    users = _json(invoke("users", "list", "--json"))["users"]
    assert [(u["name"], u["disabled"]) for u in users] == [("alice", False), ("bob", True)]
    assert "bob is enabled" in invoke("users", "enable", "bob").stdout
    last_admin = invoke("users", "disable", "alice")
    assert last_admin.exit_code == 2 and "no enabled admin" in last_admin.stderr


def test_an_empty_store_lists_no_users(invoke: Invoke) -> None:
    assert "No users yet" in invoke("users", "list").stdout
    assert _json(invoke("users", "list", "--json")) == {"users": []}


def test_tokens_create_list_revoke(invoke: Invoke, home: Path) -> None:
    invoke("users", "create", "alice", "--role", "admin")
    created = _json(invoke("tokens", "create", "alice", "--description", "CI", "--json"))
    assert created["user"] == "alice" and created["description"] == "CI"
    assert _authenticate(home, created["token"])[0] == "alice"

    listed = _json(invoke("tokens", "list", "--user", "alice", "--json"))["tokens"]
    assert [t["token_id"] for t in listed][-1] == created["token_id"]
    secret = created["token"].split("_", 2)[2]
    table = invoke("tokens", "list")
    assert created["token_id"] in table.stdout and "active" in table.stdout
    assert secret not in table.stdout and secret not in json.dumps(listed)

    revoked = invoke("tokens", "revoke", created["token_id"])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    with pytest.raises(Unauthenticated):
        _authenticate(home, created["token"])
    again = _json(invoke("tokens", "revoke", created["token_id"], "--json"))
    assert again["revoked_at"] is not None
    assert "revoked" in invoke("tokens", "list").stdout


def test_tokens_create_prints_the_token_once(invoke: Invoke, home: Path) -> None:
    invoke("users", "create", "alice", "--role", "admin")
    result = invoke("tokens", "create", "alice")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert "not shown again" in result.stderr
    assert _authenticate(home, token)[0] == "alice"


def test_audit_list_shows_cli_changes(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelcycle.config import reset_settings_cache

    monkeypatch.setenv("MODELCYCLE_USER", "ops")
    reset_settings_cache()
    invoke("users", "create", "alice", "--role", "admin")
    invoke("users", "create", "bob")
    invoke("users", "set-role", "bob", "editor")
    entries = _json(invoke("audit", "list", "--json"))["entries"]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("users.set_role", "users/bob"),
        ("users.create", "users/bob"),
        ("users.create", "users/alice"),
    ]
    assert {(e["user"], e["source"], e["status"]) for e in entries} == {("ops", "cli", 200)}
    assert entries[0]["details"] == {"role": "editor"}

    only = _json(invoke("audit", "list", "--action", "users.set_role", "--json"))["entries"]
    assert len(only) == 1
    assert _json(invoke("audit", "list", "--user", "nobody", "--json"))["entries"] == []
    assert _json(invoke("audit", "list", "--since", "2999-01-01", "--json"))["entries"] == []

    first = _json(invoke("audit", "list", "--limit", "2", "--json"))
    assert len(first["entries"]) == 2 and first["next_page_token"]
    rest = _json(
        invoke("audit", "list", "--limit", "2", "--page-token", first["next_page_token"], "--json")
    )
    assert [e["target"] for e in rest["entries"]] == ["users/alice"]
    assert rest["next_page_token"] is None

    table = invoke("audit", "list", "--limit", "2", "--user", "ops")
    assert table.exit_code == 0, table.stderr
    assert "users.set_role" in table.stdout
    assert "--page-token" in table.stdout and "--user ops" in table.stdout


def test_auth_commands_refuse_a_server_uri(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelcycle.config import reset_settings_cache

    monkeypatch.setenv("MODELCYCLE_URI", "http://127.0.0.1:5000")
    reset_settings_cache()
    for args in (("users", "list"), ("tokens", "list"), ("audit", "list")):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "run against the store itself" in result.stderr


@pytest.mark.postgres
def test_users_create_on_a_database_url_needs_no_artifact_root(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, postgres_schema_url: str
) -> None:
    from sqlalchemy import create_engine, text

    from modelcycle.config import reset_settings_cache

    monkeypatch.setenv("MODELCYCLE_URI", postgres_schema_url)
    reset_settings_cache()
    created = _json(invoke("users", "create", "pg-admin", "--role", "admin", "--json"))
    try:
        assert created["role"] == "admin"
    finally:
        engine = create_engine(postgres_schema_url)
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE users, api_tokens, audit_log CASCADE"))
        engine.dispose()


def test_help_of_every_command(invoke: Invoke) -> None:
    for group, commands in {
        "users": ("create", "list", "set-role", "disable", "enable"),
        "tokens": ("create", "list", "revoke"),
        "audit": ("list",),
    }.items():
        for command in commands:
            result = invoke(group, command, "--help")
            assert result.exit_code == 0, (group, command)
            assert "--json" in result.stdout
