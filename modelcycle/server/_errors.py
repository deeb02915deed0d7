"""The one place where an error becomes an HTTP answer: ``{"error": {code, message, details}}``.

* a :class:`ModelcycleError` answers with its class's ``http_status`` and its class name as the
  code, so the client raises the same class again;
* a body that is not JSON answers 400, a body or query that does not fit the schema 422, both
  with code ``InvalidInput`` and the offending fields in ``details.errors``;
* Starlette's own refusals (no such route 404, wrong method 405) keep their status;
* anything else is a bug: 500 with code ``InternalError``, the traceback in the server log only.

Routes never catch errors themselves.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelcycle.errors import ModelcycleError
from modelcycle.server._json import RecordResponse

logger = logging.getLogger("modelcycle.server")

_CODES_BY_STATUS = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> RecordResponse:
    """The error body with its status; a 401 also says how to authenticate (RFC 6750)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return RecordResponse(error_body(code, message, details), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ModelcycleError, _modelcycle_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _modelcycle_error(request: Request, exc: Exception) -> RecordResponse:
    assert isinstance(exc, ModelcycleError)
    return error_response(exc.http_status, exc.code, exc.message, _jsonable(exc.details))


async def _validation_error(request: Request, exc: Exception) -> RecordResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    malformed = any(error["type"] == "json_invalid" for error in errors)
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    if malformed:
        message = f"the request body is not valid JSON ({where})"
    else:
        message = f"the request does not fit the API's schema: {where}"
    return error_response(
        400 if malformed else 422, "InvalidInput", message, {"errors": errors[:50]}
    )


async def _http_error(request: Request, exc: Exception) -> RecordResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES_BY_STATUS.get(exc.status_code, "HTTPError")
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"no API resource at {request.url.path}; see /docs for the endpoints"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message)


async def _unexpected_error(request: Request, exc: Exception) -> RecordResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(
        500, "InternalError", "the server failed unexpectedly; its log has the details"
    )


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    """Details as JSON-safe values: plain data (nested lists and dicts too, so a failed gate's
    numbers reach the client) kept, anything exotic as its ``repr``."""
    return {str(key): _plain(value) for key, value in details.items()}


def _plain(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth < 8 and isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if depth < 8 and isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    return repr(value)
