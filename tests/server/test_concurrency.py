"""Eight client processes log through one server backed by PostgreSQL; no point lost or doubled."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from live_server import LiveServer
from sqlalchemy import func, select

from modelcycle.store.tables import metrics

PROCESSES = 8
POINTS = 2_000
TIME_LIMIT_S = 120

CLIENT = f"""
import modelcycle as mc
with mc.start_run(experiment="concurrent") as run:
    for i in range({POINTS}):
        run.log_metric("loss", i * 0.5, step=i)
        if i % 500 == 499:
            run.flush()  # a request mid-run too, not only the one that ends it
print(run.id)
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_each_point_stored_once(_live_postgres: LiveServer) -> None:
    server = _live_postgres
    server.reset()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCYCLE_")}
    env |= {"MODELCYCLE_URI": server.url, "MODELCYCLE_TOKEN": server.admin_token}
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(PROCESSES)
    ]
    run_ids = []
    for client in clients:
        out, err = client.communicate(timeout=TIME_LIMIT_S)
        assert client.returncode == 0, err.decode()
        run_ids.append(out.decode().strip())
    assert len(set(run_ids)) == PROCESSES
    with server.store.read() as connection:
        total = connection.execute(select(func.count()).select_from(metrics)).scalar_one()
        for run_id in run_ids:
            steps = connection.scalars(
                select(metrics.c.step).where(metrics.c.run_id == run_id).order_by(metrics.c.step)
            ).all()
            assert steps == list(range(POINTS)), run_id
    assert total == PROCESSES * POINTS
