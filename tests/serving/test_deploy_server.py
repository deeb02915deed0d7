"""``modelcycle serve --deployment`` as real uvicorn processes under load on loopback: routing
changes and an alias move made with ``modelcycle deploy`` while requests flow, none failing;
traffic flushed by every worker adds up in ``deploy status``; every answer is in the
prediction log."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import modelcycle as mc
from modelcycle.cli.main import app
from modelcycle.config import reset_settings_cache
from tests.serving.conftest import Saved
from tests.serving.test_cli_serve import ROW, _serving

pytestmark = pytest.mark.slow


def _deploy(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, ["deploy", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


async def _load(url: str, stop: threading.Event, concurrency: int) -> tuple[int, list[str]]:
    sent = 0
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker(user: int) -> None:
            nonlocal sent
            i = 0
            while not stop.is_set():
                headers = {"X-User-Id": f"user-{user}-{i % 7}"}
                response = await client.post(
                    "/invocations", json={"dataframe_records": [ROW]}, headers=headers
                )
                sent += 1
                i += 1
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:200]}")

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return sent, errors


def _wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_routing_changes_under_load_lose_no_request(
    classifier: Saved, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MODELCYCLE_URI", str(home))
    reset_settings_cache()
    for _ in range(3):
        mc.registry.register_model(classifier.path, "churn")
    mc.registry.set_alias("churn", "champion", 1)
    _deploy("create", "churn-prod", "--model", "models:/churn@champion")
    env = {"MODELCYCLE_URI": str(home)}

    with _serving("--deployment", "churn-prod", "--poll-interval", "0.2", "--workers", "2",
                  env=env) as url:  # fmt: skip
        stop = threading.Event()
        outcome: list[tuple[int, list[str]]] = []
        loader = threading.Thread(
            target=lambda: outcome.append(asyncio.run(_load(url, stop, concurrency=16)))
        )
        loader.start()
        try:
            time.sleep(1.0)
            _deploy("split", "churn-prod", "--to", "models:/churn/2", "--percent", "50",
                    "--sticky-header", "X-User-Id")  # fmt: skip
            time.sleep(1.0)
            _deploy("shadow", "churn-prod", "models:/churn/3")
            time.sleep(1.0)
            _deploy("promote", "churn-prod")
            time.sleep(1.0)
            _deploy("rollback", "churn-prod")
            time.sleep(0.5)
            _deploy("rollback", "churn-prod")
            time.sleep(0.5)
            mc.registry.set_alias("churn", "champion", 3)
            time.sleep(1.5)
        finally:
            stop.set()
            loader.join()
    sent, errors = outcome[0]
    assert sent > 0 and errors == []

    # Each worker flushed its counters at shutdown: every request is in deploy status.
    status = _deploy("status", "churn-prod", "--window", "1h")
    served = [t for t in status["traffic"] if t["role"] != "shadow"]
    assert sum(t["requests"] for t in served) == sent
    assert status["replicas"] >= 1  # the kernel may hand every connection to one worker
    versions = {t["version"] for t in served}
    assert {1, 2, 3} <= versions  # primary, split, then the alias moved to 3
    assert sum(t["errors"] for t in status["traffic"]) == 0
    assert [h["action"] for h in status["history"]][:5] == [
        "rollback", "rollback", "promote", "shadow", "split"
    ]  # fmt: skip

    logged = mc.monitoring.predictions("churn-prod", with_labels=False)
    assert logged["request_id"].nunique() == sent
    shadows = mc.monitoring.predictions("churn-prod.shadow", with_labels=False)
    assert 0 < shadows["request_id"].nunique() < sent
    assert os.environ["MODELCYCLE_URI"] == str(home)
