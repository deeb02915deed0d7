"""`modelcycle predict`."""

from __future__ import annotations


def predict_batch() -> None:
    """Score files with a model (being built)."""
