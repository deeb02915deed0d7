"""Fixtures for the command-line tests: a platform home in MODELCYCLE_URI, a CLI invoker and a
run factory writing through the SDK, as a user's training script would.

The settings are read once per process, so the home is put in the environment and the settings
cache reset before anything reads it; the SDK and the commands then agree on where runs live.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import modelcycle as mc
from modelcycle.cli.main import app
from modelcycle.config import reset_settings_cache

Invoke = Callable[..., Result]
"""``invoke("runs", "list", "--json")``: run the CLI in-process and return its result."""
MakeRun = Callable[..., str]
"""``make_run(experiment, name=, params=, metrics=, tags=, artifact=(file, bytes))`` → run id."""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty platform directory that both the SDK and the CLI use."""
    path = tmp_path / "home"
    monkeypatch.setenv("MODELCYCLE_URI", str(path))
    # Wide enough that tables keep their columns whole, so tests can find values in them.
    monkeypatch.setenv("COLUMNS", "250")
    reset_settings_cache()
    return path


@pytest.fixture
def invoke(home: Path) -> Invoke:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run


@pytest.fixture
def make_run(home: Path, tmp_path: Path) -> MakeRun:
    """Log a finished run through the SDK and return its id."""

    def make(
        experiment: str = "exp",
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        artifact: tuple[str, bytes] | None = None,
    ) -> str:
        with mc.start_run(experiment=experiment, name=name, params=params, tags=tags) as run:
            if metrics:
                run.log_metrics(metrics)
            if artifact is not None:
                file_name, data = artifact
                local = tmp_path / "artifacts" / run.id / file_name
                local.parent.mkdir(parents=True)
                local.write_bytes(data)
                run.log_artifact(local)
        return run.id

    return make
