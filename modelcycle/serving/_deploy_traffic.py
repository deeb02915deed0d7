"""Queries on ``deployment_traffic``: the counters serving processes flush, read back as
a canary step's evidence or as ``status``'s live figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select

from modelcycle.serving._deploy_entities import StepTraffic, VersionTraffic
from modelcycle.serving._deploy_latency import TrafficDrain, merge_buckets, quantile_ms
from modelcycle.store.tables.deployments import REPLICA_LENGTH, deployment_traffic

__all__ = ["TrafficRow", "by_version", "insert_rows", "of_step", "prune", "since"]

ROLE_ORDER = {"primary": 0, "canary": 1, "split": 2, "shadow": 3}


@dataclass(frozen=True)
class TrafficRow:
    """One drained counter a serving process reports."""

    revision: int
    model: str
    version: int
    role: str
    drained: TrafficDrain


def insert_rows(
    connection: Connection,
    deployment_id: int,
    replica: str,
    at: int,
    counters: Sequence[TrafficRow],
) -> None:
    """One row per counter, in one statement."""
    connection.execute(
        insert(deployment_traffic),
        [
            {
                "deployment_id": deployment_id, "revision": r.revision, "model": r.model,
                "version": r.version, "role": r.role, "replica": replica[:REPLICA_LENGTH],
                "at": at, "requests": r.drained.requests, "errors": r.drained.errors,
                "client_errors": r.drained.client_errors,
                "latency_sum_ms": r.drained.latency_sum_ms,
                # JSON object keys are strings; merge_buckets turns them back.
                "buckets": {str(k): v for k, v in r.drained.buckets.items()},
            }
            for r in counters
        ],
    )  # fmt: skip


def prune(connection: Connection, deployment: Row[Any], cutoff: int) -> int:
    """Delete the deployment's rows older than ``cutoff`` but the current revision's."""
    done = connection.execute(
        delete(deployment_traffic).where(
            deployment_traffic.c.deployment_id == deployment.id,
            deployment_traffic.c.at < cutoff,
            deployment_traffic.c.revision != deployment.revision,
        )
    )
    return int(done.rowcount or 0)


def of_step(
    connection: Connection, deployment_id: int, revision: int, model: str, version: int
) -> StepTraffic:
    """What one version answered under one revision (mirrored shadow requests excluded)."""
    found = connection.execute(
        select(
            deployment_traffic.c.requests,
            deployment_traffic.c.errors,
            deployment_traffic.c.client_errors,
            deployment_traffic.c.buckets,
        ).where(
            deployment_traffic.c.deployment_id == deployment_id,
            deployment_traffic.c.revision == revision,
            deployment_traffic.c.model == model,
            deployment_traffic.c.version == version,
            deployment_traffic.c.role != "shadow",
        )
    ).all()
    buckets = merge_buckets(r.buckets for r in found)
    return StepTraffic(
        requests=sum(r.requests for r in found),
        errors=sum(r.errors for r in found),
        client_errors=sum(r.client_errors for r in found),
        p99_ms=quantile_ms(buckets, 0.99),
    )


def since(connection: Connection, deployment_id: int, at: int) -> Sequence[Row[Any]]:
    """The deployment's rows flushed at ``at`` or later."""
    return connection.execute(
        select(deployment_traffic).where(
            deployment_traffic.c.deployment_id == deployment_id,
            deployment_traffic.c.at >= at,
        )
    ).all()


def by_version(rows: Sequence[Row[Any]], window_s: float) -> list[VersionTraffic]:
    groups: dict[tuple[str, int, str], list[Row[Any]]] = {}
    for row in rows:
        groups.setdefault((row.model, row.version, row.role), []).append(row)
    found = []
    for (model, version, role), group in sorted(
        groups.items(), key=lambda item: (ROLE_ORDER.get(item[0][2], 9), item[0][0], item[0][1])
    ):
        requests = sum(r.requests for r in group)
        errors = sum(r.errors for r in group)
        buckets = merge_buckets(r.buckets for r in group)
        found.append(
            VersionTraffic(
                model=model,
                version=version,
                role=role,
                requests=requests,
                errors=errors,
                client_errors=sum(r.client_errors for r in group),
                error_rate=errors / requests if requests else None,
                requests_per_s=requests / window_s,
                mean_ms=sum(r.latency_sum_ms for r in group) / requests if requests else None,
                p50_ms=quantile_ms(buckets, 0.5),
                p99_ms=quantile_ms(buckets, 0.99),
            )
        )
    return found
