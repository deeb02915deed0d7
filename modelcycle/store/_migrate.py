"""Schema migrations with Alembic: on open for an embedded store, by `modelcycle db upgrade`.

Checking the schema on every open must be cheap: it is one ``SELECT`` of ``alembic_version``
compared with :data:`HEAD_REVISION`. Alembic itself is imported only when a migration has to run.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from modelcycle.errors import SchemaOutdated
from modelcycle.store._engine import read_transaction, write_transaction

HEAD_REVISION = "0007"
"""The newest revision in migrations/versions; a test keeps the two in step."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    with read_transaction(engine) as connection:
        return current_revision(connection) == HEAD_REVISION


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` in one transaction and return the revision it was at.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``, so two processes opening a new
    store at once migrate it once: the second waits, then finds it current.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with write_transaction(engine) as connection:
        before = current_revision(connection)
        if before == HEAD_REVISION and revision == "head":
            return before
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return before


def ensure_current(engine: Engine, *, migrate: bool) -> None:
    """Make sure the schema is at head: migrate it when allowed, else say how to.

    Raises:
        SchemaOutdated: ``migrate`` is false and the database is behind.
    """
    if is_current(engine):
        return
    if migrate:
        upgrade(engine)
        return
    raise SchemaOutdated(
        f"the database at {engine.url.render_as_string(hide_password=True)} is not at schema "
        f"revision {HEAD_REVISION}; run `modelcycle db upgrade` against it first.",
        details={"expected": HEAD_REVISION},
    )
