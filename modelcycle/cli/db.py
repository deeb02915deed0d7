"""``modelcycle db …``: the metadata database's schema revision, and migrating it.

An embedded SQLite store migrates itself when opened; a PostgreSQL database is shared by many
processes and is migrated on purpose, by an operator, with ``modelcycle db upgrade``. Migrating
touches only the database, so a server URL needs no artifact root here (``MODELCYCLE_ARTIFACTS``
may be unset).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, err_console, print_json

app = typer.Typer(help="Inspect and migrate the metadata database's schema.", no_args_is_help=True)

UriOption = Annotated[
    str | None,
    typer.Option(
        "--uri",
        metavar="URI",
        help="The platform: a directory, sqlite:///FILE or postgresql+psycopg://USER@HOST/DB. "
        "Defaults to MODELCYCLE_URI (./.modelcycle when unset).",
    ),
]

# resolve_uri insists on an artifact root for a server database, because the store as a whole
# needs one; the schema commands read only the database URL, so any stand-in will do.
_UNUSED_ARTIFACT_ROOT = "unused-by-schema-commands"


@app.command("upgrade")
def upgrade(uri: UriOption = None) -> None:
    """Migrate the database to the newest schema and print the revision before → after.

    Safe to repeat: a current database is left as it is.
    """
    from modelcycle.store import upgrade_database

    url = database_url(uri)
    if url.startswith("sqlite:///"):
        # A new embedded home: create its directory, as opening the store would.
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with err_console().status(f"Migrating {_display(url)}"):
        before, after = upgrade_database(url)
    message = (
        f"{_display(url)} is already at revision {after}."
        if before == after
        else f"{_display(url)}: {before or '(empty)'} → {after}"
    )
    console().print(message, markup=False, highlight=False)


@app.command("current")
def current(
    uri: UriOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the database's schema revision and the one this version of modelcycle expects.

    JSON: {"url" (without its password), "current" (null when empty), "head", "up_to_date"}.
    """
    from modelcycle.store import database_revision

    url = database_url(uri)
    revision, head = database_revision(url)
    if as_json:
        state = {"current": revision, "head": head, "up_to_date": revision == head}
        print_json({"url": _display(url), **state})
        return
    state = "up to date" if revision == head else "behind: run `modelcycle db upgrade`"
    console().print(
        f"{_display(url)}: revision {revision or '(empty)'}, head {head} ({state})",
        markup=False,
        highlight=False,
    )


def database_url(uri: str | None) -> str:
    """The SQLAlchemy URL of the metadata database named by ``uri`` or the settings.

    Raises:
        InvalidInput: the URI names a server or has an unknown scheme.
    """
    from modelcycle.config import current_settings, resolve_uri
    from modelcycle.errors import InvalidInput

    location = resolve_uri(uri or current_settings().uri, _UNUSED_ARTIFACT_ROOT)
    if location.kind != "sql":
        raise InvalidInput(
            f"{location.url} is a modelcycle server; run `modelcycle db` where the server runs, "
            "or pass its database URL with --uri.",
            details={"uri": location.url},
        )
    return location.url


def _display(url: str) -> str:
    """The URL without its password, fit to print."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
