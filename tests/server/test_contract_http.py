"""The whole tracking contract through a live server, behind SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_server import LiveServer

from modelcycle.client import HttpTrackingService
from modelcycle.testing.tracking import TrackingContract


@pytest.fixture
def service(server: LiveServer) -> Iterator[HttpTrackingService]:
    client = HttpTrackingService(server.url, token=server.admin_token)
    yield client
    client.close()


class TestHttpBackend(TrackingContract):
    pass
