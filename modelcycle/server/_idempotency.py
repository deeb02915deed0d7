"""Exactly-once writes for retried requests: answers remembered by ``Idempotency-Key``.

The client sends a fresh key with every metric batch (and every run's creation and end, every
model version); when the answer is lost after the server committed the write (a dropped
connection, a timeout), the client sends the same request with the same key again, and the
server answers it from the first attempt instead of writing twice.

The keys live in the store (table ``request_keys``), not in the process: a retry that lands on
another worker (``modelcycle server --workers N``) or arrives after a restart is answered too.
A request with a key goes through three short steps around its own write transaction:

1. *claim*: ``INSERT … ON CONFLICT DO NOTHING`` of a ``running`` row. When the key is already
   there, the row decides: ``done`` → replay its stored answer; ``running`` → the first attempt
   is still at work, so wait for it (polling, with back-off) up to ``wait_s``, then refuse with
   409 (retry later); ``running`` but older than ``lease_s`` → the first attempt died (its
   process was killed), so take the claim over with a compare-and-set ``UPDATE`` that only one
   taker can win, and run.
2. *call*: the route's write, one transaction of its own.
3. *finish*: ``UPDATE`` to ``done`` with the answer's JSON. If the call raised, the claim is
   deleted instead, so a retry runs again (the call stored nothing: every write is one
   transaction).

Costs and limits. A keyed request pays two small extra write transactions (claim and finish);
on SQLite that is about 0.5 ms per metric batch (see ``docs/server.md``). The finish is not in
the write's own transaction, so a process killed between the two leaves a ``running`` claim
whose retry is refused until ``lease_s`` has passed, and then redone: the one window where a
batch could be stored twice. A request that runs longer than ``lease_s`` could likewise be taken
over by its retry. Keys are kept a day (``retention_s``): about one claim in
``sweep_every`` deletes the older ones in passing, through the index on ``created_at``.
Times are each server process's clock; the servers sharing a database should keep theirs in
step (NTP) to within a small part of the lease.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from modelcycle.errors import AlreadyExists, InvalidInput
from modelcycle.server._json import to_json
from modelcycle.store import Store
from modelcycle.store.tables.server import request_keys

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[A-Za-z0-9_\-]{8,128}")

RUNNING = "running"
DONE = "done"
LEASE_S = 120.0
WAIT_S = 10.0
RETENTION_S = 24 * 3600.0
SWEEP_EVERY = 1000
_FIRST_POLL_S = 0.005
_MAX_POLL_S = 0.25

_KEYS = request_keys.c
_ROW = select(_KEYS.status, _KEYS.response, _KEYS.updated_at)


def as_json(content: object) -> Any:
    """The JSON form of a route's answer, as :class:`RecordResponse` renders it: what a keyed
    route returns from its call, so the first answer and its replay are the same bytes."""
    return json.loads(to_json(content))


class IdempotencyCache:
    """The outcome of keyed requests, shared through the store by every server process.

    Args:
        store: the server's store (table ``request_keys``).
        lease_s: a ``running`` claim older than this was left by a dead attempt.
        wait_s: how long a retry waits for a running first attempt before a 409.
        retention_s: how long a key is remembered.
        sweep_every: about one claim in this many deletes the keys past ``retention_s``.
        clock: seconds since the epoch (tests pass a fake one).
    """

    def __init__(
        self,
        store: Store,
        *,
        lease_s: float = LEASE_S,
        wait_s: float = WAIT_S,
        retention_s: float = RETENTION_S,
        sweep_every: int = SWEEP_EVERY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.lease_s = lease_s
        self.wait_s = wait_s
        self.retention_s = retention_s
        self.sweep_every = sweep_every
        self.clock = clock

    def run(self, scope: tuple[str, ...], key: str | None, call: Callable[[], Any]) -> Any:
        """``call()`` once per ``(scope, key)``; later calls with the same key get its result.

        ``call`` returns the JSON form of the answer (see :func:`as_json`), which is stored.
        A call that failed is forgotten, so a retry of a refused or failed request runs again.

        Raises:
            InvalidInput: the key is malformed.
            AlreadyExists: the first attempt with this key is still running after ``wait_s``.
        """
        if key is None:
            return call()
        if _KEY.fullmatch(key) is None:
            raise InvalidInput(
                f"{HEADER} must be 8 to 128 letters, digits, '-' or '_', got {key[:40]!r}",
                details={"header": HEADER},
            )
        scope_id = _scope_id(scope)
        claimed_at, replay = self._acquire(scope_id, key)
        if claimed_at is None:
            return replay
        try:
            result = call()
        except BaseException:
            self._release(scope_id, key, claimed_at)
            raise
        self._finish(scope_id, key, claimed_at, result)
        return result

    def sweep(self) -> int:
        """Delete the keys older than ``retention_s``; the number deleted."""
        cutoff = self._now_ms() - int(self.retention_s * 1000)
        with self.store.write() as connection:
            swept = connection.execute(delete(request_keys).where(_KEYS.created_at < cutoff))
            return swept.rowcount

    def _acquire(self, scope_id: str, key: str) -> tuple[int | None, Any]:
        """Claim the key, or wait for the answer of whoever holds it.

        Returns ``(claimed_at, None)`` when this request is to run (``claimed_at`` identifies
        its claim), ``(None, response)`` when the key's answer is to be replayed.
        """
        if self.sweep_every > 0 and random.randrange(self.sweep_every) == 0:
            self.sweep()
        deadline = time.monotonic() + self.wait_s
        pause = _FIRST_POLL_S
        while True:
            now = self._now_ms()
            with self.store.write() as connection:
                if _insert_claim(connection, scope_id, key, now):
                    return now, None
                row = connection.execute(_ROW.where(*_identity(scope_id, key))).first()
            if row is not None:  # else the holder failed and released it: claim again
                status, response, updated_at = row
                if status == DONE:
                    return None, response
                if now - updated_at > self.lease_s * 1000:
                    if self._take_over(scope_id, key, updated_at, now):
                        return now, None
                    continue  # another retry took it over first: it is running now
                if time.monotonic() >= deadline:
                    raise AlreadyExists(
                        f"the first request with {HEADER} {key!r} is still running; retry "
                        "later with the same key to get its answer",
                        details={"header": HEADER, "key": key, "status": RUNNING},
                    )
                time.sleep(pause)
                pause = min(pause * 2, _MAX_POLL_S)

    def _take_over(self, scope_id: str, key: str, seen_at: int, now: int) -> bool:
        """Claim a stale key: a compare-and-set on the ``updated_at`` seen, so of two takers
        that saw the same stale row exactly one updates it."""
        with self.store.write() as connection:
            taken = connection.execute(
                update(request_keys)
                .where(*_identity(scope_id, key), _KEYS.status == RUNNING)
                .where(_KEYS.updated_at == seen_at)
                .values(updated_at=now)
            )
            return taken.rowcount == 1

    def _finish(self, scope_id: str, key: str, claimed_at: int, response: Any) -> None:
        with self.store.write() as connection:
            connection.execute(
                update(request_keys)
                .where(*_identity(scope_id, key), _KEYS.updated_at == claimed_at)
                .values(status=DONE, response=response, updated_at=self._now_ms())
            )

    def _release(self, scope_id: str, key: str, claimed_at: int) -> None:
        """Forget a claim whose call failed (unless a retry took it over meanwhile)."""
        with self.store.write() as connection:
            connection.execute(
                delete(request_keys).where(
                    *_identity(scope_id, key),
                    _KEYS.status == RUNNING,
                    _KEYS.updated_at == claimed_at,
                )
            )

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)


def _scope_id(scope: tuple[str, ...]) -> str:
    """A fixed-width identity of (user, method, path): paths are as long as a client likes."""
    return hashlib.sha256(json.dumps(scope).encode()).hexdigest()


def _identity(scope_id: str, key: str) -> tuple[Any, ...]:
    return (_KEYS.scope == scope_id, _KEYS.key == key)


def _insert_claim(connection: Connection, scope_id: str, key: str, now: int) -> bool:
    """Insert a ``running`` row unless the key is there; whether it was inserted (``RETURNING``
    says so on both dialects, where psycopg's rowcount of an ``ON CONFLICT`` insert does not)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    claim = (
        dialect.insert(request_keys)
        .values(
            scope=scope_id, key=key, status=RUNNING, response=None, created_at=now, updated_at=now
        )
        .on_conflict_do_nothing(index_elements=[_KEYS.scope, _KEYS.key])
        .returning(_KEYS.key)
    )
    return connection.execute(claim).first() is not None
