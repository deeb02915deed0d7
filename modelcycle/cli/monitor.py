"""`modelcycle monitor …`."""

from __future__ import annotations

import typer

app = typer.Typer(help="monitor (being built).", no_args_is_help=True)
