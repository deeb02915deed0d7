"""Fixtures for the auth tests: the service over each backend, with a cheap argon2 hasher.

argon2id's production costs (64 MiB, ~50 ms a hash) would dominate these tests; the hash string
records its parameters, so what is verified is the same code path, only cheaper.
"""

from __future__ import annotations

import pytest
from auth_helpers import CountingHasher, FakeClock, MakeUser

from modelcycle.auth import AuthService
from modelcycle.store import Store


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def auth(store: Store, hasher: CountingHasher, clock: FakeClock) -> AuthService:
    return AuthService(store, hasher=hasher, clock=clock)


@pytest.fixture
def make_user(auth: AuthService) -> MakeUser:
    """Create a user and return their first token."""

    def make(name: str, role: str = "viewer") -> str:
        return auth.create_user(name, role)[1]

    return make
