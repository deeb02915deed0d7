"""The tracking contract on the embedded store, over SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelcycle.errors import IntegrityError
from modelcycle.store import Store
from modelcycle.testing.tracking import TrackingContract
from modelcycle.tracking.service import TrackingService


@pytest.fixture
def service(store: Store) -> TrackingService:
    return TrackingService(store)


class TestEmbeddedStore(TrackingContract):
    pass


def test_changed_byte_in_an_artifact_is_an_integrity_error(
    service: TrackingService, tmp_path: Path
) -> None:
    run_id = service.create_run(service.get_or_create_experiment("e").id).id
    (tmp_path / "model.bin").write_bytes(b"weights" * 1000)
    digest = service.log_artifact(run_id, tmp_path / "model.bin")[0].digest
    root = Path(service.store.location.artifact_root or "")
    stored = root / digest[:2] / digest[2:]
    data = bytearray(stored.read_bytes())
    data[100] ^= 0x01
    stored.write_bytes(bytes(data))
    destination = tmp_path / "restored.bin"
    destination.write_bytes(b"previous content")
    with pytest.raises(IntegrityError, match=digest):
        service.download_artifacts(run_id, "model.bin", destination)
    assert destination.read_bytes() == b"previous content"
