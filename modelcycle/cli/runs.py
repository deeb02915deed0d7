"""``modelcycle runs …``: list, show, compare and delete tracked runs.

Every command taking a RUN_ID accepts the full id or a unique prefix of it (the tables show the
first 8 characters), as git and docker do with their ids.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, print_json

if TYPE_CHECKING:
    from modelcycle.tracking.entities import Run

app = typer.Typer(
    help="List, inspect, compare and delete tracked runs.",
    no_args_is_help=True,
)

_RUN_ID_PREFIX = re.compile(r"[0-9a-f]{4,31}")
"""A prefix short enough to be typed and long enough to be worth a search; hex only, so it is
safe to put inside a filter string."""

RunIdArgument = Annotated[
    str, typer.Argument(help="The run's id, or a unique prefix of it (at least 4 characters).")
]


@app.command("list")
def list_runs(
    experiment: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment",
            "-e",
            metavar="NAME",
            help="Only runs of this experiment (by name); repeat for several. All by default.",
        ),
    ] = None,
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter",
            "-f",
            metavar="EXPR",
            help="Search filter, e.g. \"metrics.auc > 0.9 and params.C = '1.0'\"; names are "
            "metrics.KEY, params.KEY, tags.KEY and attributes (status, run_name, start_time, "
            "…), joined with AND, OR, NOT and parentheses.",
        ),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option(
            "--order-by",
            "-o",
            metavar="KEY [ASC|DESC]",
            help='Sort key such as "metrics.auc DESC"; repeat for tie-breakers. Newest first '
            "by default.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, metavar="N", help="Runs per page (1 to 50000).")
    ] = 50,
    page_token: Annotated[
        str | None,
        typer.Option(
            "--page-token",
            metavar="TOKEN",
            help="Continue a previous listing: the token it printed, with the same experiment, "
            "filter and order.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List runs matching a filter, newest first, a page at a time.

    JSON: {"runs": [{"id", "name", "experiment", "status", "start_time", …}], "next_page_token"}.
    """
    import modelcycle as mc
    from modelcycle.cli._runs_table import frame_records, runs_table

    frame = mc.search_runs(
        experiment=experiment or None,
        filter=filter_,
        order_by=order_by or None,
        limit=limit,
        page_token=page_token,
    )
    records = frame_records(frame)
    next_token: str | None = frame.attrs.get("next_page_token")
    if as_json:
        print_json({"runs": records, "next_page_token": next_token})
        return
    out = console()
    if not records:
        out.print("No runs found.")
        return
    table, notes = runs_table(records, " ".join([filter_ or "", *(order_by or [])]), out.width)
    out.print(table)
    if notes:
        out.print(
            f"[dim]{', '.join(notes)} (a wider terminal shows more; all are in `runs show` and "
            "--json)[/]",
            highlight=False,
        )
    if next_token:
        again = _list_command(experiment, filter_, order_by, limit, next_token)
        out.print("More runs on the next page:", highlight=False)
        out.print(again, markup=False, highlight=False, soft_wrap=True)


@app.command("show")
def show_run(run_id: RunIdArgument, as_json: JsonFlag = False) -> None:
    """Show one run: attributes, params, metrics, tags, environment, inputs, artifacts.

    JSON: the run as the REST API sends it ({"id", "params", "metrics", "environment", …}).

    It has one more key, "artifacts": [{"path", "digest", "size"}].
    """
    import modelcycle as mc
    from modelcycle.cli._run_detail import render_run, run_document

    run = resolve_run(run_id)
    artifacts = mc.list_artifacts(run.id)
    if as_json:
        print_json(run_document(run, artifacts))
    else:
        render_run(console(), run, artifacts)


@app.command("compare")
def compare_runs(
    run_ids: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN_ID",
            help="Two or more run ids (or unique prefixes), shown in this order.",
        ),
    ],
    minimize: Annotated[
        list[str] | None,
        typer.Option(
            "--minimize",
            metavar="KEY",
            help="Metric key for which lower is better; repeatable. Names containing loss, "
            "error, mse, mae, rmse, mape, perplexity or latency are minimized anyway.",
        ),
    ] = None,
    maximize: Annotated[
        list[str] | None,
        typer.Option(
            "--maximize",
            metavar="KEY",
            help="Metric key for which higher is better, overriding the name rule; repeatable.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare runs side by side: differing rows highlighted, best metric values starred.

    JSON: {"runs": […], "params": [{"key", "values": {id: value}, "differs"}], "metrics": […]}.

    Each metric also has "goal" ("min" or "max") and "best" (the ids holding the best value).
    """
    from modelcycle.cli._compare import compare_rows, comparison_document, comparison_table

    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two runs to compare", param_hint="RUN_ID")
    runs = [resolve_run(run_id) for run_id in run_ids]
    if len({run.id for run in runs}) < len(runs):
        raise typer.BadParameter("a run is named twice", param_hint="RUN_ID")
    params, metrics = compare_rows(runs, minimize or (), maximize or ())
    if as_json:
        print_json(comparison_document(runs, params, metrics))
    else:
        console().print(comparison_table(runs, params, metrics))


@app.command("delete")
def delete_run(run_id: RunIdArgument, as_json: JsonFlag = False) -> None:
    """Delete a run: it leaves listings and searches.

    Its records and artifacts are kept (`runs show` still finds it by its full id) until
    `modelcycle gc` removes them for good.

    JSON: {"run_id", "name", "experiment", "lifecycle_stage": "deleted"}.
    """
    import modelcycle as mc

    run = resolve_run(run_id)
    mc.delete_run(run.id)
    if as_json:
        print_json(
            {
                "run_id": run.id,
                "name": run.name,
                "experiment": run.experiment,
                "lifecycle_stage": "deleted",
            }
        )
        return
    console().print(
        f"Deleted run {run.id} ({run.name}) of experiment {run.experiment!r}.",
        markup=False,
        highlight=False,
    )


def resolve_run(run_id: str) -> Run:
    """The run with this id, or the one run whose id starts with it.

    Raises:
        NotFound: no run has this id or prefix.
        InvalidInput: the prefix matches several runs.
    """
    import modelcycle as mc
    from modelcycle.errors import InvalidInput, NotFound

    try:
        return mc.get_run(run_id)
    except NotFound:
        if not _RUN_ID_PREFIX.fullmatch(run_id):
            raise
        matches = mc.search_runs(filter=f"attributes.run_id LIKE '{run_id}%'", limit=3)
        found = list(matches["run_id"])
        if not found:
            raise
        if len(found) > 1:
            shown = ", ".join(found[:2]) + (", …" if len(found) > 2 else "")
            raise InvalidInput(
                f"run id prefix {run_id!r} matches several runs ({shown}); give more characters.",
                details={"run_id": run_id},
            ) from None
        return mc.get_run(found[0])


def _list_command(
    experiments: list[str] | None,
    filter_: str | None,
    order_by: list[str] | None,
    limit: int,
    page_token: str,
) -> str:
    """The ``runs list`` command line that fetches the next page."""
    words = ["modelcycle", "runs", "list"]
    for name in experiments or []:
        words += ["-e", name]
    if filter_:
        words += ["-f", filter_]
    for key in order_by or []:
        words += ["-o", key]
    words += ["-n", str(limit), "--page-token", page_token]
    return shlex.join(words)
