"""Tables of the model registry."""

from __future__ import annotations
