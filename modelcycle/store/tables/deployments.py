"""Tables of deployments."""

from __future__ import annotations
