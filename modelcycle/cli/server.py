"""``modelcycle server``: the platform's REST API for a team, over uvicorn.

The store is the one MODELCYCLE_URI names (a directory, sqlite:///FILE, or postgresql+psycopg://…
with MODELCYCLE_ARTIFACTS). An embedded SQLite store is migrated on start; a PostgreSQL database
must already be current (``modelcycle db upgrade``), since other processes share it.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

from modelcycle.cli._output import err_console

FACTORY = "modelcycle.server.app:app_from_env"
"""Each uvicorn worker builds its own app (and engine) from the environment."""


def run_server(
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. Anything but a loopback address (127.0.0.1, ::1, "
            "localhost) is reachable from the network and requires auth."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 5000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes. Each holds its own database pool; use more than 1 with "
            "PostgreSQL (SQLite has a single writer).",
        ),
    ] = 1,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Serve without API tokens (every caller is an admin). Refused unless --host is "
            "a loopback address. Same as MODELCYCLE_SERVER_AUTH=false.",
        ),
    ] = False,
    log_level: Annotated[
        str, typer.Option(help="uvicorn's log level: critical, error, warning, info, debug.")
    ] = "info",
) -> None:
    """Run the platform's REST API (experiments, runs, metrics, artifacts, users, audit).

    Clients set MODELCYCLE_URI=http://HOST:PORT and MODELCYCLE_TOKEN=<token>. Create the first
    admin and their token with `modelcycle users create NAME --role admin` against the same
    store. The API is under /api/v1 (OpenAPI schema at /api/v1/openapi.json, docs at /docs);
    GET /api/v1/health and /api/v1/health/ready serve load balancers.
    """
    import uvicorn

    from modelcycle.config import current_settings, resolve_uri
    from modelcycle.errors import InvalidInput
    from modelcycle.store import open_store

    settings = current_settings()
    auth = settings.server.auth and not no_auth
    if not auth and not is_loopback(host):
        raise InvalidInput(
            f"refusing to serve without auth on {host}, which other machines can reach. Drop "
            "--no-auth (and MODELCYCLE_SERVER_AUTH=false), or listen on 127.0.0.1.",
            details={"host": host},
        )
    location = resolve_uri(settings.uri, settings.artifacts)
    if location.kind != "sql":
        raise InvalidInput(
            f"MODELCYCLE_URI={location.url} names a server; `modelcycle server` serves a store: "
            "set MODELCYCLE_URI to a directory, sqlite:///FILE or postgresql+psycopg://… (with "
            "MODELCYCLE_ARTIFACTS).",
            details={"uri": location.url},
        )
    # Fails here, with the fix in the message, rather than in every worker: SQLite is migrated,
    # a PostgreSQL database behind the code raises SchemaOutdated (`modelcycle db upgrade`).
    store = open_store(location)
    users = _user_count(store)
    store.close()
    if not auth:
        os.environ["MODELCYCLE_SERVER_AUTH"] = "false"  # read by each worker's app factory
    out = err_console()
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    out.print(
        f"modelcycle server on http://{shown}:{port} (store {_display(location.url)}, "
        f"auth {'on' if auth else 'OFF'}, {workers} worker{'s' if workers > 1 else ''})",
        markup=False,
        highlight=False,
    )
    if auth and users == 0:
        out.print(
            "No users yet: create the first admin with `modelcycle users create NAME --role "
            "admin` (same MODELCYCLE_URI); it prints their API token once.",
            markup=False,
            highlight=False,
        )
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _user_count(store: object) -> int:
    from modelcycle.auth import AuthService

    return len(AuthService(store).list_users())  # type: ignore[arg-type]


def _display(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
