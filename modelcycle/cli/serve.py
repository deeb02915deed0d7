"""`modelcycle serve`."""

from __future__ import annotations


def serve_model() -> None:
    """Serve a model over HTTP (being built)."""
