"""The ``modelcycle`` command: the root typer app that gathers every command group.

Only typer, rich and the error tree are imported here and in the group modules' top level; the SDK,
pandas, SQLAlchemy and scikit-learn load inside the command that needs them, so ``--help`` and
``--version`` answer at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelcycle.cli import (
    audit,
    data,
    db,
    demo,
    deploy,
    experiments,
    gc,
    lineage,
    models,
    monitor,
    predict,
    quality,
    runs,
    serve,
    server,
    tokens,
    users,
)
from modelcycle.cli._errors import ErrorReportingGroup
from modelcycle.cli._output import console

app = typer.Typer(
    name="modelcycle",
    cls=ErrorReportingGroup,
    help=(
        "Manage machine-learning models across their whole life: tracked runs, experiments and "
        "the store behind them. The platform lives where MODELCYCLE_URI points (./.modelcycle "
        "by default)."
    ),
    no_args_is_help=True,
    # Locals of a crashed command may hold database URLs with passwords.
    pretty_exceptions_show_locals=False,
)
app.add_typer(runs.app, name="runs")
app.add_typer(experiments.app, name="experiments")
app.add_typer(db.app, name="db")
app.add_typer(data.app, name="data")
app.command("lineage")(lineage.show_lineage)
app.add_typer(quality.app, name="quality")
app.command("gc")(gc.collect_garbage)
app.command("demo")(demo.run_demo)
app.add_typer(models.app, name="models")
app.command("server")(server.run_server)
app.command("serve")(serve.serve_model)
app.command("predict")(predict.predict_batch)
app.add_typer(deploy.app, name="deploy")
app.add_typer(monitor.app, name="monitor")
app.add_typer(users.app, name="users")
app.add_typer(tokens.app, name="tokens")
app.add_typer(audit.app, name="audit")


def _show_version(value: bool) -> None:
    if value:
        from modelcycle import __version__

        console().print(f"modelcycle {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version of modelcycle and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Manage machine-learning models across their whole life."""


def main() -> None:
    """Entry point of the ``modelcycle`` console script and of ``python -m modelcycle``."""
    app()
