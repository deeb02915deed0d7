"""Roles: viewer < editor < admin, parsed by name."""

from __future__ import annotations

import pytest

from modelcycle.auth import Principal, Role
from modelcycle.errors import InvalidInput, PermissionDenied


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.EDITOR, False),
        (Role.VIEWER, Role.ADMIN, False),
        (Role.EDITOR, Role.VIEWER, True),
        (Role.EDITOR, Role.EDITOR, True),
        (Role.EDITOR, Role.ADMIN, False),
        (Role.ADMIN, Role.VIEWER, True),
        (Role.ADMIN, Role.EDITOR, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_each_role_includes_the_ones_below(role: Role, needed: Role, allowed: bool) -> None:
    assert role.allows(needed) is allowed
    assert role.allows(needed.value) is allowed
    assert Principal("u", role, "0123456789ab").allows(needed) is allowed


def test_rank_is_not_alphabetical() -> None:
    # "admin" < "editor" < "viewer" as text: the ranking must not come from string order.
    assert [r.rank for r in (Role.VIEWER, Role.EDITOR, Role.ADMIN)] == [0, 1, 2]


def test_parse() -> None:
    assert Role.parse("ADMIN") is Role.ADMIN
    assert Role.parse(Role.EDITOR) is Role.EDITOR
    with pytest.raises(InvalidInput, match="unknown role 'owner'; the roles are viewer"):
        Role.parse("owner")
    with pytest.raises(InvalidInput):
        Role.VIEWER.allows("nobody")


def test_principal_is_frozen() -> None:
    principal = Principal("u", Role.ADMIN, "0123456789ab")
    with pytest.raises(AttributeError):
        principal.role = Role.VIEWER  # type: ignore[misc]


def test_require_names_the_user_the_role_and_the_fix() -> None:
    viewer = Principal("bob", Role.VIEWER, "0123456789ab")
    viewer.require(Role.VIEWER)
    with pytest.raises(PermissionDenied, match="'bob' is viewer and may not delete runs") as no:
        viewer.require("editor", "delete runs")
    assert "modelcycle users set-role bob editor" in no.value.message
    assert no.value.details == {"user": "bob", "role": "viewer", "needed": "editor"}
    Principal("root", Role.ADMIN, "0123456789ab").require(Role.EDITOR)
