"""A retried metric batch is stored once: the Idempotency-Key, end to end."""

from __future__ import annotations

import httpx
from live_server import LiveServer

from modelcycle.client import HttpTrackingService


class LosesFirstMetricsAnswer(httpx.HTTPTransport):
    """Delivers requests, but drops the answer to the first metric batch after the server
    committed it: what a client sees when a connection dies at the worst moment."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0
        self.metric_requests: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/metrics"):
            self.metric_requests.append(request.headers.get("idempotency-key"))
            if not self.dropped:
                self.dropped += 1
                response.read()
                response.close()
                raise httpx.ReadError("connection reset after the request", request=request)
        return response


def test_batch_retried_after_a_lost_answer_is_stored_once(sqlite_server: LiveServer) -> None:
    transport = LosesFirstMetricsAnswer()
    client = HttpTrackingService(
        sqlite_server.url, token=sqlite_server.admin_token, transport=transport, backoff=0.01
    )
    run_id = client.create_run(client.get_or_create_experiment("e").id).id
    client.log_metrics(run_id, [("loss", float(i), i, i) for i in range(1000)])
    client.close()
    # Sent twice, with one key: the server committed the first and answered the second from it.
    assert len(transport.metric_requests) == 2
    assert transport.metric_requests[0] == transport.metric_requests[1] is not None
    check = HttpTrackingService(sqlite_server.url, token=sqlite_server.admin_token)
    assert check.get_metric_history(run_id, "loss").steps == list(range(1000))
    check.close()


def test_same_key_is_answered_not_redone_and_new_keys_write(server: LiveServer) -> None:
    with server.client() as admin:
        experiment = admin.put("/experiments/by-name/e").json()["id"]
        run_id = admin.post("/runs", json={"experiment_id": experiment}).json()["id"]
        batch = {"keys": ["m", "m"], "values": [1.0, 2.0], "steps": [0, 1], "timestamps": [5, 6]}

        def post(key: str) -> int:
            url = f"/runs/{run_id}/metrics"
            return admin.post(url, json=batch, headers={"Idempotency-Key": key}).status_code

        assert [post("key-00000001"), post("key-00000001")] == [204, 204]
        steps = admin.get(f"/runs/{run_id}/metrics", params={"key": "m"}).json()["steps"]
        assert steps == [0, 1]
        assert post("key-00000002") == 204  # a new key is a new batch: written again
        steps = admin.get(f"/runs/{run_id}/metrics", params={"key": "m"}).json()["steps"]
        assert steps == [0, 0, 1, 1]
        refused = admin.post(
            f"/runs/{run_id}/metrics", json=batch, headers={"Idempotency-Key": "bad key!"}
        )
        assert refused.status_code == 400


def test_run_creation_retried_with_its_key_creates_one_run(sqlite_server: LiveServer) -> None:
    with sqlite_server.client() as admin:
        experiment = admin.put("/experiments/by-name/e").json()["id"]
        headers = {"Idempotency-Key": "create-run-0001"}
        first = admin.post("/runs", json={"experiment_id": experiment}, headers=headers)
        again = admin.post("/runs", json={"experiment_id": experiment}, headers=headers)
        assert first.json()["id"] == again.json()["id"]
        assert len(admin.get("/runs").json()["runs"]) == 1
