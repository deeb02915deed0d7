"""``AuthService``: users, API tokens, authentication and the audit log over the store.

Every method opens its own short transaction and returns frozen records. Secrets are hashed
before a write transaction begins, so argon2's deliberate slowness never holds a database lock.
No other domain imports this package: the server, the CLI and the serving app apply it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from modelcycle._internal.clock import now_ms
from modelcycle.auth import _audit, _hashing, _tokens
from modelcycle.auth import _validation as check
from modelcycle.auth._failures import FailedSecrets
from modelcycle.auth._verified import VERIFIED
from modelcycle.auth.entities import (
    AuditEvent,
    AuditPage,
    Principal,
    Role,
    TokenInfo,
    User,
    from_millis,
)
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from modelcycle.store import Store
from modelcycle.store.tables.auth import api_tokens, users

if TYPE_CHECKING:
    from argon2 import PasswordHasher

LAST_USED_INTERVAL_MS = 60_000
"""``last_used_at`` is written at most this often per token: a write per request would turn
every read of the API into a write transaction."""

_REFUSED = (
    "the API token is not valid: it is malformed, unknown or revoked, or its user is disabled. "
    "Send the whole token (mct_…) as `Authorization: Bearer TOKEN` (MODELCYCLE_TOKEN for the "
    "SDK), or ask an admin for a new one (`modelcycle tokens create USER`)."
)

# The authentication query runs on every API request: one primary-key lookup joined to the
# user's row by its primary key, built once.
_SELECT_TOKEN = (
    select(
        api_tokens.c.secret_hash,
        api_tokens.c.revoked_at,
        api_tokens.c.last_used_at,
        users.c.name,
        users.c.role,
        users.c.disabled,
    )
    .select_from(api_tokens.join(users, api_tokens.c.user_id == users.c.id))
    .where(api_tokens.c.id == bindparam("token_id"))
)
_TOUCH_TOKEN = (
    update(api_tokens)
    .where(
        api_tokens.c.id == bindparam("token_id"),
        or_(
            api_tokens.c.last_used_at.is_(None),
            api_tokens.c.last_used_at <= bindparam("stale_before"),
        ),
    )
    .values(last_used_at=bindparam("used_at"))
)
_TOKEN_COLUMNS = (
    api_tokens.c.id,
    users.c.name.label("user_name"),
    api_tokens.c.description,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


class AuthService:
    """Users, their API tokens and roles, and the audit log, over a :class:`Store`.

    Args:
        store: the platform's store; the service does not close it.
        hasher: the argon2 hasher of token secrets. The default is argon2id with argon2-cffi's
            recommended costs; tests pass a cheap one. Hashes carry their own parameters, so
            hashers with different costs verify each other's tokens.
        clock: milliseconds since the epoch (tests pass a fake one to move time).

    >>> from modelcycle.config import resolve_uri
    >>> from modelcycle.store import open_store
    >>> auth = AuthService(open_store(resolve_uri("/tmp/mc-auth-doctest")))  # doctest: +SKIP
    >>> user, token = auth.create_user("alice", "admin")  # doctest: +SKIP
    >>> auth.authenticate(token).role  # doctest: +SKIP
    <Role.ADMIN: 'admin'>
    """

    def __init__(
        self,
        store: Store,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._hasher = hasher or _hashing.default_hasher()
        self._clock = clock
        self._failures = FailedSecrets()

    @property
    def store(self) -> Store:
        return self._store

    # -- users -------------------------------------------------------------------------------

    def create_user(self, name: str, role: Role | str) -> tuple[User, str]:
        """Create a user and their first API token, together or not at all.

        Returns:
            The user and the token: ``mct_<id>_<secret>``. The secret is not stored, so this is
            the only time the token can be seen.

        Raises:
            InvalidInput: the name is not a valid user name, or the role is unknown.
            AlreadyExists: a user of that name exists.
        """
        name = check.user_name(name)
        checked_role = Role.parse(role)
        token_id, secret, token = _tokens.new_token()
        secret_hash = self._hasher.hash(secret)
        created = self._clock()
        with self._store.write() as connection:
            if _find_user(connection, name) is not None:
                raise AlreadyExists(
                    f"user {name!r} already exists; `modelcycle tokens create {name}` gives it "
                    "another token",
                    details={"user": name},
                )
            user_id = connection.execute(
                insert(users)
                .values(name=name, role=checked_role.value, created_at=created, disabled=False)
                .returning(users.c.id)
            ).scalar_one()
            _insert_token(connection, token_id, user_id, secret_hash, "first token", created)
        return User(name=name, role=checked_role, created_at=from_millis(created)), token

    def get_user(self, name: str) -> User:
        """The user called ``name``.

        Raises:
            NotFound: there is no such user.
        """
        with self._store.read() as connection:
            return _user_record(_require_user(connection, name))

    def list_users(self) -> list[User]:
        """Every user, disabled ones included, by name."""
        with self._store.read() as connection:
            rows = connection.execute(select(users).order_by(users.c.name)).all()
        return [_user_record(row) for row in rows]

    def set_role(self, name: str, role: Role | str) -> User:
        """Give ``name`` another role; requests with their tokens see it at once.

        Raises:
            InvalidInput: the role is unknown, or this would leave no enabled admin.
            NotFound: there is no such user.
        """
        return self.update_user(name, role=role)

    def disable_user(self, name: str) -> User:
        """Disable ``name``: every token of theirs stops working at once (and works again if
        the user is enabled). Disabling a disabled user changes nothing.

        Raises:
            InvalidInput: ``name`` is the last enabled admin.
            NotFound: there is no such user.
        """
        return self.update_user(name, disabled=True)

    def enable_user(self, name: str) -> User:
        """Enable a disabled user again; their tokens that are not revoked work again.

        Raises:
            NotFound: there is no such user.
        """
        return self.update_user(name, disabled=False)

    def update_user(
        self, name: str, *, role: Role | str | None = None, disabled: bool | None = None
    ) -> User:
        """Change ``name``'s role and whether they are disabled, together, in one transaction
        (what is not given stays); with neither, the user as they are.

        Raises:
            InvalidInput: the role is unknown, or the change would leave no enabled admin.
            NotFound: there is no such user.
        """
        checked_role = None if role is None else Role.parse(role)
        changes: dict[str, Any] = {}
        if checked_role is not None:
            changes["role"] = checked_role.value
        if disabled is not None:
            changes["disabled"] = disabled
        with self._store.write() as connection:
            row = _require_user(connection, name)
            if disabled is True:
                _keep_an_admin(connection, row, f"disabling {name!r}")
            elif checked_role is not None and checked_role is not Role.ADMIN:
                _keep_an_admin(connection, row, f"making {name!r} {checked_role.value}")
            if changes:
                connection.execute(update(users).where(users.c.id == row.id).values(**changes))
            return _user_record(_require_user(connection, name))

    # -- tokens ------------------------------------------------------------------------------

    def create_token(self, user: str, *, description: str | None = None) -> tuple[TokenInfo, str]:
        """A new API token for ``user``.

        Returns:
            What may be shown of the token, and the token itself, seen only this once.

        Raises:
            InvalidInput: the user is disabled, or the description is too long.
            NotFound: there is no such user.
        """
        text = check.description(description)
        token_id, secret, token = _tokens.new_token()
        secret_hash = self._hasher.hash(secret)
        created = self._clock()
        with self._store.write() as connection:
            row = _require_user(connection, user)
            if row.disabled:
                raise InvalidInput(
                    f"user {user!r} is disabled; `modelcycle users enable {user}` first",
                    details={"user": user},
                )
            _insert_token(connection, token_id, row.id, secret_hash, text, created)
        info = TokenInfo(
            token_id=token_id, user=user, description=text, created_at=from_millis(created)
        )
        return info, token

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token: the next request that carries it is refused. Revoking a revoked token
        keeps its first revocation time.

        Raises:
            InvalidInput: ``token_id`` is not a token id (a whole token is refused, not echoed).
            NotFound: no token has that id.
        """
        token_id = check.token_id(token_id)
        with self._store.write() as connection:
            connection.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
            row = connection.execute(_tokens_query().where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound(
                f"no API token has the id {token_id!r}; `modelcycle tokens list` shows them",
                details={"token_id": token_id},
            )
        return _token_record(row)

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        """Tokens (of ``user``, or everyone's), oldest first, revoked ones included; never a
        secret, which is not stored.

        Raises:
            NotFound: ``user`` is given and there is no such user.
        """
        query = _tokens_query().order_by(api_tokens.c.created_at, api_tokens.c.id)
        with self._store.read() as connection:
            if user is not None:
                query = query.where(api_tokens.c.user_id == _require_user(connection, user).id)
            rows = connection.execute(query).all()
        return [_token_record(row) for row in rows]

    # -- authentication ----------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        """Who ``token`` belongs to, and their role now.

        The token's row is read on every call (one primary-key lookup), so a revoked token, a
        disabled user or a new role takes effect on the next request. The argon2 check of the
        secret runs once per token and process; later calls compare against what it verified.
        After 10 wrong secrets for one token id within a minute, further attempts on that id
        are refused without the argon2 check until the minute has passed (``_failures``).

        Raises:
            Unauthenticated: the token is malformed, unknown, revoked, its secret is wrong or
                its user is disabled; the message does not say which.
        """
        parsed = _tokens.parse(token)
        if parsed is None:
            raise Unauthenticated(_REFUSED)
        with self._store.read() as connection:
            row = connection.execute(_SELECT_TOKEN, {"token_id": parsed.token_id}).first()
        if row is None or row.revoked_at is not None or row.disabled:
            raise Unauthenticated(_REFUSED)
        fingerprint = _tokens.fingerprint(token)
        if not VERIFIED.verified(fingerprint, row.secret_hash):
            if not self._failures.reserve(parsed.token_id, self._clock()):
                raise Unauthenticated(_REFUSED)
            if not _hashing.matches(self._hasher, row.secret_hash, parsed.secret):
                raise Unauthenticated(_REFUSED)
            self._failures.succeeded(parsed.token_id)
            VERIFIED.remember(fingerprint, row.secret_hash)
        self._touch(parsed.token_id, row.last_used_at)
        return Principal(user=row.name, role=Role.parse(row.role), token_id=parsed.token_id)

    @staticmethod
    def token_id_of(token: str) -> str:
        """The public id of a token (the part listings, audit entries and revocation use).

        Raises:
            InvalidInput: ``token`` is not a modelcycle API token.
        """
        parsed = _tokens.parse(token)
        if parsed is None:
            raise InvalidInput("that is not a modelcycle API token (mct_<id>_<secret>)")
        return parsed.token_id

    def _touch(self, token_id: str, last_used_at: int | None) -> None:
        """Record that the token was used, unless that was recorded less than a minute ago.

        The condition is checked again in the UPDATE, so replicas racing on one token write once.
        """
        now = self._clock()
        stale_before = now - LAST_USED_INTERVAL_MS
        if last_used_at is not None and last_used_at > stale_before:
            return
        with self._store.write() as connection:
            connection.execute(
                _TOUCH_TOKEN,
                {"token_id": token_id, "stale_before": stale_before, "used_at": now},
            )

    # -- audit -------------------------------------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        """Append one event to the audit log (one insert).

        A target or source longer than its column is shortened rather than refused: an audit
        entry must not be lost to a long request path.

        Raises:
            InvalidInput: the event is malformed (empty action, negative status, details that
                are not JSON).
        """
        row = _audit.audit_row(event)
        with self._store.write() as connection:
            _audit.insert_events(connection, [row])

    def record_many(self, events: Iterable[AuditEvent]) -> int:
        """Append several events in one transaction (all or none), for writers that batch.

        Returns:
            How many events were recorded.

        Raises:
            InvalidInput: an event is malformed; none is recorded.
        """
        rows = [_audit.audit_row(event) for event in events]
        if rows:
            with self._store.write() as connection:
                _audit.insert_events(connection, rows)
        return len(rows)

    def list_audit(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        since_ms: int | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> AuditPage:
        """Audit entries matching every given filter, newest recorded first, a page at a time.

        Args:
            user: only entries of this user.
            action: only entries with exactly this action.
            since_ms: only entries at or after this time (milliseconds since the epoch).
            limit: entries per page, 1 to 10,000.
            page_token: the previous page's ``next_page_token``, with the same filters.

        Raises:
            InvalidInput: the limit is out of range, or the page token is not one issued for
                these filters.
        """
        with self._store.read() as connection:
            return _audit.list_entries(
                connection,
                user=user,
                action=action,
                since_ms=since_ms,
                limit=limit,
                page_token=page_token,
            )


def _find_user(connection: Connection, name: str) -> Any:
    if not isinstance(name, str):
        raise InvalidInput(
            f"a user name must be text, got {type(name).__name__}", details={"user": repr(name)}
        )
    if "\x00" in name:  # no user has one, and PostgreSQL cannot even compare it
        return None
    return connection.execute(select(users).where(users.c.name == name)).first()


def _require_user(connection: Connection, name: str) -> Any:
    row = _find_user(connection, name)
    if row is None:
        raise NotFound(
            f"user {name!r} does not exist; `modelcycle users list` shows the users",
            details={"user": name},
        )
    return row


def _keep_an_admin(connection: Connection, row: Any, change: str) -> None:
    """Refuse a change that would leave the platform with no enabled admin, since nobody could
    then manage users through the API (the store's command line still could)."""
    if row.role != Role.ADMIN.value or row.disabled:
        return
    # The enabled admins' rows are locked until the change commits (FOR UPDATE; SQLite's write
    # transactions are serialised anyway): two admins demoting each other at once on
    # PostgreSQL would otherwise each see the other still enabled, and both succeed.
    admins = connection.execute(
        select(users.c.id)
        .where(and_(users.c.role == Role.ADMIN.value, users.c.disabled.is_(False)))
        .with_for_update()
    ).scalars()
    if not any(admin != row.id for admin in admins):
        raise InvalidInput(
            f"{change} would leave no enabled admin; make another user admin first",
            details={"user": row.name},
        )


def _insert_token(
    connection: Connection,
    token_id: str,
    user_id: int,
    secret_hash: str,
    description: str | None,
    created: int,
) -> None:
    connection.execute(
        insert(api_tokens).values(
            id=token_id,
            user_id=user_id,
            secret_hash=secret_hash,
            description=description,
            created_at=created,
        )
    )


def _tokens_query() -> Any:
    return select(*_TOKEN_COLUMNS).select_from(
        api_tokens.join(users, api_tokens.c.user_id == users.c.id)
    )


def _user_record(row: Any) -> User:
    return User(
        name=row.name,
        role=Role.parse(row.role),
        created_at=from_millis(row.created_at),
        disabled=bool(row.disabled),
    )


def _token_record(row: Any) -> TokenInfo:
    return TokenInfo(
        token_id=row.id,
        user=row.user_name,
        description=row.description,
        created_at=from_millis(row.created_at),
        last_used_at=None if row.last_used_at is None else from_millis(row.last_used_at),
        revoked_at=None if row.revoked_at is None else from_millis(row.revoked_at),
    )
