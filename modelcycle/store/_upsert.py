"""INSERT … ON CONFLICT for the two dialects the store runs on, behind one function.

Statements are built once per (dialect, table, columns) and reused: building one costs more than
executing it on a small batch, and metric flushes run it thousands of times.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Executable, Table
from sqlalchemy.dialects import postgresql, sqlite

Condition = Callable[[Table, Any], ColumnElement[bool]]


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key_columns: Sequence[str],
    update_columns: Sequence[str] = (),
    only_if: Condition | None = None,
) -> None:
    """Insert ``rows``; where a row's key exists, update ``update_columns`` (or keep the old row).

    Args:
        only_if: ``(table, excluded) -> condition`` under which an existing row is updated,
            e.g. only when the incoming step is newer. Pass a module-level function: it is
            part of the statement cache's key.
    """
    if rows:
        statement = _statement(
            connection.dialect.name, table, tuple(key_columns), tuple(update_columns), only_if
        )
        connection.execute(statement, rows)


@functools.cache
def _statement(
    dialect_name: str,
    table: Table,
    key_columns: tuple[str, ...],
    update_columns: tuple[str, ...],
    only_if: Condition | None,
) -> Executable:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    if not update_columns:
        return statement.on_conflict_do_nothing(index_elements=key_columns)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=key_columns,
        set_={column: excluded[column] for column in update_columns},
        where=only_if(table, excluded) if only_if else None,
    )
