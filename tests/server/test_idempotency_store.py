"""Idempotency-Keys kept in the store: a retry is answered once across processes and restarts.

Each "server process" here is its own app from ``create_app`` over the same database (the
``store`` fixture, on SQLite and PostgreSQL): two apps share nothing but the store, as two
``--workers`` processes, or a server before and after a restart, do.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from modelcycle.config import StoreLocation
from modelcycle.errors import AlreadyExists, InvalidInput
from modelcycle.server import create_app
from modelcycle.server._idempotency import (
    DONE,
    RUNNING,
    IdempotencyCache,
    _insert_claim,
    _scope_id,
)
from modelcycle.store import Store, open_store
from modelcycle.store.tables.server import request_keys

SCOPE = ("alice", "POST", "/api/v1/runs/r1/metrics")
KEY = "batch-0000000001"
BATCH = {"keys": ["m", "m"], "values": [1.0, 2.0], "steps": [0, 1], "timestamps": [5, 6]}


class _InProcess(httpx.BaseTransport):
    """A synchronous transport into an ASGI app (starlette's httpx.Client is deprecated here)."""

    def __init__(self, app: FastAPI) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(send())


def _client(app: FastAPI) -> httpx.Client:
    return httpx.Client(transport=_InProcess(app), base_url="http://s/api/v1")


def _app(store: Store, **cache: Any) -> FastAPI:
    """One server process over ``store`` (no auth: every request acts as ``anonymous``)."""
    app = create_app(store=store, auth=False)
    if cache:
        services = app.state.services
        idempotency = IdempotencyCache(store, **cache)
        app.state.services = dataclasses.replace(services, idempotency=idempotency)
    return app


@pytest.fixture
def worker_a(store: Store) -> Iterator[httpx.Client]:
    with _client(_app(store)) as client:
        yield client


@pytest.fixture
def worker_b(store: Store) -> Iterator[httpx.Client]:
    with _client(_app(store)) as client:
        yield client


def _new_run(client: httpx.Client) -> str:
    experiment = client.put("/experiments/by-name/e").json()["id"]
    run_id: str = client.post("/runs", json={"experiment_id": experiment}).json()["id"]
    return run_id


def _steps(client: httpx.Client, run_id: str) -> list[int]:
    """The steps stored for metric ``m`` (none when it was never logged: a 404)."""
    answer = client.get(f"/runs/{run_id}/metrics", params={"key": "m"})
    if answer.status_code == 404:
        return []
    steps: list[int] = answer.json()["steps"]
    return steps


def _rows(store: Store) -> list[tuple[str, Any]]:
    with store.read() as connection:
        return [
            tuple(r)
            for r in connection.execute(select(request_keys.c.status, request_keys.c.response))
        ]


# --------------------------------------------------------------------------------------------
# Across processes and restarts, over HTTP
# --------------------------------------------------------------------------------------------


def test_batch_retried_on_another_worker_is_stored_once(
    store: Store, worker_a: httpx.Client, worker_b: httpx.Client
) -> None:
    run_id = _new_run(worker_a)
    url = f"/runs/{run_id}/metrics"
    first = worker_a.post(url, json=BATCH, headers={"Idempotency-Key": KEY})
    again = worker_b.post(url, json=BATCH, headers={"Idempotency-Key": KEY})
    assert (first.status_code, again.status_code) == (204, 204)
    assert again.content == first.content == b""
    assert _steps(worker_b, run_id) == [0, 1]
    assert (
        worker_b.post(url, json=BATCH, headers={"Idempotency-Key": KEY + "x"}).status_code == 204
    )
    assert _steps(worker_a, run_id) == [0, 0, 1, 1]  # a new key is a new batch


def test_run_creation_replayed_by_another_worker_is_the_same_answer(
    worker_a: httpx.Client, worker_b: httpx.Client
) -> None:
    experiment = worker_a.put("/experiments/by-name/e").json()["id"]
    headers = {"Idempotency-Key": "create-run-0001"}
    body = {"experiment_id": experiment, "params": {"lr": "0.1"}, "tags": {"t": "x"}}
    first = worker_a.post("/runs", json=body, headers=headers)
    again = worker_b.post("/runs", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content  # byte for byte: the stored JSON renders the same
    assert again.headers["content-type"] == first.headers["content-type"]
    assert [r["id"] for r in worker_b.get("/runs").json()["runs"]] == [first.json()["id"]]


def test_retry_after_a_restart_is_answered_from_the_store(store_location: StoreLocation) -> None:
    before = open_store(store_location)
    with _client(_app(before)) as client:
        run_id = _new_run(client)
        headers = {"Idempotency-Key": KEY}
        assert (
            client.post(
                f"/runs/{run_id}/end", json={"metrics": BATCH}, headers=headers
            ).status_code
            == 204
        )
    before.close()

    after = open_store(store_location)  # the restarted server: a new engine, a new app
    try:
        with _client(_app(after)) as client:
            # Ending a run twice is refused: the retry is answered instead of redone.
            assert (
                client.post(
                    f"/runs/{run_id}/end", json={"metrics": BATCH}, headers=headers
                ).status_code
                == 204
            )
            assert _steps(client, run_id) == [0, 1]
            assert client.post(f"/runs/{run_id}/end", json={}).status_code == 400
    finally:
        after.close()


def test_a_failed_call_releases_its_key_so_the_retry_runs(
    store: Store, worker_a: httpx.Client, worker_b: httpx.Client
) -> None:
    run_id = _new_run(worker_a)
    url = f"/runs/{run_id}/metrics"
    bad = BATCH | {"keys": ["m", "no\tgood"]}
    refused = worker_a.post(url, json=bad, headers={"Idempotency-Key": KEY})
    assert refused.status_code == 400
    assert _rows(store) == []  # the claim went with the failure
    assert worker_b.post(url, json=BATCH, headers={"Idempotency-Key": KEY}).status_code == 204
    assert _steps(worker_a, run_id) == [0, 1]
    assert _rows(store) == [(DONE, None)]


def test_malformed_key_is_400_and_claims_nothing(store: Store, worker_a: httpx.Client) -> None:
    run_id = _new_run(worker_a)
    for key in ("short", "bad key!", "x" * 129):
        answer = worker_a.post(
            f"/runs/{run_id}/metrics", json=BATCH, headers={"Idempotency-Key": key}
        )
        assert answer.status_code == 400
        assert "Idempotency-Key must be 8 to 128" in answer.json()["error"]["message"]
    assert _steps(worker_a, run_id) == []
    assert _rows(store) == []


def test_retry_while_the_first_attempt_runs_is_409_after_the_wait(store: Store) -> None:
    with _client(_app(store, wait_s=0.05)) as client:
        run_id = _new_run(client)
        path = f"/api/v1/runs/{run_id}/metrics"
        with store.write() as connection:  # another worker holds the key, and is alive
            _insert_claim(connection, _scope_id(("anonymous", "POST", path)), KEY, _now_ms())
        answer = client.post(
            f"/runs/{run_id}/metrics", json=BATCH, headers={"Idempotency-Key": KEY}
        )
        assert answer.status_code == 409
        error = answer.json()["error"]
        assert (error["code"], error["details"]["key"]) == ("AlreadyExists", KEY)
        assert "still running" in error["message"]
        assert _steps(client, run_id) == []


# --------------------------------------------------------------------------------------------
# The claim protocol, on the cache itself
# --------------------------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_a_stale_claim_is_taken_over_by_exactly_one_of_two_racing_retries(store: Store) -> None:
    with store.write() as connection:  # left by an attempt whose process died 200 s ago
        _insert_claim(connection, _scope_id(SCOPE), KEY, _now_ms() - 200_000)
    cache = IdempotencyCache(store, lease_s=120, wait_s=30)
    calls: list[int] = []
    start = threading.Barrier(2)
    answers: list[object] = []
    errors: list[BaseException] = []

    def call() -> dict[str, int]:
        calls.append(1)
        return {"written": len(calls)}

    def retry() -> None:
        start.wait()
        try:
            answers.append(cache.run(SCOPE, KEY, call))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert calls == [1]
    assert answers == [{"written": 1}, {"written": 1}]
    assert _rows(store) == [(DONE, {"written": 1})]


def test_take_over_is_a_compare_and_set(store: Store) -> None:
    seen = _now_ms() - 200_000
    with store.write() as connection:
        _insert_claim(connection, _scope_id(SCOPE), KEY, seen)
    cache = IdempotencyCache(store)
    now = _now_ms()
    assert [cache._take_over(_scope_id(SCOPE), KEY, seen, now) for _ in range(2)] == [True, False]


def test_a_retry_waits_for_the_running_first_attempt_and_gets_its_answer(store: Store) -> None:
    cache = IdempotencyCache(store, wait_s=30)
    inside, release = threading.Event(), threading.Event()
    first: list[object] = []

    def slow() -> str:
        inside.set()
        release.wait(30)
        return "first"

    thread = threading.Thread(target=lambda: first.append(cache.run(SCOPE, KEY, slow)))
    thread.start()
    assert inside.wait(30)
    threading.Timer(0.05, release.set).start()
    assert cache.run(SCOPE, KEY, lambda: "second") == "first"
    thread.join()
    assert first == ["first"]


def test_a_failed_call_is_re_raised_and_forgotten(store: Store) -> None:
    cache = IdempotencyCache(store)

    def fails() -> None:
        raise InvalidInput("refused")

    with pytest.raises(InvalidInput, match="refused"):
        cache.run(SCOPE, KEY, fails)
    assert cache.run(SCOPE, KEY, lambda: [1, 2]) == [1, 2]
    assert cache.run(SCOPE, KEY, lambda: [3]) == [1, 2]


def test_fresh_running_claim_is_refused_after_the_wait(store: Store) -> None:
    with store.write() as connection:
        _insert_claim(connection, _scope_id(SCOPE), KEY, _now_ms())
    cache = IdempotencyCache(store, wait_s=0.02)
    with pytest.raises(AlreadyExists, match="retry later with the same key"):
        cache.run(SCOPE, KEY, lambda: "never")
    assert _rows(store) == [(RUNNING, None)]


def test_scopes_keep_keys_apart_and_no_key_always_runs(store: Store) -> None:
    cache = IdempotencyCache(store)
    assert cache.run(SCOPE, KEY, lambda: "alice") == "alice"
    assert cache.run(("bob", *SCOPE[1:]), KEY, lambda: "bob") == "bob"
    calls: list[int] = []
    for _ in range(2):
        cache.run(SCOPE, None, lambda: calls.append(1))
    assert calls == [1, 1]


def test_keys_older_than_the_retention_are_swept(store: Store) -> None:
    clock = [1_000_000.0]
    cache = IdempotencyCache(store, retention_s=3600, sweep_every=0, clock=lambda: clock[0])
    cache.run(SCOPE, "old-key-0001", lambda: "old")
    clock[0] += 1800
    cache.run(SCOPE, "new-key-0001", lambda: "new")
    clock[0] += 1801
    assert cache.sweep() == 1
    assert cache.run(SCOPE, "old-key-0001", lambda: "again") == "again"  # forgotten: runs
    assert cache.run(SCOPE, "new-key-0001", lambda: "again") == "new"
    with store.read() as connection:
        assert connection.execute(select(func.count()).select_from(request_keys)).scalar() == 2


def test_claims_sweep_in_passing(store: Store) -> None:
    clock = [1_000_000.0]
    cache = IdempotencyCache(store, retention_s=60, sweep_every=1, clock=lambda: clock[0])
    cache.run(SCOPE, "old-key-0001", lambda: "old")
    clock[0] += 61
    cache.run(SCOPE, "new-key-0001", lambda: "new")  # its claim swept the old key first
    assert _rows(store) == [(DONE, "new")]
