"""Answers of the inference server: JSON bodies, request ids, errors, v2 datatypes."""

from __future__ import annotations

import re
import uuid
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from modelcycle.errors import InvalidInput, ModelcycleError
from modelcycle.serving._json import dumps

REQUEST_ID_HEADER = "x-request-id"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
"""A client's own id is kept when it is this tame; anything else (too long, spaces, control
characters that could split a log line) is replaced by a fresh one."""

JSON = "application/json"


class PayloadTooLarge(InvalidInput):
    """The request body is larger than the server accepts (``--max-body-mb``)."""

    http_status = 413
    headline = "Payload too large"


class UnsupportedMediaType(InvalidInput):
    """The request's Content-Type is neither JSON nor CSV."""

    http_status = 415
    headline = "Unsupported media type"


def request_id(request: Request) -> str:
    """The client's ``X-Request-Id`` when it sent a sane one, else a fresh random id."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _CLIENT_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def json_response(body: Any, rid: str, status: int = 200) -> Response:
    return Response(dumps(body), status, headers={REQUEST_ID_HEADER: rid}, media_type=JSON)


def error_response(error: ModelcycleError, rid: str) -> Response:
    """``{"error": {"code", "message", "details"}}`` with the error class's HTTP status."""
    return json_response(error.to_dict(), rid, error.http_status)


def to_json_list(values: np.ndarray) -> list[Any]:
    """Predictions as JSON-native values (int, float, str, bool, None for NaN), nested by shape."""
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        if nan.any():
            cells = values.astype(object)
            cells[nan] = None
            return cells.tolist()  # type: ignore[no-any-return]
        return values.tolist()  # type: ignore[no-any-return]
    if values.dtype.kind == "O":
        return [_native(v) for v in values.tolist()]
    return values.tolist()  # type: ignore[no-any-return]


def _native(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_native(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def v2_datatype(dtype: Any) -> str:
    """The Open Inference Protocol datatype of a numpy dtype or a signature dtype string."""
    try:
        kind = np.dtype(dtype)
    except TypeError:
        text = str(dtype).lower()
        if text.startswith(("float", "double")):
            return "FP64"
        if text.startswith(("int", "long")):
            return "INT64"
        if text.startswith("bool"):
            return "BOOL"
        return "BYTES"
    if kind.kind == "b":
        return "BOOL"
    if kind.kind in "iu":
        return f"{'UINT' if kind.kind == 'u' else 'INT'}{kind.itemsize * 8}"
    if kind.kind == "f":
        return f"FP{kind.itemsize * 8}"
    return "BYTES"
