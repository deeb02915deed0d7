"""`modelcycle tokens …`."""

from __future__ import annotations

import typer

app = typer.Typer(help="tokens (being built).", no_args_is_help=True)
