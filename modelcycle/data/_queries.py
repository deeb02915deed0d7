"""The queries that turn ``dataset_versions`` rows into :class:`DatasetVersion` records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, select

from modelcycle.data.entities import DatasetVersion, from_millis
from modelcycle.errors import NotFound
from modelcycle.store.tables import dataset_parents, dataset_versions, datasets

_VERSION_COLUMNS = (
    dataset_versions.c.id, datasets.c.name, dataset_versions.c.version, dataset_versions.c.hash,
    dataset_versions.c.created_at, dataset_versions.c.file_count, dataset_versions.c.total_size,
    dataset_versions.c.row_count, dataset_versions.c.schema, dataset_versions.c.statistics,
    dataset_versions.c.description,
)  # fmt: skip


def select_versions() -> Any:
    return select(*_VERSION_COLUMNS).join(datasets, datasets.c.id == dataset_versions.c.dataset_id)


def find_version(connection: Connection, name: str, version: int | None) -> Any:
    """The version row, the latest when ``version`` is None; None when there is none."""
    query = select_versions().where(datasets.c.name == name)
    if version is None:
        query = query.order_by(dataset_versions.c.version.desc()).limit(1)
    else:
        query = query.where(dataset_versions.c.version == version)
    return connection.execute(query).first()


def version_row(connection: Connection, name: str, version: int | None) -> Any:
    """Like :func:`_find_version`, raising ``NotFound`` instead of returning None."""
    row = find_version(connection, name, version)
    if row is not None:
        return row
    if version is None or find_version(connection, name, None) is None:
        raise dataset_not_found(name)
    raise NotFound(
        f"dataset {name!r} has no version {version}; `modelcycle data list {name}` shows them",
        details={"dataset": name, "version": version},
    )


def dataset_not_found(name: str) -> NotFound:
    return NotFound(
        f"no dataset named {name!r}; `modelcycle data list` shows the existing ones",
        details={"dataset": name},
    )


def versions(connection: Connection, rows: Iterable[Row[Any]]) -> list[DatasetVersion]:
    """Records for version rows, with their parents fetched in one query."""
    rows = list(rows)
    child = dataset_versions.alias("child")
    parent = dataset_versions.alias("parent")
    parent_set = datasets.alias("parent_set")
    edges = connection.execute(
        select(dataset_parents.c.child_id, parent_set.c.name, parent.c.version)
        .join(child, child.c.id == dataset_parents.c.child_id)
        .join(parent, parent.c.id == dataset_parents.c.parent_id)
        .join(parent_set, parent_set.c.id == parent.c.dataset_id)
        .where(dataset_parents.c.child_id.in_([r.id for r in rows]))
        .order_by(parent_set.c.name, parent.c.version)
    ).all()
    parents: dict[int, list[str]] = {}
    for edge in edges:
        parents.setdefault(edge.child_id, []).append(f"{edge.name}@{edge.version}")
    return [
        DatasetVersion(
            name=r.name,
            version=r.version,
            hash=r.hash,
            created_at=from_millis(r.created_at),
            file_count=r.file_count,
            total_size=r.total_size,
            row_count=r.row_count,
            schema=r.schema,
            statistics=r.statistics,
            description=r.description,
            parents=tuple(parents.get(r.id, ())),
        )  # fmt: skip
        for r in rows
    ]
