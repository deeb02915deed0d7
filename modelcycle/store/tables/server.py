"""Tables of the REST server itself: the ``Idempotency-Key`` of requests it has answered.

``request_keys`` holds one row per keyed request, shared by every worker process and surviving
restarts, so a client's retry is answered from the first attempt wherever it lands. ``scope`` is
the hex SHA-256 of (user, method, path): a fixed-width key whatever the path, and two users'
keys never meet. ``status`` is ``running`` while the first attempt works (the row is its claim)
and ``done`` once ``response`` holds the JSON the route answered. Times are milliseconds since
the epoch (UTC); ``updated_at`` is when the current claim was taken, so a ``running`` row whose
``updated_at`` is old was left by an attempt that died. Rows are deleted a day after
``created_at`` (``modelcycle.server._idempotency``).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, String, Table

from modelcycle.store.tables._metadata import metadata

SCOPE_LENGTH = 64
KEY_LENGTH = 128
STATUS_LENGTH = 8

request_keys = Table(
    "request_keys",
    metadata,
    Column("scope", String(SCOPE_LENGTH), primary_key=True),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("status", String(STATUS_LENGTH), nullable=False),
    Column("response", JSON, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The daily sweep of old keys.
    Index(None, "created_at"),
)
