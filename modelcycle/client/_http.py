"""One connection to a modelcycle server: keep-alive, time-outs, retries, error translation.

Retries: a request is sent again, after an exponential back-off with jitter, when the connection
fails or the server answers 5xx, but only when sending it twice cannot do harm: reads, PUT and
PATCH and DELETE (idempotent by design), and POSTs that carry an ``Idempotency-Key`` (the server
replays the first answer). A request that never reached the server (connection refused) is
always retried. Anything else fails at once, so a write is never silently doubled.

An error answer (``{"error": {code, message, details}}``) is raised as the class its code names
in :data:`modelcycle.errors.ERRORS_BY_CODE`; a code this client does not know becomes the known
class with the same HTTP status, so a newer server still gives a meaningful exception.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from modelcycle.errors import (
    ERRORS_BY_CODE,
    IntegrityError,
    InvalidInput,
    ModelcycleError,
    StoreUnavailable,
)

API_PREFIX = "/api/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
T = TypeVar("T")


class _RetryableAnswer(Exception):
    """A 5xx worth another try; carries the answer in case no try is left."""

    def __init__(self, error: ModelcycleError) -> None:
        super().__init__(error.message)
        self.error = error


class HttpSession:
    """An ``httpx.Client`` bound to one server and token, with the retry rules above.

    Args:
        base_url: ``http(s)://host:port`` of the server.
        token: API token sent as ``Authorization: Bearer``; none for a server without auth.
        timeout: seconds to wait for a connection, and between bytes once connected.
        retries: how many times a retryable request is sent again.
        backoff: first back-off in seconds; doubled at each retry (with ±50 % jitter).
        transport: an httpx transport to use instead of the network (tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        headers = {"User-Agent": "modelcycle-client", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=30.0),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: Callable[[], Any] | None = None,
    ) -> httpx.Response:
        """Send a request and return its successful answer, read whole.

        Args:
            content: a callable giving the body (a file, bytes); called again for each retry,
                so a streamed body can be re-opened.

        Raises:
            ModelcycleError: the class the server's error names.
            StoreUnavailable: the server cannot be reached, after the allowed retries.
        """

        def send() -> httpx.Response:
            body = content() if content is not None else None
            try:
                response = self._client.request(
                    method, path, json=json, params=params, headers=headers, content=body
                )
            finally:
                if hasattr(body, "close"):
                    body.close()
            self._check(response, method, headers)
            return response

        return self.retrying(method, headers, send)

    @contextmanager
    def stream(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[httpx.Response]:
        """A GET whose body is read as it arrives (no retry here: see :meth:`retrying`)."""
        with self._client.stream("GET", path, params=params) as response:
            if response.is_error:
                response.read()
                raise error_from(response)
            yield response

    def retrying(
        self, method: str, headers: Mapping[str, str] | None, attempt: Callable[[], T]
    ) -> T:
        """Run ``attempt`` with this session's retry rules for ``method``."""
        repeatable = _repeatable(method, headers)
        tries = 0
        while True:
            try:
                return attempt()
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not (repeatable or never_sent) or tries >= self.retries:
                    raise StoreUnavailable(
                        f"cannot reach the modelcycle server at {self.base_url}: {exc!r}. Check "
                        "that `modelcycle server` runs there and MODELCYCLE_URI is right.",
                        details={"server": self.base_url, "method": method},
                    ) from exc
            except _RetryableAnswer as answer:
                if tries >= self.retries:
                    raise answer.error from None
            tries += 1
            time.sleep(self.backoff * 2 ** (tries - 1) * random.uniform(0.5, 1.5))

    def _check(
        self, response: httpx.Response, method: str, headers: Mapping[str, str] | None
    ) -> None:
        if not response.is_error:
            return
        error = error_from(response)
        if (
            _repeatable(method, headers)
            and response.status_code in RETRY_STATUSES
            and not isinstance(error, IntegrityError)  # stored bytes stay wrong on a retry
        ):
            raise _RetryableAnswer(error)
        raise error


def _repeatable(method: str, headers: Mapping[str, str] | None) -> bool:
    """Whether sending the request twice does no harm: see the module's docstring."""
    return method in IDEMPOTENT_METHODS or bool(headers and IDEMPOTENCY_HEADER in headers)


def error_from(response: httpx.Response) -> ModelcycleError:
    """The exception an error answer stands for."""
    code, message, details = None, None, {}
    try:
        body = response.json()
        error = body["error"]
        code, message = str(error["code"]), str(error["message"])
        details = dict(error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        pass
    cls = ERRORS_BY_CODE.get(code or "") or _class_for_status(response.status_code)
    if message is None:
        message = (
            f"the server at {response.request.url} answered {response.status_code} "
            f"{response.reason_phrase}: {response.text[:200]}"
        )
    return cls(message, details=details)


def _class_for_status(status: int) -> type[ModelcycleError]:
    """The first known class answering ``status``; 413 and other 4xx are ``InvalidInput``."""
    if status == 503:
        return StoreUnavailable
    if status >= 500:
        return ModelcycleError
    for cls in ERRORS_BY_CODE.values():
        if cls is not ModelcycleError and cls.http_status == status:
            return cls
    return InvalidInput


class HttpService:
    """What every HTTP domain client shares: one :class:`HttpSession` to the server.

    Args:
        base_url: ``http(s)://host:port`` of the server (``MODELCYCLE_URI``).
        token: the API token (``MODELCYCLE_TOKEN``); omit it for a server run with ``--no-auth``.
        timeout, retries, backoff, transport: see :class:`HttpSession`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.1,
        transport: Any = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = HttpSession(
            base_url,
            token=token,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connections to the server."""
        self._http.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """The body of a successful GET."""
        return self._http.request("GET", path, params=params).content


def once() -> dict[str, str]:
    """A fresh ``Idempotency-Key`` header: a retry of the request is answered, not redone."""
    return {IDEMPOTENCY_HEADER: uuid.uuid4().hex}


def texts(values: Mapping[str, Any] | None) -> dict[str, str]:
    """Params and tags as the strings the store keeps (``str(value)``, as in embedded mode)."""
    return {key: str(value) for key, value in (values or {}).items()}


def query(**values: Any) -> dict[str, Any]:
    """Query parameters, without those that are ``None``."""
    return {key: value for key, value in values.items() if value is not None}
