"""Compare two versions: files by digest, tables by schema, row count and statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelcycle.data.entities import ColumnChange, DatasetDiff, DatasetFile, DatasetVersion

_TYPE_KEYS = ("type", "nullable")
"""Entries of a schema column whose change is a change of type; bounds and categories move
with the data and show up as statistics instead."""


def diff_versions(
    a: DatasetVersion,
    a_files: Sequence[DatasetFile],
    b: DatasetVersion,
    b_files: Sequence[DatasetFile],
) -> DatasetDiff:
    """What changed from ``a`` to ``b``; files compare by digest, so a rename is a removal and
    an addition."""
    before = {f.path: f.digest for f in a_files}
    after = {f.path: f.digest for f in b_files}
    return DatasetDiff(
        a=a.ref,
        b=b.ref,
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(p for p in before.keys() & after.keys() if before[p] != after[p])),
        unchanged_count=sum(1 for p in before.keys() & after.keys() if before[p] == after[p]),
        row_count_before=a.row_count,
        row_count_after=b.row_count,
        columns=tuple(_column_changes(a, b)),
    )


def _column_changes(a: DatasetVersion, b: DatasetVersion) -> list[ColumnChange]:
    old, new = _columns(a.schema), _columns(b.schema)
    old_stats, new_stats = a.statistics or {}, b.statistics or {}
    changes: list[ColumnChange] = []
    for name in [*old, *(n for n in new if n not in old)]:
        if name not in new:
            changes.append(ColumnChange(column=name, change="removed", before=old[name]))
        elif name not in old:
            changes.append(ColumnChange(column=name, change="added", after=new[name]))
        elif any(old[name].get(k) != new[name].get(k) for k in _TYPE_KEYS):
            changes.append(
                ColumnChange(column=name, change="type", before=old[name], after=new[name])
            )
        else:
            moved = _changed(old_stats.get(name, {}), new_stats.get(name, {}))
            if moved is not None:
                changes.append(
                    ColumnChange(column=name, change="statistics", before=moved[0], after=moved[1])
                )
    return changes


def _columns(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Column name → schema entry, in column order (``Schema.columns`` is a list)."""
    if not schema:
        return {}
    return {str(entry["name"]): dict(entry) for entry in schema.get("columns", [])}


def _changed(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The statistics whose values differ, before and after; None when none does."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    if not keys:
        return None
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
