"""`modelcycle deploy …`."""

from __future__ import annotations

import typer

app = typer.Typer(help="deploy (being built).", no_args_is_help=True)
