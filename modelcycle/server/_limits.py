"""The request-body limit, as ASGI middleware: a body over ``max_body_mb`` gets 413.

A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked body is
counted as it arrives and refused when it passes the limit, so a client cannot make the server
buffer more than the limit whatever it declares. Artifact uploads are exempt: their route
streams the body to disk while hashing it and never holds it in memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelcycle.errors import InvalidInput
from modelcycle.server._json import to_json

STREAMED_UPLOADS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("PUT", re.compile(r"^/api/v1/runs/[^/]+/artifacts/.")),
    ("PUT", re.compile(r"^/api/v1/(models|datasets)/.+/blobs/[^/]+$")),
)
"""``(method, path pattern)`` of the routes that stream their body instead of parsing it."""


class BodyTooLarge(InvalidInput):
    """The request body is larger than the server accepts (HTTP 413)."""

    http_status = 413
    headline = "Request too large"


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413 in the API's error shape."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        exempt: Sequence[tuple[str, re.Pattern[str]]] = STREAMED_UPLOADS,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, declared)
            return
        received = 0
        exceeded = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise self._error(received)
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app made of the exception raised while it read the body (FastAPI
            # turns it into a 400), the answer is 413.
            nonlocal replaced
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start" and not replaced:
                replaced = True
                await self._refuse(send, received)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not replaced:
                replaced = True
                await self._refuse(send, received)

    def _exempt(self, scope: Scope) -> bool:
        method, path = scope["method"], scope["path"]
        return any(method == m and pattern.match(path) for m, pattern in self.exempt)

    def _error(self, size: int) -> BodyTooLarge:
        limit_mb = self.max_bytes / (1 << 20)
        return BodyTooLarge(
            f"the request body is larger than this server's limit of {limit_mb:g} MiB "
            "(MODELCYCLE_SERVER_MAX_BODY_MB); send smaller batches",
            details={"limit_bytes": self.max_bytes, "received_bytes_at_least": size},
        )

    async def _refuse(self, send: Send, size: int) -> None:
        body = to_json(self._error(size).to_dict())
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
