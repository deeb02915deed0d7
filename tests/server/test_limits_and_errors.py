"""Bad requests get 4xx in the one error shape, and store nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer

from modelcycle._internal.hashing import hash_bytes
from modelcycle.client import HttpTrackingService
from modelcycle.errors import InvalidInput


@pytest.fixture
def run_id(sqlite_server: LiveServer) -> str:
    with sqlite_server.client() as admin:
        experiment = admin.put("/experiments/by-name/e").json()["id"]
        return str(admin.post("/runs", json={"experiment_id": experiment}).json()["id"])


@pytest.fixture
def admin(sqlite_server: LiveServer) -> Iterator[httpx.Client]:
    with sqlite_server.client() as client:
        yield client


def _error(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return dict(body["error"])


def test_oversized_body_is_413(admin: httpx.Client, run_id: str) -> None:
    body = {"tags": {f"k{i}": "v" * 7000 for i in range(500)}}  # 3.5 MiB; the limit is 2 MiB
    error = _error(admin.patch(f"/runs/{run_id}/tags", json=body), 413, "BodyTooLarge")
    assert "2 MiB" in error["message"]
    assert admin.get(f"/runs/{run_id}").json()["tags"] == {}


def test_oversized_chunked_body_is_413(admin: httpx.Client, run_id: str) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"keys": ["' + b"k" * (3 << 20) + b'"]}'

    answer = admin.post(
        f"/runs/{run_id}/metrics", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _error(answer, 413, "BodyTooLarge")


def test_client_sees_413_as_invalid_input(sqlite_server: LiveServer, run_id: str) -> None:
    client = HttpTrackingService(sqlite_server.url, token=sqlite_server.admin_token)
    with pytest.raises(InvalidInput, match="MiB"):
        client.set_tags(run_id, {f"k{i}": "v" * 7000 for i in range(400)})
    client.close()


def test_batch_over_max_batch_is_400(admin: httpx.Client, run_id: str) -> None:
    n = 20_001
    body = {"keys": ["k"] * n, "values": [0.5] * n, "steps": [0] * n, "timestamps": [1] * n}
    error = _error(admin.post(f"/runs/{run_id}/metrics", json=body), 400, "InvalidInput")
    assert error["details"] == {"count": n, "limit": 20_000}


def test_malformed_json_is_400_and_bad_schema_is_422(admin: httpx.Client, run_id: str) -> None:
    malformed = admin.post(
        f"/runs/{run_id}/metrics",
        content=b'{"keys": [',
        headers={"Content-Type": "application/json"},
    )
    assert "not valid JSON" in _error(malformed, 400, "InvalidInput")["message"]
    uneven = {"keys": ["a", "b"], "values": [1.0], "steps": [0], "timestamps": [0]}
    error = _error(admin.post(f"/runs/{run_id}/metrics", json=uneven), 422, "InvalidInput")
    assert "same length" in error["message"]
    wrong_type = admin.post("/experiments", json={"name": 3})
    assert _error(wrong_type, 422, "InvalidInput")["details"]["errors"][0]["loc"] == [
        "body",
        "name",
    ]
    assert admin.get("/runs", params={"limit": 0}).status_code == 422


def test_unknown_route_and_method_keep_the_shape(admin: httpx.Client) -> None:
    _error(admin.get("/nothing-here"), 404, "NotFound")
    _error(admin.delete("/experiments"), 405, "MethodNotAllowed")


@pytest.mark.parametrize(
    "raw_path",
    ["..%2F..%2Fetc%2Fpasswd", "%2E%2E/x.txt", "%2Fabs.txt", "a%5Cb.txt", "nul%00.txt"],
)
def test_path_traversal_is_refused(admin: httpx.Client, run_id: str, raw_path: str) -> None:
    url = f"{str(admin.base_url).rstrip('/')}/runs/{run_id}/artifacts/{raw_path}"
    upload = admin.put(
        httpx.URL(url), content=b"x", headers={"X-Content-Blake3": hash_bytes(b"x")}
    )
    _error(upload, 400, "InvalidInput")
    _error(admin.get(httpx.URL(url)), 400, "InvalidInput")
    assert admin.get(f"/runs/{run_id}/artifacts").json()["artifacts"] == []


def test_listing_with_a_climbing_prefix_is_refused(admin: httpx.Client, run_id: str) -> None:
    answer = admin.get(f"/runs/{run_id}/artifacts", params={"prefix": "../../etc"})
    _error(answer, 400, "InvalidInput")


def test_hash_mismatch_on_upload_stores_nothing(
    admin: httpx.Client, run_id: str, artifact_root: Path
) -> None:
    content = b"the real bytes" * 1000
    answer = admin.put(
        f"/runs/{run_id}/artifacts/model.bin",
        content=content,
        headers={"X-Content-Blake3": hash_bytes(b"other bytes")},
    )
    error = _error(answer, 400, "InvalidInput")
    assert error["details"]["actual"] == hash_bytes(content)
    assert admin.get(f"/runs/{run_id}/artifacts").json()["artifacts"] == []
    digest = hash_bytes(content)
    assert not (artifact_root / digest[:2] / digest[2:]).exists()
    missing = admin.put(f"/runs/{run_id}/artifacts/model.bin", content=content)
    _error(missing, 422, "InvalidInput")  # no digest header at all
    bad = admin.put(
        f"/runs/{run_id}/artifacts/model.bin", content=content, headers={"X-Content-Blake3": "zz"}
    )
    _error(bad, 400, "InvalidInput")


def test_upload_and_download_stream_with_digests(
    admin: httpx.Client, run_id: str, artifact_root: Path
) -> None:
    content = bytes(range(256)) * 20_000  # 5 MiB: more than the 2 MiB JSON limit, streamed
    digest = hash_bytes(content)
    answer = admin.put(
        f"/runs/{run_id}/artifacts/dir/model.bin",
        content=content,
        headers={"X-Content-Blake3": digest},
    )
    assert answer.status_code == 201
    assert answer.json() == {"path": "dir/model.bin", "digest": digest, "size": len(content)}
    download = admin.get(f"/runs/{run_id}/artifacts/dir/model.bin")
    assert download.headers["x-content-blake3"] == digest
    assert download.content == content
    _error(admin.get(f"/runs/{run_id}/artifacts/dir"), 404, "NotFound")


def test_nul_in_a_name_is_refused(admin: httpx.Client) -> None:
    base = str(admin.base_url).rstrip("/")
    _error(admin.get(httpx.URL(f"{base}/experiments/by-name/a%00b")), 400, "InvalidInput")
    _error(admin.post("/experiments", json={"name": "a\x00b"}), 422, "InvalidInput")


def test_upload_to_an_unknown_run_is_404(admin: httpx.Client) -> None:
    answer = admin.put(
        f"/runs/{'0' * 32}/artifacts/f.txt",
        content=b"x",
        headers={"X-Content-Blake3": hash_bytes(b"x")},
    )
    _error(answer, 404, "NotFound")
