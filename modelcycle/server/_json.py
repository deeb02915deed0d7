"""JSON responses for frozen records, fast and faithful to NaN and infinity.

FastAPI's default path re-validates a returned model and walks it with ``jsonable_encoder``;
for a metric history of 100,000 points that costs more than the database read. Routes instead
return :class:`RecordResponse`, serialised once by pydantic-core. Standard JSON has no NaN or
±inf, and a metric may be either, so they travel as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"``, which pydantic parses back into floats on the client.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel
from starlette.responses import Response


def to_json(content: Any) -> bytes:
    """Records (or lists and dicts of them) as JSON bytes; non-finite floats as strings."""
    if isinstance(content, BaseModel):
        content = content.model_dump()
    elif isinstance(content, list):
        content = [c.model_dump() if isinstance(c, BaseModel) else c for c in content]
    return pydantic_core.to_json(content, inf_nan_mode="strings")


class RecordResponse(Response):
    """``application/json`` of a record, a list of records or plain JSON data."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return to_json(content)
