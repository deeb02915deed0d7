"""``modelcycle experiments list``."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

Invoke = Callable[..., Result]
MakeRun = Callable[..., str]


def test_list_experiments(invoke: Invoke, make_run: MakeRun) -> None:
    make_run("churn")
    make_run("fraud")

    result = invoke("experiments", "list")

    assert result.exit_code == 0, result.stderr
    assert "churn" in result.stdout
    assert "fraud" in result.stdout


def test_list_experiments_json(invoke: Invoke, make_run: MakeRun) -> None:
    make_run("churn")

    result = invoke("experiments", "list", "--json")

    assert result.exit_code == 0, result.stderr
    [experiment] = json.loads(result.stdout)["experiments"]
    assert set(experiment) == {"id", "name", "lifecycle_stage", "created_at", "tags"}
    assert experiment["name"] == "churn"


def test_list_no_experiments(invoke: Invoke) -> None:
    result = invoke("experiments", "list")
    assert result.exit_code == 0, result.stderr
    assert "No experiments yet" in result.stdout
    assert json.loads(invoke("experiments", "list", "--json").stdout) == {"experiments": []}
