"""``modelcycle users …``: create users, change their roles, disable them.

These commands, with ``tokens`` and ``audit``, run against the store itself (the directory or
database MODELCYCLE_URI names), not through a server: whoever can open the store is its owner,
which is how the first admin is made. Each change is also written to the audit log, as done by
the operating-system user (or MODELCYCLE_USER) from ``cli``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelcycle.cli._output import JsonFlag, console, err_console, format_time, plain, print_json

if TYPE_CHECKING:
    from modelcycle.auth import AuthService, User

app = typer.Typer(
    help="Manage the users of the platform and their roles (viewer, editor, admin). Runs "
    "against the store MODELCYCLE_URI names, not a server.",
    no_args_is_help=True,
)

ROLES_HELP = "viewer (read), editor (read and write, approve), admin (also users, tokens, audit)"
# resolve_uri wants an artifact root for a database URL; users, tokens and audit never read one.
_UNUSED_ARTIFACT_ROOT = "unused-by-auth-commands"

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")]


@contextlib.contextmanager
def auth_service() -> Iterator[AuthService]:
    """The auth service over the store the settings point at, for the length of a command.

    Raises:
        InvalidInput: MODELCYCLE_URI names a server, or is malformed.
    """
    from modelcycle.auth import AuthService
    from modelcycle.config import current_settings, resolve_uri
    from modelcycle.errors import InvalidInput
    from modelcycle.store import opened

    settings = current_settings()
    location = resolve_uri(settings.uri, settings.artifacts or _UNUSED_ARTIFACT_ROOT)
    if location.kind != "sql":
        raise InvalidInput(
            f"MODELCYCLE_URI={location.url} names a server; `modelcycle users`, `tokens` and "
            "`audit` run against the store itself: set MODELCYCLE_URI to the server's directory "
            "or database URL (on the server's host, or wherever the database is reachable).",
            details={"uri": location.url},
        )
    with opened(location) as store:
        yield AuthService(store)


def audit_cli_change(service: AuthService, action: str, target: str, **details: Any) -> None:
    """Write a change made from the command line to the audit log."""
    import getpass

    from modelcycle.auth import AuditEvent
    from modelcycle.config import current_settings

    actor = current_settings().user
    if actor is None:
        try:
            actor = getpass.getuser()
        except (OSError, KeyError):  # no login name and no passwd entry (some containers)
            actor = None
    service.record(AuditEvent(actor, action, target, "cli", 200, details=details or None))


@app.command("create")
def create_user(
    name: NameArgument,
    role: Annotated[
        str, typer.Option("--role", "-r", metavar="ROLE", help=f"One of: {ROLES_HELP}.")
    ] = "viewer",
    as_json: JsonFlag = False,
) -> None:
    """Create a user and print their first API token, once.

    The token is not stored (only a hash of it), so it cannot be shown again; if it is lost,
    revoke it and create another with `modelcycle tokens create NAME`. Creating the first user
    with --role admin bootstraps a new platform.

    JSON: {"token", "user", "role", "token_id"}.
    """
    with auth_service() as service:
        user, token = service.create_user(name, role)
        token_id = service.token_id_of(token)
        audit_cli_change(service, "users.create", f"users/{user.name}", role=user.role.value)
    if as_json:
        print_json(
            {"token": token, "user": user.name, "role": user.role.value, "token_id": token_id}
        )
        return
    out = console()
    out.print(f"Created user {user.name} ({user.role.value}).", markup=False, highlight=False)
    show_token_once(token)


def show_token_once(token: str) -> None:
    """Print a new token on stdout, alone on its line, with the warning on stderr."""
    err_console().print(
        "[bold yellow]Store this API token now; it is not shown again.[/] Use it as "
        "MODELCYCLE_TOKEN or `Authorization: Bearer TOKEN`.",
        highlight=False,
    )
    console().out(token, highlight=False)


@app.command("list")
def list_users(as_json: JsonFlag = False) -> None:
    """List every user with their role and status, by name.

    JSON: {"users": [{"name", "role", "created_at", "disabled"}]}.
    """
    from rich.table import Table

    with auth_service() as service:
        found = service.list_users()
    if as_json:
        print_json({"users": [user.model_dump(mode="json") for user in found]})
        return
    out = console()
    if not found:
        out.print("No users yet: `modelcycle users create NAME --role admin` makes the first.")
        return
    table = Table(header_style="bold")
    table.add_column("name")
    table.add_column("role")
    table.add_column("status")
    table.add_column("created", no_wrap=True)
    for user in found:
        table.add_row(
            plain(user.name),
            user.role.value,
            plain("disabled", "red") if user.disabled else plain("active", "green"),
            format_time(user.created_at),
        )
    out.print(table)


@app.command("set-role")
def set_role(
    name: NameArgument,
    role: Annotated[str, typer.Argument(metavar="ROLE", help=f"One of: {ROLES_HELP}.")],
    as_json: JsonFlag = False,
) -> None:
    """Give a user another role; requests with their tokens see it at once.

    The last enabled admin cannot be made anything else: make another user admin first.

    JSON: the user {"name", "role", "created_at", "disabled"}.
    """
    with auth_service() as service:
        user = service.set_role(name, role)
        audit_cli_change(service, "users.set_role", f"users/{user.name}", role=user.role.value)
    _print_user(user, f"{user.name} is now {user.role.value}.", as_json)


@app.command("disable")
def disable_user(name: NameArgument, as_json: JsonFlag = False) -> None:
    """Disable a user: every token of theirs is refused from the next request on.

    `modelcycle users enable NAME` undoes it; revoked tokens stay revoked. The last enabled
    admin cannot be disabled.

    JSON: the user {"name", "role", "created_at", "disabled"}.
    """
    with auth_service() as service:
        user = service.disable_user(name)
        audit_cli_change(service, "users.disable", f"users/{user.name}")
    _print_user(user, f"{user.name} is disabled; their tokens no longer work.", as_json)


@app.command("enable")
def enable_user(name: NameArgument, as_json: JsonFlag = False) -> None:
    """Enable a disabled user again; their tokens that are not revoked work again.

    JSON: the user {"name", "role", "created_at", "disabled"}.
    """
    with auth_service() as service:
        user = service.enable_user(name)
        audit_cli_change(service, "users.enable", f"users/{user.name}")
    _print_user(user, f"{user.name} is enabled.", as_json)


def _print_user(user: User, message: str, as_json: bool) -> None:
    if as_json:
        print_json(user.model_dump(mode="json"))
    else:
        console().print(message, markup=False, highlight=False)
