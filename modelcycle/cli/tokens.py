"""``modelcycle tokens …``: create, list and revoke API tokens.

Like ``users``, these run against the store MODELCYCLE_URI names. A token is printed once, when
it is created: only an argon2id hash of its secret is stored.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, format_time, plain, print_json
from modelcycle.cli.users import audit_cli_change, auth_service, show_token_once

app = typer.Typer(
    help="Create, list and revoke API tokens (sent as MODELCYCLE_TOKEN or `Authorization: "
    "Bearer`). Runs against the store MODELCYCLE_URI names, not a server.",
    no_args_is_help=True,
)


@app.command("create")
def create_token(
    user: Annotated[str, typer.Argument(metavar="USER", help="The user the token acts as.")],
    description: Annotated[
        str | None,
        typer.Option(
            "--description",
            "-d",
            metavar="TEXT",
            help="What the token is for, e.g. 'CI pipeline' (up to 500 characters).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API token for a user and print it, once.

    The token acts with the user's role at the time of each request.

    JSON: {"token", "token_id", "user", "description"}.
    """
    with auth_service() as service:
        info, token = service.create_token(user, description=description)
        audit_cli_change(service, "tokens.create", f"tokens/{info.token_id}", user=info.user)
    if as_json:
        print_json(
            {
                "token": token,
                "token_id": info.token_id,
                "user": info.user,
                "description": info.description,
            }
        )
        return
    console().print(
        f"Created token {info.token_id} for {info.user}.", markup=False, highlight=False
    )
    show_token_once(token)


@app.command("revoke")
def revoke_token(
    token_id: Annotated[
        str,
        typer.Argument(
            metavar="TOKEN_ID", help="The token's 12-character id, as `tokens list` shows it."
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token: the next request carrying it is refused. Revoking twice is harmless.

    JSON: the token {"token_id", "user", "description", "created_at", "last_used_at",
    "revoked_at"}.
    """
    with auth_service() as service:
        info = service.revoke_token(token_id)
        audit_cli_change(service, "tokens.revoke", f"tokens/{info.token_id}", user=info.user)
    if as_json:
        print_json(info.model_dump(mode="json"))
        return
    console().print(
        f"Token {info.token_id} of {info.user} is revoked.", markup=False, highlight=False
    )


@app.command("list")
def list_tokens(
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", metavar="NAME", help="Only this user's tokens."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List tokens, oldest first, revoked ones included. Secrets are never shown (nor stored).

    JSON: {"tokens": [{"token_id", "user", "description", "created_at", "last_used_at",
    "revoked_at"}]}.
    """
    from rich.table import Table

    with auth_service() as service:
        found = service.list_tokens(user)
    if as_json:
        print_json({"tokens": [info.model_dump(mode="json") for info in found]})
        return
    out = console()
    if not found:
        out.print("No tokens.")
        return
    table = Table(header_style="bold")
    table.add_column("token id", no_wrap=True)
    table.add_column("user")
    table.add_column("description")
    table.add_column("created", no_wrap=True)
    table.add_column("last used", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for info in found:
        status = (
            plain("active", "green")
            if info.revoked_at is None
            else plain(f"revoked {format_time(info.revoked_at, seconds=False)}", "red")
        )
        table.add_row(
            info.token_id,
            plain(info.user),
            plain(info.description),
            format_time(info.created_at),
            format_time(info.last_used_at),
            status,
        )
    out.print(table)
