"""``modelcycle experiments rename|delete|restore`` and ``list --all``: output, --json, exit
codes of the error classes, and what ``runs list`` and ``gc`` then see."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]
MakeRun = Callable[..., str]


def _names(invoke: Invoke, *flags: str) -> dict[str, str]:
    result = invoke("experiments", "list", "--json", *flags)
    assert result.exit_code == 0, result.stderr
    return {e["name"]: e["lifecycle_stage"] for e in json.loads(result.stdout)["experiments"]}


def test_delete_hides_and_restore_brings_back(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run("scratch")
    make_run("churn")

    deleted = invoke("experiments", "delete", "scratch")
    assert deleted.exit_code == 0, deleted.stderr
    assert "Deleted experiment 'scratch'" in deleted.stdout
    assert "modelcycle experiments restore scratch" in deleted.stdout
    assert _names(invoke) == {"churn": "active"}
    assert _names(invoke, "--all") == {"churn": "active", "scratch": "deleted"}
    table = invoke("experiments", "list", "--all")
    assert "stage" in table.stdout and "deleted" in table.stdout
    assert "stage" not in invoke("experiments", "list").stdout
    runs = json.loads(invoke("runs", "list", "--json").stdout)["runs"]
    assert run_id not in {r["id"] for r in runs}
    again = invoke("experiments", "delete", "scratch")
    assert again.exit_code == 0 and "already deleted" in again.stdout

    restored = invoke("experiments", "restore", "scratch", "--json")
    assert restored.exit_code == 0, restored.stderr
    assert json.loads(restored.stdout)["lifecycle_stage"] == "active"
    assert _names(invoke) == {"churn": "active", "scratch": "active"}
    runs = json.loads(invoke("runs", "list", "-e", "scratch", "--json").stdout)["runs"]
    assert [r["id"] for r in runs] == [run_id]
    assert "already active" in invoke("experiments", "restore", "scratch").stdout


def test_rename(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run("churn")
    result = invoke("experiments", "rename", "churn", "churn-2024")
    assert result.exit_code == 0, result.stderr
    assert "'churn' (id 1) is now 'churn-2024'" in result.stdout
    shown = json.loads(invoke("runs", "show", run_id, "--json").stdout)
    assert shown["experiment"] == "churn-2024"
    as_json = invoke("experiments", "rename", "churn-2024", "churn", "--json")
    assert as_json.exit_code == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert (document["id"], document["name"]) == (1, "churn")


def test_delete_json(invoke: Invoke, make_run: MakeRun) -> None:
    make_run("scratch")
    result = invoke("experiments", "delete", "scratch", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"id", "name", "lifecycle_stage", "created_at", "tags"}
    assert document["lifecycle_stage"] == "deleted"


@pytest.mark.parametrize(
    ("args", "code", "headline", "words"),
    [
        (("delete", "nope"), 3, "Not found", "'nope'"),
        (("restore", "nope"), 3, "Not found", "'nope'"),
        (("rename", "nope", "x"), 3, "Not found", "--all"),
        (("rename", "churn", "fraud"), 4, "Already exists", "'fraud'"),
        (("rename", "churn", "  "), 2, "Invalid input", "experiment name"),
        (("rename", "churn", "x" * 251), 2, "Invalid input", "250"),
        (("delete", "Default"), 2, "Invalid input", "default experiment"),
    ],
)
def test_bad_paths_exit_with_the_error_class(
    invoke: Invoke,
    make_run: MakeRun,
    args: tuple[str, ...],
    code: int,
    headline: str,
    words: str,
) -> None:
    for experiment in ("churn", "fraud", "Default"):
        make_run(experiment)
    result = invoke("experiments", *args, "--json")
    assert result.exit_code == code, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"{headline}: ")
    assert words in result.stderr
    assert _names(invoke) == {"churn": "active", "fraud": "active", "Default": "active"}


def test_the_name_of_a_deleted_experiment_stays_taken(invoke: Invoke, make_run: MakeRun) -> None:
    make_run("scratch")
    make_run("churn")
    invoke("experiments", "delete", "scratch")
    taken = invoke("experiments", "rename", "churn", "scratch")
    assert taken.exit_code == 4
    assert "experiments restore scratch" in taken.stderr
    # Renaming the deleted one frees the name.
    assert invoke("experiments", "rename", "scratch", "scratch-old").exit_code == 0
    assert invoke("experiments", "rename", "churn", "scratch").exit_code == 0
    assert _names(invoke, "--all") == {"scratch": "active", "scratch-old": "deleted"}


def test_a_run_in_a_deleted_experiment_is_refused(invoke: Invoke, make_run: MakeRun) -> None:
    from modelcycle.errors import InvalidInput

    make_run("scratch")
    invoke("experiments", "delete", "scratch")
    with pytest.raises(InvalidInput, match="experiments restore scratch"):
        make_run("scratch")


def test_gc_purges_the_runs_of_deleted_experiments(invoke: Invoke, make_run: MakeRun) -> None:
    make_run("scratch", artifact=("model.bin", b"weights"))
    make_run("churn")
    invoke("experiments", "delete", "scratch")
    result = invoke("gc", "--min-age", "0", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["purged_runs"], report["removed"]) == (1, 1)
    # The experiment stays, deleted; restored, it is empty.
    assert _names(invoke, "--all") == {"churn": "active", "scratch": "deleted"}
    invoke("experiments", "restore", "scratch")
    assert json.loads(invoke("runs", "list", "-e", "scratch", "--json").stdout)["runs"] == []


def test_help_shows_examples(invoke: Invoke) -> None:
    for command, example in [
        ("list", "modelcycle experiments list --all --json"),
        ("rename", "modelcycle experiments rename churn churn-2024"),
        ("delete", "modelcycle experiments delete scratch"),
        ("restore", "modelcycle experiments restore scratch"),
    ]:
        result = invoke("experiments", command, "--help")
        assert result.exit_code == 0, result.stderr
        assert example in result.stdout
        assert "--json" in result.stdout
