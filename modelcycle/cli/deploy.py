"""``modelcycle deploy …``: route a deployment's traffic between model versions.

Every command changes the routing in the store as one new revision; servers started with
``modelcycle serve --deployment NAME`` pick it up within about a second, without a restart and
without failing a request in flight. Commands act as ``MODELCYCLE_USER`` (else the
operating-system user), recorded in the history. With ``MODELCYCLE_URI=http(s)://…`` (and
``MODELCYCLE_TOKEN``) every command goes through that ``modelcycle server``. Bad percentages,
steps, durations or URIs exit 2 (InvalidInput), an unknown deployment or model 3 (NotFound), a
name taken 4 (AlreadyExists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, format_time, plain, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from modelcycle.serving.deployments import (
        Deployment,
        DeploymentRevision,
        DeploymentService,
        DeploymentStatus,
    )

app = typer.Typer(
    help=(
        "Deployments: A/B splits, shadow traffic, canaries that promote or roll back by "
        "themselves, instant rollback, and live figures per version. Serve one with "
        "modelcycle serve --deployment NAME."
    ),
    no_args_is_help=True,
)

NameArgument = Annotated[
    str, typer.Argument(metavar="NAME", help="The deployment's name, e.g. churn-prod.")
]
TargetArgument = Annotated[
    str,
    typer.Argument(
        metavar="MODEL_URI", help="models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/STAGE."
    ),
]


def _service() -> DeploymentService:
    """The service ``mc.deployments`` uses: the store's, or a server's with an http(s) URI."""
    from modelcycle.serving._deploy_fluent import deployment_service

    return deployment_service()


def _actor() -> str:
    """Who acts: ``MODELCYCLE_USER``, else the operating-system user (as ``models`` does); a
    server records its token's user instead."""
    from modelcycle.registry._fluent import current_actor

    return current_actor()


def _done(deployment: Deployment, as_json: bool, what: str) -> None:
    if as_json:
        print_json({"deployment": deployment.model_dump(mode="json")})
        return
    console().print(plain(f"{what} (revision {deployment.revision})"))
    _print_routing(deployment)


@app.command("create")
def create(
    name: NameArgument,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="What it serves: models:/NAME@ALIAS follows the alias when it moves; "
            "models:/NAME/VERSION pins a version.",
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Create a deployment sending all its traffic to one model.

    Example: modelcycle deploy create churn-prod --model models:/churn@champion

    JSON: {"deployment": {"name", "revision", "routing": {"primary", "splits", "sticky_header",
    "shadows", "canary"}, "created_by", "created_at", "updated_at"}}.
    """
    deployment = _service().create(name, model, actor=_actor())
    _done(deployment, as_json, f"Created deployment {name}")


@app.command("split")
def split(
    name: NameArgument,
    to: Annotated[str, typer.Option("--to", help="The model URI that gets the share.")],
    percent: Annotated[
        str,
        typer.Option(
            "--percent", "-p", help="Its share of the traffic, 0–100 (0 removes the split)."
        ),
    ],
    sticky_header: Annotated[
        str | None,
        typer.Option(
            "--sticky-header",
            help="Route by a stable hash of this request header (e.g. X-User-Id), so one "
            "user always meets the same version; random per request without it.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a share of the traffic to another version (A/B test).

    Example: modelcycle deploy split churn-prod --to models:/churn/4 --percent 10
    --sticky-header X-User-Id
    """
    from modelcycle.serving._deploy_spec import parse_percent

    share = parse_percent(percent)
    deployment = _service().split(name, to, share, sticky_header=sticky_header, actor=_actor())
    _done(deployment, as_json, f"Split {name}: {share:g}% to {to}")


@app.command("shadow")
def shadow(
    name: NameArgument,
    target: TargetArgument,
    remove: Annotated[bool, typer.Option("--remove", help="Stop mirroring to it.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Mirror every request to another version too; its answer is logged and discarded.

    The client's answer never waits for the shadow, and a shadow that fails or falls behind
    is counted, never felt. Example: modelcycle deploy shadow churn-prod models:/churn/5
    """
    deployment = _service().shadow(name, target, remove=remove, actor=_actor())
    verb = "Stopped mirroring" if remove else "Mirroring"
    _done(deployment, as_json, f"{verb} {name} to {target}")


@app.command("canary")
def canary(
    name: NameArgument,
    target: TargetArgument,
    steps: Annotated[
        str,
        typer.Option("--steps", help="Traffic percentages of the steps, increasing."),
    ] = "5,25,50,100",
    interval: Annotated[
        str,
        typer.Option("--interval", help="How long each step lasts: 30s, 5m, 1h."),
    ] = "5m",
    max_error_rate: Annotated[
        str | None,
        typer.Option(
            "--max-error-rate",
            help="Gate: highest share of server errors (HTTP 5xx) in a step: 1% or 0.01.",
        ),
    ] = None,
    max_p99_ms: Annotated[
        float | None,
        typer.Option("--max-p99-ms", help="Gate: highest p99 latency in a step, milliseconds."),
    ] = None,
    min_requests: Annotated[
        int,
        typer.Option(
            "--min-requests",
            help="Requests the canary must answer in a step before it is judged.",
        ),
    ] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Roll a version out in steps; it advances while its gates hold and rolls back by itself
    the moment one fails. Serving processes run the steps (modelcycle serve --deployment).

    Example: modelcycle deploy canary churn-prod models:/churn/5 --steps 5,25,50,100
    --interval 5m --max-error-rate 1% --max-p99-ms 50
    """
    from modelcycle.serving._deploy_spec import parse_duration

    deployment = _service().canary(
        name,
        target,
        steps=steps,
        interval_s=parse_duration(interval),
        max_error_rate=max_error_rate,
        max_p99_ms=max_p99_ms,
        min_requests=min_requests,
        actor=_actor(),
    )
    _done(deployment, as_json, f"Canary of {target} started on {name}")


@app.command("promote")
def promote(
    name: NameArgument,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Which split to promote when there are several."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make the canary's or the split's version the primary, with all the traffic.

    Example: modelcycle deploy promote churn-prod
    """
    deployment = _service().promote(name, target=to, actor=_actor())
    _done(deployment, as_json, f"Promoted {deployment.routing.primary} on {name}")


@app.command("rollback")
def rollback(
    name: NameArgument,
    revision: Annotated[
        int | None,
        typer.Option("--revision", "-r", min=1, help="Return to this revision's routing."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Return at once to the previous routing (again: the one before, and so on).

    Example: modelcycle deploy rollback churn-prod
    """
    deployment = _service().rollback(name, revision=revision, actor=_actor())
    _done(deployment, as_json, f"Rolled {name} back")


@app.command("status")
def status(
    name: NameArgument,
    window: Annotated[
        str, typer.Option("--window", help="Live figures over this last span: 1m, 5m, 1h.")
    ] = "5m",
    as_json: JsonFlag = False,
) -> None:
    """Show the routing, the version each target resolves to, live traffic, latency and
    errors per version (every serving replica added), canary progress and recent changes.

    JSON: {"deployment", "resolved", "shares", "window_s", "traffic": [{"model", "version",
    "role", "requests", "errors", "client_errors", "error_rate", "requests_per_s", "mean_ms",
    "p50_ms", "p99_ms"}], "replicas", "canary", "history"}.
    """
    from modelcycle.serving._deploy_spec import parse_duration

    found = _service().status(name, window_s=parse_duration(window, "--window"))
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    _print_status(found)


@app.command("history")
def history(
    name: NameArgument,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="Show at most this many changes.")
    ] = 20,
    as_json: JsonFlag = False,
) -> None:
    """List the routing changes, newest first: who, when, what and why.

    JSON: {"revisions": [{"revision", "previous", "action", "routing", "actor", "at",
    "details"}]}.
    """
    revisions = _service().history(name, limit=limit)
    if as_json:
        print_json({"revisions": [r.model_dump(mode="json") for r in revisions]})
        return
    console().print(_history_table(revisions))


@app.command("list")
def list_deployments(as_json: JsonFlag = False) -> None:
    """List deployments with their revision and routing.

    JSON: {"deployments": [deployment, …]}.
    """
    from rich.table import Table

    found = _service().list_deployments()
    if as_json:
        print_json({"deployments": [d.model_dump(mode="json") for d in found]})
        return
    if not found:
        console().print(
            "No deployments yet; modelcycle deploy create NAME --model models:/NAME@ALIAS"
        )
        return
    table = Table(header_style="bold")
    for header in ("name", "revision", "primary", "splits", "canary", "shadows", "updated"):
        table.add_column(header)
    for d in found:
        r = d.routing
        table.add_row(
            plain(d.name),
            plain(d.revision),
            plain(r.primary),
            plain(", ".join(f"{s.target} {s.percent:g}%" for s in r.splits) or None),
            plain(None if r.canary is None else f"{r.canary.target} {r.canary.percent:g}%"),
            plain(", ".join(r.shadows) or None),
            format_time(d.updated_at, seconds=False),
        )
    console().print(table)


# -- printing -----------------------------------------------------------------------------------


def _print_routing(deployment: Deployment) -> None:
    r = deployment.routing
    out = console()
    out.print(plain(f"  primary: {r.primary} ({r.primary_percent():g}%)"))
    for s in r.splits:
        out.print(plain(f"  split:   {s.target} ({s.percent:g}%)"))
    if r.sticky_header:
        out.print(plain(f"  sticky by header {r.sticky_header}"))
    if r.canary is not None:
        c = r.canary
        out.print(
            plain(
                f"  canary:  {c.target} step {c.step + 1}/{len(c.steps)} ({c.percent:g}%), "
                f"steps {', '.join(f'{p:g}' for p in c.steps)}, every {c.interval_s:g}s"
            )
        )
    for target in r.shadows:
        out.print(plain(f"  shadow:  {target} (mirrored, answer discarded)"))


def _print_status(found: DeploymentStatus) -> None:
    from rich.table import Table

    out = console()
    d = found.deployment
    out.print(plain(f"Deployment {d.name}, revision {d.revision}", "bold"))
    for share in found.shares:
        version = share["version"]
        at = "unresolved" if version is None else f"v{version}"
        percent = "mirrored" if share["role"] == "shadow" else f"{share['percent']:g}%"
        out.print(plain(f"  {share['role']:<8} {share['target']} → {at}  {percent}"))
    if found.canary is not None:
        c = found.canary
        t = c.traffic
        out.print(
            plain(
                f"  canary step {c.step}/{len(c.steps)} at {c.percent:g}% until "
                f"{format_time(c.step_ends_at)}: {t.requests}/{c.min_requests} requests, "
                f"{t.errors} errors, p99 "
                f"{'-' if t.p99_ms is None else f'{t.p99_ms:.1f} ms'}"
                + (f"; FAILING: {'; '.join(c.failing)}" if c.failing else "")
            )
        )
    table = Table(
        title=f"Traffic over the last {found.window_s:g}s from {found.replicas} replica(s)",
        header_style="bold",
    )
    for header in ("model", "version", "role", "requests", "req/s", "errors", "4xx", "p50 ms",
                   "p99 ms"):  # fmt: skip
        table.add_column(header)
    for t in found.traffic:
        table.add_row(
            plain(t.model),
            plain(t.version),
            plain(t.role),
            plain(t.requests),
            plain(round(t.requests_per_s, 2)),
            plain(f"{t.errors} ({(t.error_rate or 0):.2%})"),
            plain(t.client_errors),
            plain(None if t.p50_ms is None else round(t.p50_ms, 2)),
            plain(None if t.p99_ms is None else round(t.p99_ms, 2)),
        )
    if found.traffic:
        out.print(table)
    else:
        out.print(
            plain(
                f"  no traffic reported in the last {found.window_s:g}s; serve it with "
                f"modelcycle serve --deployment {d.name}"
            )
        )
    out.print(_history_table(found.history))


def _history_table(revisions: list[DeploymentRevision]) -> Table:
    from rich.table import Table

    table = Table(title="Changes, newest first", header_style="bold")
    for header in ("revision", "action", "by", "at", "primary", "details"):
        table.add_column(header)
    for r in revisions:
        details = ", ".join(f"{k}={v}" for k, v in r.details.items() if v not in (None, []))
        table.add_row(
            plain(r.revision),
            plain(r.action),
            plain(r.actor),
            format_time(r.at),
            plain(r.routing.primary),
            plain(details or None),
        )
    return table
