"""schemathesis against the live server's own OpenAPI schema: no input makes it answer 5xx.

Bounded: a few examples per operation, a deadline per example and an overall time budget; on
loopback, with an admin token, so every operation is reached past authorization.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from live_server import LiveServer

EXAMPLES_PER_OPERATION = 10
BUDGET_S = 40.0


@pytest.mark.slow
def test_no_input_makes_the_server_fail(server: LiveServer) -> None:
    sqlite_server = server  # behind each backend: PostgreSQL is stricter about integers
    schema = schemathesis.openapi.from_url(f"{sqlite_server.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {sqlite_server.admin_token}"}
    # Something to act on: fuzzed ids mostly miss, these let some requests reach the services.
    with sqlite_server.client() as admin:
        experiment = admin.put("/experiments/by-name/fuzz").json()["id"]
        admin.post("/runs", json={"experiment_id": experiment, "name": "fuzz"})
    server_errors: list[str] = []
    operations = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if time.monotonic() - started > BUDGET_S:
            break

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=timedelta(seconds=10),
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            response = case.call(base_url=sqlite_server.url, headers=headers, timeout=10)
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} → {response.status_code}: "
                    f"{response.text[:300]}"
                )

        call()
    assert operations >= 20  # the schema lists every endpoint
    assert server_errors == []
    # The server is still healthy and the admin still works after the barrage.
    with sqlite_server.client() as admin:
        assert admin.get("/health/ready").status_code == 200
