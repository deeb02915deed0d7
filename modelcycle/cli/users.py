"""`modelcycle users …`."""

from __future__ import annotations

import typer

app = typer.Typer(help="users (being built).", no_args_is_help=True)
