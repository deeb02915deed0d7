"""API tokens: the format, authentication, revocation, the verified-token memory, last use."""

from __future__ import annotations

import pytest
from auth_helpers import CountingHasher, FakeClock, MakeUser
from sqlalchemy import select, text

from modelcycle.auth import AuthService, Principal, Role
from modelcycle.errors import InvalidInput, NotFound, Unauthenticated
from modelcycle.store import Store
from modelcycle.store.tables.auth import api_tokens


def test_a_new_token_authenticates_as_its_user(auth: AuthService) -> None:
    user, token = auth.create_user("alice", "editor")
    principal = auth.authenticate(token)
    assert principal == Principal(user="alice", role=Role.EDITOR, token_id=principal.token_id)
    assert token.startswith(f"mct_{principal.token_id}_")
    assert auth.token_id_of(token) == principal.token_id
    assert principal.allows(Role.VIEWER) and not principal.allows("admin")


def test_tokens_are_stored_only_as_argon2id_hashes(auth: AuthService, store: Store) -> None:
    _, token = auth.create_user("alice", "admin")
    _, second = auth.create_token("alice", description="ci")
    secrets = [t.split("_", 2)[2] for t in (token, second)]
    with store.read() as connection:
        rows = connection.execute(select(api_tokens)).all()
        dump = " ".join(str(value) for row in rows for value in row)
    assert len(rows) == 2
    assert all(row.secret_hash.startswith("$argon2id$") for row in rows)
    for full, secret in zip((token, second), secrets, strict=True):
        assert full not in dump and secret not in dump


def test_a_wrong_secret_is_refused(auth: AuthService) -> None:
    _, token = auth.create_user("alice", "admin")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated) as refused:
        auth.authenticate(forged)
    assert "malformed, unknown or revoked" in refused.value.message
    assert forged not in str(refused.value.to_dict())


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a token",
        "mct_",
        "mct_abc_def",
        "Bearer mct_0123456789ab_" + "A" * 43,
        "mct_0123456789AB_" + "A" * 43,  # ids are lowercase hex
        "mct_0123456789ab_" + "A" * 10,  # too short a secret
        "mct_0123456789ab_" + "A" * 42 + "!",
    ],
)
def test_malformed_tokens_are_refused_with_the_same_message(auth: AuthService, token: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed, unknown or revoked"):
        auth.authenticate(token)


def test_an_unknown_token_is_refused(auth: AuthService) -> None:
    with pytest.raises(Unauthenticated, match="malformed, unknown or revoked"):
        auth.authenticate("mct_0123456789ab_" + "A" * 43)


def test_argon2_runs_once_per_token_then_the_row_is_still_read(
    auth: AuthService, hasher: CountingHasher
) -> None:
    _, token = auth.create_user("alice", "admin")
    for _ in range(3):
        auth.authenticate(token)
    assert hasher.verifications == 1
    # A second service in the process (another app, another request scope) shares the memory.
    other = AuthService(auth.store, hasher=hasher)
    assert other.authenticate(token).user == "alice"
    assert hasher.verifications == 1


def test_a_wrong_secret_is_never_remembered(auth: AuthService, hasher: CountingHasher) -> None:
    _, token = auth.create_user("alice", "admin")
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            auth.authenticate(forged)
    assert hasher.verifications == 2
    assert auth.authenticate(token).user == "alice"


def test_a_revoked_token_is_refused_at_once_even_when_remembered(auth: AuthService) -> None:
    _, token = auth.create_user("alice", "admin")
    token_id = auth.authenticate(token).token_id  # now remembered as verified
    revoked = auth.revoke_token(token_id)
    assert revoked.revoked_at is not None and not revoked.active
    with pytest.raises(Unauthenticated):
        auth.authenticate(token)


def test_revoking_twice_keeps_the_first_time(auth: AuthService, clock: FakeClock) -> None:
    _, token = auth.create_user("alice", "admin")
    token_id = auth.token_id_of(token)
    first = auth.revoke_token(token_id)
    clock.advance(3600)
    assert auth.revoke_token(token_id).revoked_at == first.revoked_at


def test_revoking_an_unknown_or_malformed_id(auth: AuthService) -> None:
    with pytest.raises(NotFound, match="0123456789ab"):
        auth.revoke_token("0123456789ab")
    with pytest.raises(InvalidInput, match="not a token id"):
        auth.revoke_token("xyz")
    _, token = auth.create_user("alice", "admin")
    with pytest.raises(InvalidInput, match="a full token") as refused:
        auth.revoke_token(token)
    assert token not in str(refused.value)


def test_a_disabled_user_is_refused_and_enabled_again(
    auth: AuthService, make_user: MakeUser
) -> None:
    make_user("root", "admin")
    token = make_user("bob", "editor")
    auth.authenticate(token)
    auth.disable_user("bob")
    with pytest.raises(Unauthenticated):
        auth.authenticate(token)
    auth.enable_user("bob")
    assert auth.authenticate(token).user == "bob"


def test_a_role_change_applies_to_the_next_request(auth: AuthService, make_user: MakeUser) -> None:
    make_user("root", "admin")
    token = make_user("bob", "viewer")
    assert auth.authenticate(token).role is Role.VIEWER
    auth.set_role("bob", "admin")
    assert auth.authenticate(token).role is Role.ADMIN
    auth.set_role("bob", Role.EDITOR)
    assert auth.authenticate(token).role is Role.EDITOR


def test_a_changed_stored_hash_is_verified_again(
    auth: AuthService, store: Store, hasher: CountingHasher
) -> None:
    """The memory is of a (token, hash) pair: a row given another hash is checked afresh."""
    _, token = auth.create_user("alice", "admin")
    auth.authenticate(token)
    other_hash = hasher.hash("some other secret")
    with store.write() as connection:
        connection.execute(api_tokens.update().values(secret_hash=other_hash))
    with pytest.raises(Unauthenticated):
        auth.authenticate(token)
    assert hasher.verifications == 2


def test_last_use_is_written_at_most_once_a_minute(
    auth: AuthService, store: Store, clock: FakeClock
) -> None:
    _, token = auth.create_user("alice", "admin")
    token_id = auth.token_id_of(token)

    def last_used() -> int | None:
        with store.read() as connection:
            return connection.execute(
                text("SELECT last_used_at FROM api_tokens WHERE id = :id"), {"id": token_id}
            ).scalar_one()

    assert last_used() is None
    auth.authenticate(token)
    first = clock.now
    assert last_used() == first
    clock.advance(30)
    auth.authenticate(token)
    assert last_used() == first
    clock.advance(31)
    auth.authenticate(token)
    assert last_used() == clock.now
    assert auth.list_tokens("alice")[0].last_used_at is not None


def test_create_token_for_unknown_or_disabled_users(
    auth: AuthService, make_user: MakeUser
) -> None:
    with pytest.raises(NotFound, match="ghost"):
        auth.create_token("ghost")
    make_user("root", "admin")
    make_user("bob")
    auth.disable_user("bob")
    with pytest.raises(InvalidInput, match="disabled"):
        auth.create_token("bob")
    with pytest.raises(InvalidInput, match="500"):
        auth.create_token("root", description="x" * 501)
    with pytest.raises(InvalidInput, match="NUL"):  # PostgreSQL text cannot hold one
        auth.create_token("root", description="a\x00b")
    assert len(auth.list_tokens("root")) == 1


def test_list_tokens_never_shows_secrets(
    auth: AuthService, make_user: MakeUser, clock: FakeClock
) -> None:
    alice = make_user("alice", "admin")
    clock.advance(1)
    bob = make_user("bob")
    clock.advance(1)
    info, extra = auth.create_token("bob", description="notebook")
    listed = auth.list_tokens()
    assert [t.user for t in listed] == ["alice", "bob", "bob"]
    assert listed[2] == info
    assert [t.token_id for t in auth.list_tokens("bob")] == [
        auth.token_id_of(bob),
        info.token_id,
    ]
    dumped = str([t.model_dump() for t in listed])
    for token in (alice, bob, extra):
        assert token.split("_", 2)[2] not in dumped
    with pytest.raises(NotFound):
        auth.list_tokens("ghost")


def test_token_id_of_a_non_token(auth: AuthService) -> None:
    with pytest.raises(InvalidInput, match="not a modelcycle API token"):
        auth.token_id_of("hunter2")


def test_production_hasher_is_argon2id_with_default_costs(store: Store) -> None:
    service = AuthService(store)
    _, token = service.create_user("alice", "admin")
    with store.read() as connection:
        stored = connection.execute(select(api_tokens.c.secret_hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert service.authenticate(token).user == "alice"


def _wrong_secret(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def test_guessing_a_secret_is_cut_off_before_argon2(
    auth: AuthService, make_user: MakeUser, hasher: CountingHasher, clock: FakeClock
) -> None:
    """Ten wrong secrets for one token id within a minute: further attempts on that id are
    refused without an argon2 check until the minute has passed."""
    token, other = make_user("alice"), make_user("bob")
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            auth.authenticate(_wrong_secret(token))
    checked = hasher.verifications
    for attempt in (_wrong_secret(token), token):  # the right secret waits too: never checked
        with pytest.raises(Unauthenticated):
            auth.authenticate(attempt)
    assert hasher.verifications == checked
    assert auth.authenticate(other).user == "bob"  # another id is not affected
    clock.advance(61)
    assert auth.authenticate(token).user == "alice"
    assert hasher.verifications == checked + 2


def test_a_token_verified_before_the_guessing_keeps_working(
    auth: AuthService, make_user: MakeUser, hasher: CountingHasher
) -> None:
    token = make_user("alice")
    assert auth.authenticate(token).user == "alice"
    for _ in range(12):
        with pytest.raises(Unauthenticated):
            auth.authenticate(_wrong_secret(token))
    assert hasher.verifications == 11  # the first check and ten wrong ones; two refused unchecked
    assert auth.authenticate(token).user == "alice"


def test_concurrent_guesses_cannot_pass_the_limit_together(store: Store, clock: FakeClock) -> None:
    """Each attempt is counted before its argon2 check, so 40 wrong guesses at once still run
    at most ten checks."""
    import threading

    class SlowCountingHasher(CountingHasher):
        def __init__(self) -> None:
            super().__init__()
            self.lock = threading.Lock()

        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            with self.lock:
                self.verifications += 1
            return super(CountingHasher, self).verify(hash, password)

    hasher = SlowCountingHasher()
    auth = AuthService(store, hasher=hasher, clock=clock)
    token = auth.create_user("alice", "viewer")[1]
    start = threading.Barrier(40)

    def guess() -> None:
        start.wait()
        with pytest.raises(Unauthenticated):
            auth.authenticate(_wrong_secret(token))

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hasher.verifications <= 10
