"""``modelcycle experiments …``: the named groups runs belong to."""

from __future__ import annotations

import typer

from modelcycle.cli._output import JsonFlag, console, format_time, plain, print_json

app = typer.Typer(help="List experiments, the named groups of runs.", no_args_is_help=True)


@app.command("list")
def list_experiments(
    as_json: JsonFlag = False,
) -> None:
    """List active experiments by name.

    JSON: {"experiments": [{"id", "name", "lifecycle_stage", "created_at", "tags"}]}.
    """
    from rich.table import Table

    import modelcycle as mc

    experiments = mc.list_experiments()
    if as_json:
        print_json({"experiments": [e.model_dump(mode="json") for e in experiments]})
        return
    out = console()
    if not experiments:
        out.print("No experiments yet: `modelcycle demo` or mc.start_run(experiment=…) makes one.")
        return
    table = Table(header_style="bold")
    table.add_column("id", justify="right")
    table.add_column("name")
    table.add_column("created", no_wrap=True)
    table.add_column("tags")
    for experiment in experiments:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(experiment.tags.items()))
        table.add_row(
            str(experiment.id),
            plain(experiment.name),
            format_time(experiment.created_at),
            plain(tags or None),
        )
    out.print(table)
