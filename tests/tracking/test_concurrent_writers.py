"""Several processes logging to one store at once lose nothing and duplicate nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from modelcycle.config import StoreLocation
from modelcycle.store import open_store
from modelcycle.store.tables import metrics, params, runs

PROCESSES = 4
RUNS_PER_PROCESS = 3
POINTS_PER_RUN = 3_000

_WRITER = """
import sys
import modelcycle as mc

worker = int(sys.argv[1])
with mc.config_context(tracking={{"flush_interval": 0.01, "flush_size": 250}}):
    for r in range({runs}):
        with mc.start_run(experiment="concurrent", params={{"worker": worker, "r": r}}) as run:
            for step in range({points}):
                run.log_metric("loss", float(step), step=step)
                if step % 500 == 0:
                    run.log_metrics({{"w": float(worker)}})
"""


@pytest.mark.slow
def test_four_processes_every_row_accounted_for(
    store_location: StoreLocation, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "MODELCYCLE_URI": store_location.url,
        "MODELCYCLE_ARTIFACTS": store_location.artifact_root or "",
    }
    script = _WRITER.format(runs=RUNS_PER_PROCESS, points=POINTS_PER_RUN)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(worker)],
            env=env,
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(PROCESSES)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=240)
        assert worker.returncode == 0, stderr

    store = open_store(store_location)
    with store.read() as connection:
        statuses = connection.execute(
            select(runs.c.status, func.count()).group_by(runs.c.status)
        ).all()
        per_run = connection.execute(
            select(
                metrics.c.run_id,
                func.count(),
                func.count(func.distinct(metrics.c.step)),
                func.min(metrics.c.step),
                func.max(metrics.c.step),
            )
            .where(metrics.c.key == "loss")
            .group_by(metrics.c.run_id)
        ).all()
        workers_seen = (
            connection.execute(select(params.c.value).where(params.c.key == "worker").distinct())
            .scalars()
            .all()
        )
    store.close()
    total_runs = PROCESSES * RUNS_PER_PROCESS
    assert statuses == [("FINISHED", total_runs)]
    assert sorted(workers_seen) == [str(w) for w in range(PROCESSES)]
    assert len(per_run) == total_runs
    for _, count, distinct_steps, first, last in per_run:
        assert (count, distinct_steps, first, last) == (
            POINTS_PER_RUN,
            POINTS_PER_RUN,
            0,
            POINTS_PER_RUN - 1,
        )
