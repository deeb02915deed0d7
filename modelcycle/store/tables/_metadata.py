"""The one ``MetaData`` every table registers on, with naming conventions Alembic can diff."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for large histories.
AutoBigInt = BigInteger().with_variant(Integer, "sqlite")


def object_ref_columns() -> list[Column[str]]:
    """Every column, across all tables, that names an object in the object store."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if column.info.get("object_ref")
    ]
