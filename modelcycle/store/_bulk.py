"""Multi-row INSERT and INSERT … ON CONFLICT, handed straight to the driver's executemany.

These are the hot paths (metric flushes, run creation): SQLAlchemy's per-row parameter
processing costs more than the insert itself there. The SQL is the same on SQLite and
PostgreSQL (both have ``ON CONFLICT … DO UPDATE … excluded``); only the parameter marker
differs. JSON columns take text (``json.dumps``) here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table

Row = Sequence[Any]


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) in one executemany."""
    if rows:
        sql = _sql(connection.dialect.paramstyle, table.name, tuple(columns), None, (), None)
        connection.exec_driver_sql(sql, list(rows))


def upsert_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    key_columns: Sequence[str],
    update_columns: Sequence[str] = (),
    only_if: str | None = None,
) -> None:
    """Insert ``rows``; where a row's key exists, update ``update_columns`` (or keep the row).

    Args:
        only_if: SQL condition under which an existing row is updated, naming the incoming
            row ``excluded`` and the stored one by the table's name.
    """
    if rows:
        sql = _sql(
            connection.dialect.paramstyle,
            table.name,
            tuple(columns),
            tuple(key_columns),
            tuple(update_columns),
            only_if,
        )
        connection.exec_driver_sql(sql, list(rows))


@functools.cache
def _sql(
    paramstyle: str,
    table: str,
    columns: tuple[str, ...],
    key_columns: tuple[str, ...] | None,
    update_columns: tuple[str, ...],
    only_if: str | None,
) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    )
    if key_columns is None:
        return sql
    conflict = f" ON CONFLICT ({', '.join(key_columns)})"
    if not update_columns:
        return sql + conflict + " DO NOTHING"
    assignments = ", ".join(f"{column} = excluded.{column}" for column in update_columns)
    where = f" WHERE {only_if}" if only_if else ""
    return sql + conflict + f" DO UPDATE SET {assignments}" + where
