"""Tables of users, API tokens and the audit log.

A token's secret is never stored: ``api_tokens.secret_hash`` holds its argon2id hash, so a copy
of the database grants nobody access. Times are integer milliseconds since the epoch (UTC).

The audit log names its user by name, not by a foreign key: an entry must outlive the user it
names, and it also records attempts by callers who are nobody (no token, a wrong one).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from modelcycle.store.tables._metadata import AutoBigInt, metadata

USER_NAME_LENGTH = 64
ROLE_LENGTH = 16
TOKEN_ID_LENGTH = 16
SECRET_HASH_LENGTH = 255
DESCRIPTION_LENGTH = 500
ACTION_LENGTH = 100
TARGET_LENGTH = 1024
SOURCE_LENGTH = 100

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(USER_NAME_LENGTH), nullable=False, unique=True),
    Column("role", String(ROLE_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    # The public half of a token (``mct_<id>_<secret>``): shown in listings and audit entries.
    Column("id", String(TOKEN_ID_LENGTH), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", String(SECRET_HASH_LENGTH), nullable=False),
    Column("description", String(DESCRIPTION_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index(None, "user_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # Insertion order is the listing order (newest first), and the page cursor.
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("time_ms", BigInteger, nullable=False),
    Column("user_name", String(USER_NAME_LENGTH), nullable=True),
    Column("action", String(ACTION_LENGTH), nullable=False),
    Column("target", String(TARGET_LENGTH), nullable=False),
    Column("source", String(SOURCE_LENGTH), nullable=True),
    Column("status", Integer, nullable=False),
    Column("details", JSON, nullable=True),
    # Listings filter by user or action and walk ids downwards; `since` bounds the time.
    Index(None, "user_name", "id"),
    Index(None, "action", "id"),
    Index(None, "time_ms"),
)
