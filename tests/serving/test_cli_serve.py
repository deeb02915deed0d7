"""``modelcycle serve``: refuses a tampered model, and serves a real uvicorn process under load."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from modelcycle.cli.main import app
from modelcycle.errors import IntegrityError
from tests.serving.conftest import Saved, prometheus_sample

ROW = {"age": 40.0, "income": 3.1, "tenure": 2.0}


def _copy(saved: Saved, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "model"
    shutil.copytree(saved.path, target)
    return target


def test_tampered_model_is_refused_naming_the_file(classifier: Saved, tmp_path: Path) -> None:
    model_dir = _copy(classifier, tmp_path)
    payload = model_dir / "model.skops"
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0x01
    payload.write_bytes(bytes(data))
    result = CliRunner().invoke(app, ["serve", str(model_dir), "--port", "1"])
    assert result.exit_code == IntegrityError.exit_code, result.output
    assert "model.skops" in result.output
    assert "Serving" not in result.output


def test_not_a_model_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "neither a model directory" in result.output
    bad_uri = CliRunner().invoke(app, ["serve", "models:/"])
    assert bad_uri.exit_code == 2


def test_an_alias_moved_after_resolving_does_not_split_the_served_version(
    classifier: Saved, regressor: Saved, tmp_path: Path
) -> None:
    """The alias is resolved once and the pinned version is what the parent and the workers
    load and the metrics are told, even when the alias moves in between."""
    import modelcycle as mc
    from modelcycle.cli.serve import _load, _resolve
    from modelcycle.config import config_context

    with config_context(uri=str(tmp_path / "home")):
        mc.registry.register_model(classifier.path, "churn")
        mc.registry.register_model(regressor.path, "churn")
        mc.registry.set_alias("churn", "champion", 2)
        target = _resolve("models:/churn@champion", name=None, trusted=False, max_body_mb=1.0)
        mc.registry.set_alias("churn", "champion", 1)
        model = _load(target.uri, target.trusted, target.runtime)
    assert (target.uri, target.version) == ("models:/churn/2", "2")
    assert (
        model.predict(regressor.rows).tolist() == regressor.model.predict(regressor.rows).tolist()
    )


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--trusted", "--max-body-mb", "--runtime"):
        assert option in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``modelcycle serve ARGS`` on a free loopback port; yields its base URL once ready."""
    with _serving_process(*args, env=env) as (url, _):
        yield url


@contextmanager
def _serving_process(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`_serving`, yielding the server's process too."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "modelcycle", "serve", *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"modelcycle serve exited {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("modelcycle serve did not become ready within 60 s")
            time.sleep(0.1)
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


async def _load(url: str, seconds: float, concurrency: int) -> tuple[int, list[str]]:
    """One-row requests in several formats from ``concurrency`` workers for ``seconds``."""
    bodies = [
        {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}},
        {"dataframe_records": [ROW]},
        {"instances": [list(ROW.values())]},
        {"inputs": {k: [v] for k, v in ROW.items()}},
    ]
    sent = 0
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        deadline = time.monotonic() + seconds

        async def worker(offset: int) -> None:
            nonlocal sent
            i = offset
            while time.monotonic() < deadline:
                response = await client.post("/invocations", json=bodies[i % len(bodies)])
                sent += 1
                i += 1
                if response.status_code != 200 or len(response.json()["predictions"]) != 1:
                    errors.append(f"{response.status_code}: {response.text[:200]}")

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return sent, errors


@pytest.mark.slow
def test_served_process_under_load_has_no_errors(classifier: Saved) -> None:
    """A bounded load test: 10 s at concurrency 32 against a real uvicorn process."""
    with _serving(str(classifier.path), "--name", "churn") as url:
        sent, errors = asyncio.run(_load(url, seconds=10, concurrency=32))
        metrics = httpx.get(f"{url}/metrics").text
        metadata = httpx.get(f"{url}/v2/models/churn").json()
    assert sent > 0 and errors == []
    served = prometheus_sample(
        metrics, "modelcycle_serving_requests_total", model="churn", status="200"
    )
    assert served == sent
    assert metadata["versions"] == ["unversioned"]
    # The server drained its prediction log on exit (into ./.modelcycle, the default store):
    # one row per request served, every request id once.
    import modelcycle as mc

    logged = mc.monitoring.predictions(deployment="churn")
    assert len(logged) == sent and logged["request_id"].nunique() == sent


@pytest.mark.slow
def test_serves_a_registry_uri_with_two_workers(classifier: Saved, tmp_path: Path) -> None:
    import modelcycle as mc
    from modelcycle.config import config_context

    home = tmp_path / "home"
    with config_context(uri=str(home)):
        mc.registry.register_model(classifier.path, "churn")
        mc.registry.register_model(classifier.path, "churn")
        mc.registry.set_alias("churn", "champion", 2)
    env = {"MODELCYCLE_URI": str(home)}
    with _serving("models:/churn@champion", "--workers", "2", env=env) as url:
        response = httpx.post(
            f"{url}/invocations", json={"dataframe_records": [ROW]}, headers={"X-Request-Id": "q1"}
        )
        metadata = httpx.get(f"{url}/v2/models/churn").json()
    assert response.status_code == 200 and response.headers["x-request-id"] == "q1"
    expected = classifier.model.predict([list(ROW.values())]).tolist()
    assert response.json()["predictions"] == expected
    assert metadata["versions"] == ["2"]


def test_serves_the_onnx_twin_without_loading_scikit_learn(tmp_path: Path) -> None:
    """``--runtime onnx`` answers like the model, and the process maps no scikit-learn, SciPy
    or pandas library (checked in /proc, so any import path counts)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from modelcycle.registry.model_format import load_model, save_model
    from tests.serving.conftest import _numeric_frame

    frame = _numeric_frame(300, 0)
    target = np.where(frame["income"] + 0.02 * frame["age"] > 3.8, "churn", "stay")
    model_dir = tmp_path / "churn"
    save_model(
        LogisticRegression().fit(frame, target), model_dir, input_example=frame.head(20), onnx=True
    )
    rows = _numeric_frame(40, 3)
    body = {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
    args = (str(model_dir), "--runtime", "onnx", "--no-log-predictions")
    with _serving_process(*args) as (url, process):
        answer = httpx.post(f"{url}/invocations", json=body)
        v2 = httpx.post(
            f"{url}/v2/models/churn/infer",
            json={"inputs": [{"name": "income", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
        )
        maps = Path(f"/proc/{process.pid}/maps").read_text()
    assert answer.status_code == 200
    assert answer.json()["predictions"] == load_model(model_dir).predict(rows).tolist()
    assert v2.status_code == 400 and "age" in v2.text  # still checked against the signature
    assert "onnxruntime" in maps
    for package in ("sklearn", "scipy", "pandas"):
        assert f"site-packages/{package}/" not in maps, package


def test_runtime_onnx_for_a_model_without_a_twin_is_refused(classifier: Saved) -> None:
    result = CliRunner().invoke(app, ["serve", str(classifier.path), "--runtime", "onnx"])
    assert result.exit_code == 2, result.output
    assert "has no ONNX twin" in result.output and "Serving" not in result.output
    unknown = CliRunner().invoke(app, ["serve", str(classifier.path), "--runtime", "tvm"])
    assert unknown.exit_code == 2 and "'tvm' is not one of" in unknown.output


def test_serve_uses_the_system_allocator_for_arrow_unless_told_otherwise(
    classifier: Saved, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set before pyarrow is imported, in the environment the --workers processes inherit."""
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **settings: started.append(app))
    # set, then deleted: the monkeypatch then restores the variable as it was, set or not
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "placeholder")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
    args = ["serve", str(classifier.path), "--no-log-predictions"]
    assert CliRunner().invoke(app, args).exit_code == 0 and started
    assert os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system"
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    assert CliRunner().invoke(app, args).exit_code == 0
    assert os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "jemalloc"
