"""`modelcycle audit …`."""

from __future__ import annotations

import typer

app = typer.Typer(help="audit (being built).", no_args_is_help=True)
