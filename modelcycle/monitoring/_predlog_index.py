"""The ``prediction_files`` index: one row per Parquet file, written after the file is in place.

A file the index does not name is never read, so a crash between the rename and the commit
leaves an orphan file at worst, never a half-visible batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from modelcycle._internal.clock import now_ms
from modelcycle.store import Store
from modelcycle.store._bulk import insert_rows
from modelcycle.store.tables.predictions import prediction_files

_COLUMNS = (
    "deployment", "day", "path", "row_count", "request_count", "min_time", "max_time",
    "model_versions", "created_at",
)  # fmt: skip


@dataclass(frozen=True)
class IndexedFile:
    """A row of the index, as the reader needs it."""

    deployment: str
    day: str
    path: str
    rows: int
    requests: int
    min_time: int
    max_time: int
    model_versions: list[dict[str, str]]


def insert_files(store: Store, deployment: str, files: Sequence[tuple[Any, str]]) -> None:
    """Index written files (``(unit, relative path)`` pairs) in one transaction.

    Idempotent: paths already indexed are skipped, so a retry after a commit whose answer was
    lost (the connection dropped after the server committed) succeeds instead of failing on
    the unique path and leaving the caller to delete files the index names.
    """
    created = now_ms()
    rows = [
        (
            deployment,
            unit.day,
            path,
            unit.rows,
            unit.requests,
            unit.min_time,
            unit.max_time,
            json.dumps(unit.model_versions),
            created,
        )
        for unit, path in files
    ]
    with store.write() as connection:
        present = _present(connection, [path for _, path in files])
        insert_rows(
            connection, prediction_files, _COLUMNS, [r for r in rows if r[2] not in present]
        )


def indexed_paths(store: Store, paths: Sequence[str]) -> set[str]:
    """Which of ``paths`` the index names."""
    with store.read() as connection:
        return _present(connection, paths)


def _present(connection: Any, paths: Sequence[str]) -> set[str]:
    column = prediction_files.c.path
    return set(connection.execute(select(column).where(column.in_(list(paths)))).scalars())


def files_query(deployment: str | None, since_ms: int | None, until_ms: int | None) -> Select[Any]:
    """The files that may hold rows of ``deployment`` (all when None) in [since, until).

    The day bounds let the ``(deployment, day)`` index narrow the scan; the time bounds then
    drop the files of those days that lie wholly outside the range.
    """
    from modelcycle.monitoring._predlog_records import day_of

    table = prediction_files
    query = select(table)
    if deployment is not None:
        query = query.where(table.c.deployment == deployment)
    if since_ms is not None:
        query = query.where(table.c.day >= day_of(since_ms), table.c.max_time >= since_ms)
    if until_ms is not None:
        query = query.where(table.c.day <= day_of(until_ms), table.c.min_time < until_ms)
    return query


def load_files(
    store: Store,
    deployment: str | None,
    since_ms: int | None,
    until_ms: int | None,
    *,
    newest_first: bool = False,
) -> list[IndexedFile]:
    table = prediction_files
    order = (
        (table.c.max_time.desc(), table.c.id.desc())
        if newest_first
        else (table.c.min_time, table.c.id)
    )
    with store.read() as connection:
        rows = connection.execute(files_query(deployment, since_ms, until_ms).order_by(*order))
        return [
            IndexedFile(
                deployment=row.deployment,
                day=row.day,
                path=row.path,
                rows=row.row_count,
                requests=row.request_count,
                min_time=row.min_time,
                max_time=row.max_time,
                model_versions=row.model_versions,
            )
            for row in rows
        ]
