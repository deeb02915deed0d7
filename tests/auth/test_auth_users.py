"""Users: creation with a first token in one transaction, names, roles, the last admin."""

from __future__ import annotations

import pytest
from auth_helpers import MakeUser
from sqlalchemy import func, select

from modelcycle.auth import AuthService, Role, User
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.store import Store
from modelcycle.store.tables.auth import api_tokens, users


def _count(store: Store, table: object) -> int:
    with store.read() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_create_get_and_list_users(auth: AuthService) -> None:
    alice, _ = auth.create_user("alice", "admin")
    assert alice.name == "alice" and alice.role is Role.ADMIN and not alice.disabled
    auth.create_user("bob@example.com", " Editor ")
    assert auth.get_user("alice") == alice
    assert [(u.name, u.role) for u in auth.list_users()] == [
        ("alice", Role.ADMIN),
        ("bob@example.com", Role.EDITOR),
    ]
    assert [t.description for t in auth.list_tokens("alice")] == ["first token"]


def test_a_taken_name_is_already_exists_and_writes_nothing(
    auth: AuthService, store: Store
) -> None:
    auth.create_user("alice", "admin")
    with pytest.raises(AlreadyExists, match="'alice' already exists"):
        auth.create_user("alice", "viewer")
    assert _count(store, users) == 1
    assert _count(store, api_tokens) == 1


@pytest.mark.parametrize(
    "name", ["", " alice", "-alice", "al ice", "alice/x", "a" * 65, "ålice", 42, None]
)
def test_bad_names_are_invalid_input(auth: AuthService, store: Store, name: object) -> None:
    with pytest.raises(InvalidInput, match="is not valid"):
        auth.create_user(name, "viewer")  # type: ignore[arg-type]
    assert _count(store, users) == 0


def test_an_unknown_role_names_the_roles_there_are(auth: AuthService, store: Store) -> None:
    with pytest.raises(InvalidInput, match="viewer, editor, admin") as refused:
        auth.create_user("alice", "superuser")
    assert refused.value.details["allowed"] == ["viewer", "editor", "admin"]
    assert _count(store, users) == 0
    auth.create_user("alice", "admin")
    with pytest.raises(InvalidInput, match="unknown role"):
        auth.set_role("alice", "root")
    assert auth.get_user("alice").role is Role.ADMIN


def test_a_failed_token_insert_leaves_no_user(
    auth: AuthService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user and the first token are one transaction: a token id collision undoes both."""
    from modelcycle.auth import _tokens

    auth.create_user("alice", "admin")
    taken = auth.list_tokens("alice")[0].token_id
    original = _tokens.new_token

    def colliding() -> tuple[str, str, str]:
        _, secret, _ = original()
        return taken, secret, f"mct_{taken}_{secret}"

    monkeypatch.setattr(_tokens, "new_token", colliding)
    with pytest.raises(AlreadyExists):
        auth.create_user("bob", "viewer")
    assert [u.name for u in auth.list_users()] == ["alice"]


def test_unknown_users_are_not_found(auth: AuthService) -> None:
    for call in (auth.get_user, auth.disable_user, auth.enable_user):
        with pytest.raises(NotFound, match="'ghost' does not exist"):
            call("ghost")
    with pytest.raises(NotFound):
        auth.set_role("ghost", "viewer")
    with pytest.raises(InvalidInput, match="must be text"):
        auth.get_user(7)  # type: ignore[arg-type]


def test_a_name_with_nul_is_not_found_on_every_backend(auth: AuthService) -> None:
    """PostgreSQL cannot compare text holding NUL; no user can have one, so: NotFound."""
    for call in (auth.get_user, auth.disable_user, auth.enable_user, auth.list_tokens):
        with pytest.raises(NotFound, match="does not exist"):
            call("a\x00b")
    with pytest.raises(NotFound):
        auth.create_token("a\x00b")


def test_the_last_enabled_admin_is_kept(auth: AuthService, make_user: MakeUser) -> None:
    make_user("root", "admin")
    with pytest.raises(InvalidInput, match="no enabled admin"):
        auth.set_role("root", "editor")
    with pytest.raises(InvalidInput, match="no enabled admin"):
        auth.disable_user("root")
    make_user("second", "admin")
    auth.disable_user("second")  # a disabled admin does not count
    with pytest.raises(InvalidInput, match="no enabled admin"):
        auth.disable_user("root")
    auth.enable_user("second")
    assert auth.set_role("root", "viewer").role is Role.VIEWER
    assert auth.set_role("second", "admin").role is Role.ADMIN  # unchanged role is fine


def test_two_admins_demoting_each_other_at_once_leave_one(
    auth: AuthService, make_user: MakeUser, store: Store
) -> None:
    """While one transaction demotes ``a`` (not yet committed), demoting ``b`` waits for it
    and then sees that ``b`` is the last enabled admin. Without the row locks, PostgreSQL
    would let both through and leave no admin."""
    import threading

    from modelcycle.auth import service as auth_service

    make_user("a", "admin")
    make_user("b", "admin")
    outcome: list[BaseException | User] = []
    with store.write() as connection:
        row = connection.execute(select(users).where(users.c.name == "a")).one()
        auth_service._keep_an_admin(connection, row, "making 'a' viewer")
        connection.execute(users.update().where(users.c.id == row.id).values(role="viewer"))

        def demote_b() -> None:
            try:
                outcome.append(auth.set_role("b", "viewer"))
            except BaseException as exc:  # noqa: BLE001 - the test inspects it
                outcome.append(exc)

        other = threading.Thread(target=demote_b)
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive() and outcome == []  # waiting for the first change to commit
    other.join(timeout=30)
    [result] = outcome
    assert isinstance(result, InvalidInput) and "no enabled admin" in str(result)
    assert {u.name: u.role for u in auth.list_users()} == {"a": Role.VIEWER, "b": Role.ADMIN}


def test_role_and_disabled_change_together_or_not_at_all(
    auth: AuthService, make_user: MakeUser
) -> None:
    make_user("root", "admin")
    make_user("bob", "editor")
    changed = auth.update_user("bob", role="admin", disabled=True)
    assert (changed.role, changed.disabled) == (Role.ADMIN, True)
    with pytest.raises(InvalidInput, match="no enabled admin"):
        auth.update_user("root", role="viewer", disabled=False)
    assert auth.get_user("root").role is Role.ADMIN
    assert auth.update_user("bob") == auth.get_user("bob")  # nothing asked, nothing changed
    with pytest.raises(InvalidInput, match="unknown role|role"):
        auth.update_user("bob", role="owner", disabled=False)
    assert auth.get_user("bob").disabled  # the refused call changed nothing


def test_disable_and_enable_are_idempotent(auth: AuthService, make_user: MakeUser) -> None:
    make_user("root", "admin")
    make_user("bob")
    assert auth.disable_user("bob").disabled
    assert auth.disable_user("bob").disabled
    assert not auth.enable_user("bob").disabled
    assert not auth.enable_user("bob").disabled


def test_records_serialise_for_the_api(auth: AuthService) -> None:
    user, _ = auth.create_user("alice", "admin")
    dumped = user.model_dump(mode="json")
    assert dumped["role"] == "admin" and dumped["disabled"] is False
    assert User.model_validate_json(user.model_dump_json()) == user
