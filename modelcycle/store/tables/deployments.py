"""Tables of deployments: routing between model versions, its history, and live traffic.

``deployments`` holds one row per deployment with its current ``routing`` (a JSON document:
primary target, splits, shadows, canary) and ``revision``, a counter raised by every change.
A change is a compare-and-set on ``revision`` in one transaction that also appends the new
routing to ``deployment_revisions``, so rollback and ``status`` read the exact routing of any
revision. Serving processes poll ``revision`` (a primary-key read) to notice changes.

``deployment_traffic`` receives the counters each serving process flushes every few seconds, per
routing revision and model version: requests, server and client errors, and a latency histogram
(sparse ``{bucket index: count}``). A canary step's gates add the rows of that step's revision;
``status`` adds the rows of a recent time window. Times are milliseconds since the epoch (UTC).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from modelcycle.store.tables._metadata import AutoBigInt, metadata

DEPLOYMENT_NAME_LENGTH = 63
ACTOR_LENGTH = 64
ACTION_LENGTH = 32
MODEL_NAME_LENGTH = 250
ROLE_LENGTH = 16
REPLICA_LENGTH = 64

deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(DEPLOYMENT_NAME_LENGTH), nullable=False, unique=True),
    Column("revision", Integer, nullable=False),
    Column("routing", JSON, nullable=False),
    Column("created_by", String(ACTOR_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

deployment_revisions = Table(
    "deployment_revisions",
    metadata,
    Column(
        "deployment_id",
        Integer,
        ForeignKey("deployments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("revision", Integer, primary_key=True),
    # The revision whose routing was in force before this one (what a rollback returns to);
    # NULL for the first.
    Column("previous", Integer, nullable=True),
    Column("action", String(ACTION_LENGTH), nullable=False),
    Column("routing", JSON, nullable=False),
    Column("actor", String(ACTOR_LENGTH), nullable=False),
    Column("at", BigInteger, nullable=False),
    # Why: the numbers of a canary's gates, the versions an alias pointed to, ...
    Column("details", JSON, nullable=False),
)

deployment_traffic = Table(
    "deployment_traffic",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column(
        "deployment_id", Integer, ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False
    ),
    Column("revision", Integer, nullable=False),
    Column("model", String(MODEL_NAME_LENGTH), nullable=False),
    Column("version", Integer, nullable=False),
    Column("role", String(ROLE_LENGTH), nullable=False),
    Column("replica", String(REPLICA_LENGTH), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("client_errors", BigInteger, nullable=False),
    Column("latency_sum_ms", Float, nullable=False),
    Column("buckets", JSON, nullable=False),
    # A canary step's traffic; the traffic of the last minutes (status, pruning).
    Index(None, "deployment_id", "revision"),
    Index(None, "deployment_id", "at"),
)
