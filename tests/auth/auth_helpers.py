"""Test doubles of the auth tests, importable by name (the test folders are not packages)."""

from __future__ import annotations

from collections.abc import Callable

from argon2 import PasswordHasher

MakeUser = Callable[..., str]
"""``make_user(name, role)`` → the user's first token."""


class CountingHasher(PasswordHasher):
    """A cheap argon2id hasher that counts the verifications it runs."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


class FakeClock:
    """Milliseconds that move only when a test says so."""

    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)
