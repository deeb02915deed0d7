"""``modelcycle experiments …``: list, rename, delete and restore the named groups of runs.

Deleting is soft, as in MLflow: the experiment and its runs leave listings and searches and it
takes no new run, until ``restore``; ``modelcycle gc`` purges the runs of deleted experiments.
"""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, format_time, plain, print_json

app = typer.Typer(
    help="List, rename, delete and restore experiments, the named groups of runs.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The experiment's name.")]


@app.command("list")
def list_experiments(
    include_deleted: Annotated[
        bool,
        typer.Option(
            "--all", "-a", help="Deleted experiments too, with a stage column (active/deleted)."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List active experiments by name (with --all, deleted ones too).

    Examples:

        modelcycle experiments list

        modelcycle experiments list --all --json

    JSON: {"experiments": [{"id", "name", "lifecycle_stage", "created_at", "tags"}]}.
    """
    from rich.table import Table

    import modelcycle as mc

    experiments = mc.list_experiments(include_deleted=include_deleted)
    if as_json:
        print_json({"experiments": [e.model_dump(mode="json") for e in experiments]})
        return
    out = console()
    if not experiments:
        out.print("No experiments yet: `modelcycle demo` or mc.start_run(experiment=…) makes one.")
        if not include_deleted:
            out.print("(`modelcycle experiments list --all` shows deleted ones too.)")
        return
    table = Table(header_style="bold")
    table.add_column("id", justify="right")
    table.add_column("name")
    if include_deleted:
        table.add_column("stage")
    table.add_column("created", no_wrap=True)
    table.add_column("tags")
    for experiment in experiments:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(experiment.tags.items()))
        stage = experiment.lifecycle_stage
        table.add_row(
            str(experiment.id),
            plain(experiment.name),
            *([plain(stage, "red" if stage == "deleted" else "")] if include_deleted else []),
            format_time(experiment.created_at),
            plain(tags or None),
        )
    out.print(table)


@app.command("rename")
def rename_experiment(
    name: Annotated[str, typer.Argument(metavar="OLD", help="The experiment's current name.")],
    new_name: Annotated[
        str,
        typer.Argument(
            metavar="NEW", help="Its new name: 1–250 characters, not taken by another experiment."
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Rename an experiment (active or deleted); its runs follow it.

    A taken NEW, even by a deleted experiment, is refused (exit 4); renaming a deleted
    experiment frees its name for a new one.

    Example:

        modelcycle experiments rename churn churn-2024

    JSON: the experiment under its new name, {"id", "name", "lifecycle_stage", …}.
    """
    import modelcycle as mc

    renamed = mc.rename_experiment(name, new_name)
    if as_json:
        print_json(renamed.model_dump(mode="json"))
        return
    _say(
        f"Experiment {name!r} (id {renamed.id}) is now {renamed.name!r}."
        if name != new_name
        else f"Experiment {name!r} already has this name."
    )


@app.command("delete")
def delete_experiment(name: NameArgument, as_json: JsonFlag = False) -> None:
    """Delete an experiment: it and its runs leave listings and searches, and it takes no new run.

    Nothing is removed: `experiments restore NAME` brings it back with its runs, until
    `modelcycle gc` purges the runs for good. The default experiment ("Default") cannot be
    deleted (exit 2).

    Example:

        modelcycle experiments delete scratch

    JSON: the experiment, {"id", "name", "lifecycle_stage": "deleted", …}.
    """
    import modelcycle as mc

    before = mc.get_experiment(name)
    deleted = mc.delete_experiment(before.id)
    if as_json:
        print_json(deleted.model_dump(mode="json"))
    elif before.lifecycle_stage == "deleted":
        _say(f"Experiment {name!r} was already deleted.")
    else:
        _say(
            f"Deleted experiment {name!r} (id {deleted.id}); its runs are hidden. Undo with: "
            f"modelcycle experiments restore {shlex.quote(name)}"
        )


@app.command("restore")
def restore_experiment(name: NameArgument, as_json: JsonFlag = False) -> None:
    """Restore a deleted experiment with the runs that were active in it.

    Runs deleted one by one stay deleted; runs already purged by `modelcycle gc` are gone.

    Example:

        modelcycle experiments restore scratch

    JSON: the experiment, {"id", "name", "lifecycle_stage": "active", …}.
    """
    import modelcycle as mc

    before = mc.get_experiment(name)
    restored = mc.restore_experiment(before.id)
    if as_json:
        print_json(restored.model_dump(mode="json"))
    elif before.lifecycle_stage != "deleted":
        _say(f"Experiment {name!r} is already active.")
    else:
        _say(f"Restored experiment {name!r} (id {restored.id}) with its runs.")


def _say(message: str) -> None:
    console().print(message, markup=False, highlight=False)
