"""`modelcycle server`."""

from __future__ import annotations


def run_server() -> None:
    """Run the platform's REST API (being built)."""
