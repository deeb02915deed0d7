"""``HttpDataService.checkout`` over a scripted server: one request per thing it needs, and a
listing or a body the server got wrong leaves nothing behind."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from modelcycle._internal.hashing import hash_bytes
from modelcycle.client import HttpDataService
from modelcycle.errors import IntegrityError, InvalidInput

CONTENT = b"a,b\n1,2\n"
VERSION = {
    "name": "churn",
    "version": 2,
    "hash": "0" * 64,
    "created_at": "2026-01-01T00:00:00Z",
    "file_count": 1,
    "total_size": len(CONTENT),
}


def _service(path: str, body: bytes, asked: Counter[str]) -> HttpDataService:
    """A server holding ``churn@2`` with one file listed at ``path`` that answers ``body``."""
    files = {"files": [{"path": path, "digest": hash_bytes(CONTENT), "size": len(CONTENT)}]}

    def answer(request: httpx.Request) -> httpx.Response:
        asked[request.url.path] += 1
        base = "/api/v1/datasets/churn/versions/2"
        if request.url.path == base:
            return httpx.Response(200, json=VERSION)
        if request.url.path == f"{base}/files":
            return httpx.Response(200, json=files | {"next_page_token": None})
        headers = {"X-Content-Blake3": hash_bytes(CONTENT)}
        return httpx.Response(200, content=body, headers=headers)

    return HttpDataService("http://server", backoff=0.0, transport=httpx.MockTransport(answer))


def test_checkout_reads_the_version_once(tmp_path: Path) -> None:
    asked: Counter[str] = Counter()
    restored = _service("train.csv", CONTENT, asked).checkout("churn@2", tmp_path / "out")
    assert (restored / "train.csv").read_bytes() == CONTENT
    assert asked == Counter(
        {
            "/api/v1/datasets/churn/versions/2": 1,
            "/api/v1/datasets/churn/versions/2/files": 1,
            "/api/v1/datasets/churn/versions/2/files/train.csv": 1,
        }
    )


def test_a_listed_path_outside_the_dataset_writes_nothing(tmp_path: Path) -> None:
    service = _service("../escape.csv", CONTENT, Counter())
    with pytest.raises(InvalidInput, match="outside the dataset"):
        service.checkout("churn@2", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_bytes_that_are_not_the_digest_write_nothing(tmp_path: Path) -> None:
    service = _service("train.csv", b"tampered", Counter())
    with pytest.raises(IntegrityError, match="nothing was written"):
        service.checkout("churn@2", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
