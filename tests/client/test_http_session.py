"""Retries, back-off and error translation of the HTTP client, over a scripted transport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from modelcycle.client import HttpTrackingService
from modelcycle.client._http import HttpSession
from modelcycle.errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    ModelcycleError,
    NotFound,
    StoreUnavailable,
    Unauthenticated,
)

Handler = Callable[[httpx.Request], httpx.Response]


def _error(status: int, code: str, message: str = "m", **details: object) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message, "details": details}}
    )


class Script:
    """Answers requests from a list, and remembers what was asked."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _session(script: Script, retries: int = 3, token: str | None = "mct_a_b") -> HttpSession:
    return HttpSession(
        "http://server:5000",
        token=token,
        retries=retries,
        backoff=0.0,
        transport=httpx.MockTransport(script),
    )


def test_reads_are_retried_on_5xx_and_connection_errors() -> None:
    script = Script(
        _error(503, "StoreUnavailable"),
        httpx.ReadError("reset"),
        httpx.Response(200, json={"ok": True}),
    )
    assert _session(script).request("GET", "/runs").json() == {"ok": True}
    assert len(script.requests) == 3
    assert script.requests[0].headers["authorization"] == "Bearer mct_a_b"
    assert script.requests[0].url.path == "/api/v1/runs"


def test_retries_stop_and_raise_the_last_error() -> None:
    script = Script(*[_error(503, "StoreUnavailable", "db down") for _ in range(3)])
    with pytest.raises(StoreUnavailable, match="db down"):
        _session(script, retries=2).request("GET", "/runs")
    assert len(script.requests) == 3


def test_post_without_key_is_not_retried_after_it_may_have_arrived() -> None:
    script = Script(httpx.ReadError("reset"), httpx.Response(201, json={}))
    with pytest.raises(StoreUnavailable, match="cannot reach"):
        _session(script).request("POST", "/experiments", json={"name": "x"})
    assert len(script.requests) == 1
    script = Script(_error(500, "InternalError"), httpx.Response(201, json={}))
    with pytest.raises(ModelcycleError):
        _session(script).request("POST", "/experiments", json={"name": "x"})
    assert len(script.requests) == 1


def test_post_with_a_key_is_retried_with_the_same_key() -> None:
    script = Script(httpx.ReadError("reset"), httpx.Response(204))
    session = _session(script)
    session.request("POST", "/runs/r/metrics", json={}, headers={"Idempotency-Key": "k" * 16})
    assert [r.headers["idempotency-key"] for r in script.requests] == ["k" * 16] * 2


def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(201, json={}))
    _session(script).request("POST", "/experiments", json={"name": "x"})
    assert len(script.requests) == 2


def test_client_errors_are_never_retried() -> None:
    script = Script(_error(404, "NotFound", "no run 'x'", run_id="x"))
    with pytest.raises(NotFound, match="no run") as caught:
        _session(script).request("GET", "/runs/x")
    assert caught.value.details == {"run_id": "x"}
    assert len(script.requests) == 1


def test_integrity_errors_are_not_retried() -> None:
    script = Script(_error(500, "IntegrityError", "corrupted"))
    with pytest.raises(IntegrityError):
        _session(script).request("GET", "/runs/x/artifacts/a")
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_error(409, "AlreadyExists"), AlreadyExists),
        (_error(401, "Unauthenticated"), Unauthenticated),
        (_error(413, "BodyTooLarge"), InvalidInput),  # unknown code: the class for its status
        (_error(409, "SomethingNewer"), AlreadyExists),
        (httpx.Response(400, text="not json"), InvalidInput),
        (httpx.Response(502, text="bad gateway"), ModelcycleError),
    ],
)
def test_error_classes(answer: httpx.Response, expected: type[Exception]) -> None:
    with pytest.raises(expected):
        _session(Script(answer), retries=0).request("GET", "/x")


def test_no_token_sends_no_authorization() -> None:
    script = Script(httpx.Response(200, json={}))
    _session(script, token=None).request("GET", "/x")
    assert "authorization" not in script.requests[0].headers


def test_bad_metric_values_fail_before_any_request() -> None:
    script = Script()
    client = HttpTrackingService(
        "http://server:5000", transport=httpx.MockTransport(script), backoff=0
    )
    with pytest.raises(InvalidInput, match="must be a number"):
        client.log_metrics("r", [("loss", "0.5", 0, 0)])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="integer"):
        client.log_metrics("r", [("loss", 0.5, 1.5, 0)])  # type: ignore[list-item]
    client.close()
    assert script.requests == []
