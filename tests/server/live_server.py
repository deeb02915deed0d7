"""A real ``modelcycle server`` in a subprocess, on a free loopback port (test helper).

Started through the CLI, so what is tested is what a user runs: the store is migrated (SQLite)
or checked (PostgreSQL) on start and uvicorn serves the app factory. One process per backend per
test session; :meth:`LiveServer.reset` empties the store between tests and makes a fresh admin.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy import text

from modelcycle.auth import AuthService
from modelcycle.config import StoreLocation
from modelcycle.store import Store, open_store
from modelcycle.store.tables import metadata

START_TIMEOUT_S = 60.0
SERVER_ENV = {
    # Small limits, so the limit tests need no large bodies.
    "MODELCYCLE_SERVER_MAX_BODY_MB": "2",
    "MODELCYCLE_SERVER_MAX_BATCH": "20000",
    "MODELCYCLE_OBJECTS_FSYNC": "false",
}


def cheap_hasher() -> PasswordHasher:
    """argon2id at minimal cost: the server verifies with the parameters in the hash."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """A running server and a handle on the store behind it."""

    name: str
    url: str
    location: StoreLocation
    process: subprocess.Popen[bytes]
    log: Path
    store: Store = field(init=False)
    admin_token: str = ""

    def __post_init__(self) -> None:
        self.store = open_store(self.location)

    @property
    def auth(self) -> AuthService:
        return AuthService(self.store, hasher=cheap_hasher())

    def reset(self) -> None:
        """Empty every table and create a fresh admin (other tests may share the database)."""
        # DELETE rather than TRUNCATE: on tables this small it is ten times faster on PostgreSQL.
        with self.store.write() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(text(f'DELETE FROM "{table.name}"'))
        self.admin_token = self.make_user("admin", "admin")

    def make_user(self, name: str, role: str) -> str:
        """A new user's first token."""
        return self.auth.create_user(name, role)[1]

    def client(self, token: str | None = None) -> httpx.Client:
        """A raw HTTP client on the API, with ``token`` (the admin's by default)."""
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.store.close()


def start(name: str, location: StoreLocation, workdir: Path, uri: str) -> LiveServer:
    """Start ``modelcycle server`` on ``uri`` and wait until it answers ready.

    Raises:
        RuntimeError: it exited or did not become ready; the message holds its log.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCYCLE_")}
    env |= SERVER_ENV | {"MODELCYCLE_URI": uri}
    if location.artifact_root:
        env["MODELCYCLE_ARTIFACTS"] = location.artifact_root
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelcycle",
                "server",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server {name} exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/health/ready", timeout=2).status_code == 200:
                return LiveServer(name, url, location, process, log)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server {name} not ready in {START_TIMEOUT_S} s:\n{log.read_text()}")
