"""Hashing token secrets with argon2id, the password-hashing winner (RFC 9106).

A salted, memory-hard hash means a copy of the database is no use to whoever takes it: every
secret would have to be brute-forced one by one at ~50 ms and 64 MiB a guess. The hash string
carries its own parameters, so a hasher with other costs (tests use cheap ones) still verifies
what the production defaults wrote, and the other way round.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def default_hasher() -> PasswordHasher:
    """argon2-cffi's defaults: argon2id, t=3, m=64 MiB, p=4 (RFC 9106's second recommendation)."""
    return PasswordHasher()


def matches(hasher: PasswordHasher, secret_hash: str, secret: str) -> bool:
    """Whether ``secret`` is the one ``secret_hash`` was made from; a damaged hash never is."""
    try:
        return hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
