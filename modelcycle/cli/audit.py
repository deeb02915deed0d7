"""``modelcycle audit …``: read the audit log (who did what, to what, from where, and how it
ended), newest first. Runs against the store MODELCYCLE_URI names, like ``users``."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, format_time, plain, print_json
from modelcycle.cli.users import auth_service

app = typer.Typer(
    help="Read the audit log of the platform. Runs against the store MODELCYCLE_URI names.",
    no_args_is_help=True,
)


def parse_since(text: str | None) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 date or time (UTC when it names no zone).

    Raises:
        typer.BadParameter: the text is not such a date (the command then exits 2).
    """
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date or time; use ISO 8601, e.g. 2026-11-24 or "
            "2026-11-24T08:00:00+01:00",
            param_hint="'--since'",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@app.command("list")
def list_audit(
    user: Annotated[
        str | None, typer.Option("--user", "-u", metavar="NAME", help="Only this user's entries.")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action", "-a", metavar="ACTION", help="Only this action, e.g. users.create."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only entries at or after this ISO 8601 date or time (UTC unless it says).",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, metavar="N", help="Entries per page (1-10000).")
    ] = 50,
    page_token: Annotated[
        str | None,
        typer.Option(
            "--page-token",
            metavar="TOKEN",
            help="Continue a previous listing: the token it printed, with the same filters.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List audit entries, newest first, a page at a time.

    JSON: {"entries": [{"id", "time", "user", "action", "target", "source", "status",
    "details"}], "next_page_token"}.
    """
    from rich.table import Table

    since_ms = parse_since(since)
    with auth_service() as service:
        page = service.list_audit(
            user=user, action=action, since_ms=since_ms, limit=limit, page_token=page_token
        )
    if as_json:
        print_json(page.model_dump(mode="json"))
        return
    out = console()
    if not page.entries:
        out.print("No audit entries.")
        return
    table = Table(header_style="bold")
    table.add_column("time", no_wrap=True)
    table.add_column("user")
    table.add_column("action")
    table.add_column("target")
    table.add_column("status", justify="right")
    table.add_column("source")
    for entry in page.entries:
        table.add_row(
            format_time(entry.time),
            plain(entry.user),
            plain(entry.action),
            plain(entry.target),
            plain(entry.status, "red" if entry.status >= 400 else ""),
            plain(entry.source),
        )
    out.print(table)
    if page.next_page_token:
        again = ["modelcycle", "audit", "list", "--limit", str(limit)]
        for flag, value in (("--user", user), ("--action", action), ("--since", since)):
            if value is not None:
                again += [flag, value]
        again += ["--page-token", page.next_page_token]
        out.print("More entries on the next page:", highlight=False)
        out.print(shlex.join(again), markup=False, highlight=False, soft_wrap=True)
