"""The SDK with MODELCYCLE_URI=http://…: same calls, buffered metrics, verified downloads."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from live_server import LiveServer

import modelcycle as mc
from modelcycle.client import HttpTrackingService
from modelcycle.config import config_context
from modelcycle.errors import IntegrityError, NotFound
from modelcycle.tracking._fluent import tracking_service


def test_log_metric_loop_is_buffered_into_few_requests(sqlite_server: LiveServer) -> None:
    with config_context(uri=sqlite_server.url, token=sqlite_server.admin_token):
        assert isinstance(tracking_service(), HttpTrackingService)
        assert tracking_service() is tracking_service()  # one client: connections are reused
        with mc.start_run(experiment="loop", params={"C": 1.0}) as run:
            for i in range(3000):
                run.log_metric("loss", 1 / (i + 1), step=i)
            run.log_metrics({"auc": 0.9, "nan": math.nan})
        history = mc.get_metric_history(run.id, "loss")
        stored = mc.get_run(run.id)
        frame = mc.search_runs(experiment="loop", filter="params.C = '1.0'")
    assert list(history["step"]) == list(range(3000))
    assert stored.status == "FINISHED" and stored.params == {"C": "1.0"}
    assert math.isnan(stored.metrics["nan"])
    assert list(frame["run_id"]) == [run.id]
    with sqlite_server.client() as admin:
        entries = admin.get("/audit", params={"limit": 1000}).json()["entries"]
    metric_posts = [e for e in entries if e["action"] == "POST /api/v1/runs/{run_id}/metrics"]
    ends = [e for e in entries if e["action"] == "POST /api/v1/runs/{run_id}/end"]
    # 3,001 log calls: at most a background flush or two, and the end carries the rest.
    assert len(metric_posts) <= 2 and len(ends) == 1


def test_artifacts_round_trip_and_a_changed_byte_is_caught(
    sqlite_server: LiveServer, artifact_root: Path, tmp_path: Path
) -> None:
    content = b"weights" * 50_000
    (tmp_path / "model.bin").write_bytes(content)
    with config_context(uri=sqlite_server.url, token=sqlite_server.admin_token):
        with mc.start_run(experiment="art") as run:
            info = run.log_artifact(tmp_path / "model.bin", "models")[0]
            run.log_text("hello", "notes/readme.txt")
        out = mc.download_artifacts(run.id, "models/model.bin", tmp_path / "copy.bin")
        assert out.read_bytes() == content
        stored = artifact_root / info.digest[:2] / info.digest[2:]
        damaged = bytearray(stored.read_bytes())
        damaged[1000] ^= 0x01
        stored.write_bytes(bytes(damaged))
        destination = tmp_path / "restored.bin"
        destination.write_bytes(b"previous content")
        with pytest.raises(IntegrityError, match=info.digest):
            mc.download_artifacts(run.id, "models/model.bin", destination)
        assert destination.read_bytes() == b"previous content"
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
        with pytest.raises(NotFound):
            mc.download_artifacts(run.id, "nothing", tmp_path / "x")


def test_unreachable_server_is_store_unavailable() -> None:
    from modelcycle.errors import StoreUnavailable

    client = HttpTrackingService("http://127.0.0.1:9", retries=1, backoff=0.01)
    with pytest.raises(StoreUnavailable, match="127.0.0.1:9"):
        client.list_experiments()
    client.close()
