"""The demo's last stage: serve the promoted model over HTTP, send it traffic, read its metrics.

A real uvicorn server on a free loopback port, in a background thread of the demo's process, so
the demo shows exactly what `modelcycle serve` does without leaving a process behind.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

STARTUP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ServingProbe:
    """What the traffic against the served model showed."""

    uri: str
    url: str
    requests: int
    errors: int
    agreeing: int
    """Answers equal to the model's own prediction in this process."""
    p50_ms: float
    p99_ms: float
    metrics_requests: float
    """The request count the server's own /metrics reports for this model."""


def serve_and_probe(uri: str, name: str, rows: pd.DataFrame, requests: int) -> ServingProbe:
    """Serve ``uri`` on 127.0.0.1, send ``requests`` one-row MLflow-format requests drawn from
    ``rows`` (features only), and read back the server's Prometheus metrics.

    Raises:
        StoreUnavailable: the server did not start in time.
    """
    import httpx
    import numpy as np
    import uvicorn

    import modelcycle as mc
    from modelcycle.errors import StoreUnavailable
    from modelcycle.serving.app import create_app

    # Resolved once: the version served is the one loaded, even if the alias moves meanwhile.
    version = mc.registry.resolve(uri)
    model = mc.registry.load(version.uri)
    app = create_app(model, name=name, version=str(version.version))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="demo-serve", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_started(server)
        if not server.started:
            raise StoreUnavailable(f"the demo's model server at {url} did not start")
        expected = model.predict(rows)
        latencies, errors, agreeing = [], 0, 0
        with httpx.Client(base_url=url, timeout=10.0) as client:
            for index in range(requests):
                row = rows.iloc[[index % len(rows)]]
                body = {"dataframe_split": row.to_dict(orient="split", index=False)}
                start = time.perf_counter()
                answer = client.post("/invocations", json=body)
                latencies.append((time.perf_counter() - start) * 1000)
                if answer.status_code != 200:
                    errors += 1
                elif answer.json()["predictions"][0] == expected[index % len(rows)]:
                    agreeing += 1
            metrics_text = client.get("/metrics").text
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        listener.close()
    return ServingProbe(
        uri=uri,
        url=url,
        requests=requests,
        errors=errors,
        agreeing=agreeing,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)),
        metrics_requests=_requests_counted(metrics_text, name),
    )


def _wait_until_started(server: object) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not getattr(server, "started", False) and time.monotonic() < deadline:
        time.sleep(0.02)


def _requests_counted(metrics_text: str, name: str) -> float:
    """The requests the server counted for this model (every endpoint and status), read from its
    /metrics text as any Prometheus scraper would."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "modelcycle_serving_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("model") == name:
                total += sample.value
    return total
