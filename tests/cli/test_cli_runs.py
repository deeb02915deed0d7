"""``modelcycle runs list|show|compare|delete``: output for people and for machines, and every
error path ending in ``headline: message`` on stderr with the error class's exit code."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from typer.testing import Result

import modelcycle as mc

Invoke = Callable[..., Result]
MakeRun = Callable[..., str]


def test_list_shows_runs_with_their_values(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run(name="first", params={"C": 0.5}, metrics={"auc": 0.91})
    make_run(name="second", params={"C": 1.0}, metrics={"auc": 0.87})

    result = invoke("runs", "list")

    assert result.exit_code == 0, result.stderr
    assert run_id[:8] in result.stdout
    for text in ("first", "second", "FINISHED", "auc", "0.91", "0.87", "C", "0.5"):
        assert text in result.stdout
    assert result.stderr == ""


def test_list_json_is_only_json_with_the_run_fields(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run(name="r", params={"C": 0.5}, metrics={"auc": 0.91}, tags={"team": "risk"})

    result = invoke("runs", "list", "--json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["next_page_token"] is None
    [run] = document["runs"]
    assert set(run) == {
        "id", "name", "experiment", "status", "start_time", "end_time", "parent_run_id",
        "params", "metrics", "tags",
    }  # fmt: skip
    assert run["id"] == run_id
    assert run["params"] == {"C": "0.5"}
    assert run["metrics"] == {"auc": 0.91}
    assert run["tags"] == {"team": "risk"}
    assert run["status"] == "FINISHED"
    shown = json.loads(invoke("runs", "show", run_id, "--json").stdout)
    assert run["start_time"] == shown["start_time"]  # one time format across commands
    assert run["start_time"].endswith("Z")


def test_list_filters_orders_and_picks_experiments(invoke: Invoke, make_run: MakeRun) -> None:
    low = make_run("a", metrics={"auc": 0.7})
    high = make_run("a", metrics={"auc": 0.9})
    make_run("a", metrics={"auc": 0.5})
    elsewhere = make_run("b", metrics={"auc": 0.99})

    result = invoke(
        "runs", "list", "-e", "a", "--filter", "metrics.auc > 0.6", "-o", "metrics.auc ASC",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in json.loads(result.stdout)["runs"]] == [low, high]

    both = json.loads(invoke("runs", "list", "-e", "a", "-e", "b", "--json").stdout)
    assert elsewhere in [r["id"] for r in both["runs"]]
    assert len(both["runs"]) == 4


def test_list_pages_with_the_token_it_prints(invoke: Invoke, make_run: MakeRun) -> None:
    made = {make_run(name=f"run-{i}") for i in range(3)}

    first = json.loads(invoke("runs", "list", "-n", "2", "--json").stdout)
    assert len(first["runs"]) == 2
    token = first["next_page_token"]
    assert token

    second = json.loads(invoke("runs", "list", "-n", "2", "--page-token", token, "--json").stdout)
    assert second["next_page_token"] is None
    assert {r["id"] for r in first["runs"] + second["runs"]} == made

    people = invoke("runs", "list", "-n", "2")
    assert "next page" in people.stdout
    assert f"modelcycle runs list -n 2 --page-token {token}" in people.stdout


def test_list_of_an_empty_store(invoke: Invoke) -> None:
    result = invoke("runs", "list")
    assert result.exit_code == 0, result.stderr
    assert "No runs found." in result.stdout
    assert json.loads(invoke("runs", "list", "--json").stdout) == {
        "runs": [],
        "next_page_token": None,
    }


def test_list_caps_its_columns_and_says_so(invoke: Invoke, make_run: MakeRun) -> None:
    make_run(metrics={f"m{i:02d}": float(i) for i in range(12)})

    result = invoke("runs", "list", "-o", "metrics.m11 DESC")

    assert result.exit_code == 0, result.stderr
    assert "m11" in result.stdout  # the key the user sorts by is shown first
    assert "metric columns hidden" in result.stdout


@pytest.mark.parametrize(
    ("args", "token"),
    [
        (["--filter", "metrics.auc >> 0.5"], "'>>'"),
        (["--filter", "metrics.auc > 0.5 AND"], "position"),
        (["--order-by", "metrics.auc SIDEWAYS"], "'SIDEWAYS'"),
    ],
)
def test_list_malformed_search_exits_2_naming_the_token(
    invoke: Invoke, make_run: MakeRun, args: list[str], token: str
) -> None:
    make_run()
    result = invoke("runs", "list", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Invalid input: ")
    assert token in result.stderr
    assert result.stdout == ""


def test_list_unknown_experiment_exits_3(invoke: Invoke, make_run: MakeRun) -> None:
    make_run("exists")
    result = invoke("runs", "list", "-e", "missing", "--json")
    assert result.exit_code == 3
    assert result.stderr.startswith("Not found: experiment 'missing' does not exist")
    assert result.stdout == ""


def test_list_bad_page_token_exits_2(invoke: Invoke, make_run: MakeRun) -> None:
    make_run()
    result = invoke("runs", "list", "--page-token", "not-a-token")
    assert result.exit_code == 2
    assert "page_token" in result.stderr


def test_list_limit_below_one_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("runs", "list", "-n", "0")
    assert result.exit_code == 2
    assert "--limit" in result.stderr


def test_show_every_section(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run(
        name="shown", params={"C": 0.5}, metrics={"auc": 0.91}, tags={"team": "risk"},
        artifact=("model.bin", b"weights"),
    )  # fmt: skip

    result = invoke("runs", "show", run_id)

    assert result.exit_code == 0, result.stderr
    for text in (
        run_id, "shown", "exp", "FINISHED", "Params", "C", "0.5", "Metrics", "auc", "0.91",
        "Tags", "team", "risk", "Environment", "python_version", "host", "Artifacts",
        "model.bin", "7 B",
    ):  # fmt: skip
        assert text in result.stdout, text


def test_show_json(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run(params={"C": 0.5}, metrics={"auc": 0.91}, artifact=("a.txt", b"abc"))
    with mc.start_run(experiment="exp") as run:
        run.log_input("train-set@3", role="train")

    result = invoke("runs", "show", run_id, "--json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    for key in ("id", "name", "experiment", "status", "start_time", "end_time", "params",
                "metrics", "tags", "environment", "inputs", "artifacts"):  # fmt: skip
        assert key in document, key
    assert document["id"] == run_id
    assert document["metrics"] == {"auc": 0.91}
    [artifact] = document["artifacts"]
    assert artifact["path"] == "a.txt"
    assert artifact["size"] == 3
    assert len(artifact["digest"]) == 64
    assert "python_version" in document["environment"]

    with_input = json.loads(invoke("runs", "show", run.id, "--json").stdout)
    assert with_input["inputs"] == [
        {"dataset": "train-set", "version": "3", "role": "train", "digest": None}
    ]


def test_show_accepts_a_unique_prefix(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run(name="by-prefix")
    result = invoke("runs", "show", run_id[:8], "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == run_id


def test_show_ambiguous_prefix_exits_2(
    invoke: Invoke, make_run: MakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter([uuid.UUID("abcd0000000000000000000000000001"),
                uuid.UUID("abcd0000000000000000000000000002")])  # fmt: skip
    monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
    make_run()
    make_run()
    monkeypatch.undo()

    result = invoke("runs", "show", "abcd")

    assert result.exit_code == 2
    assert "matches several runs" in result.stderr


@pytest.mark.parametrize("run_id", ["0123456789abcdef0123456789abcdef", "feed", "not-an-id"])
def test_show_unknown_run_exits_3(invoke: Invoke, make_run: MakeRun, run_id: str) -> None:
    make_run()
    result = invoke("runs", "show", run_id, "--json")
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Not found: run '{run_id}' does not exist")
    assert result.stdout == ""


def test_show_prints_user_text_literally(invoke: Invoke, make_run: MakeRun) -> None:
    """A tag or name that looks like rich markup is data, shown as typed."""
    run_id = make_run(name="[bold]name", tags={"note": "[red]not red[/red]"})
    result = invoke("runs", "show", run_id)
    assert result.exit_code == 0, result.stderr
    assert "[red]not red[/red]" in result.stdout
    assert "[bold]name" in result.stdout


def test_compare_side_by_side(invoke: Invoke, make_run: MakeRun) -> None:
    first = make_run(name="one", params={"C": 0.5, "seed": 1}, metrics={"auc": 0.9, "loss": 0.3})
    second = make_run(name="two", params={"C": 1.0, "seed": 1}, metrics={"auc": 0.8, "loss": 0.2})

    result = invoke("runs", "compare", first, second)

    assert result.exit_code == 0, result.stderr
    for text in ("one", "two", "params.C", "params.seed", "metrics.auc", "metrics.loss", "★"):
        assert text in result.stdout, text
    assert "3 of 4 params and metrics differ" in result.stdout


def test_compare_json_marks_differences_and_best(invoke: Invoke, make_run: MakeRun) -> None:
    first = make_run(params={"C": 0.5, "seed": 1}, metrics={"auc": 0.9, "loss": 0.3, "f1": 0.5})
    second = make_run(params={"C": 1.0, "seed": 1}, metrics={"auc": 0.8, "loss": 0.2, "f1": 0.5})
    third = make_run(params={"C": 2.0}, metrics={"auc": 0.9})

    result = invoke("runs", "compare", first, second[:8], third, "--json", "--minimize", "f1")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [r["id"] for r in document["runs"]] == [first, second, third]
    params = {row["key"]: row for row in document["params"]}
    assert params["C"]["differs"] is True
    assert params["seed"]["differs"] is True  # the third run lacks it
    assert params["seed"]["values"] == {first: "1", second: "1"}
    metrics = {row["key"]: row for row in document["metrics"]}
    assert metrics["auc"] == {
        "key": "auc", "values": {first: 0.9, second: 0.8, third: 0.9}, "differs": True,
        "goal": "max", "best": [first, third],
    }  # fmt: skip
    assert metrics["loss"]["goal"] == "min"
    assert metrics["loss"]["best"] == [second]
    assert metrics["f1"]["goal"] == "min"
    assert metrics["f1"]["best"] == []  # equal values: no contest


def test_compare_needs_two_distinct_runs(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run()
    one = invoke("runs", "compare", run_id)
    assert one.exit_code == 2
    assert "at least two" in one.stderr
    twice = invoke("runs", "compare", run_id, run_id[:8])
    assert twice.exit_code == 2
    assert "named twice" in twice.stderr


def test_compare_unknown_run_exits_3(invoke: Invoke, make_run: MakeRun) -> None:
    run_id = make_run()
    result = invoke("runs", "compare", run_id, "0123456789abcdef0123456789abcdef")
    assert result.exit_code == 3
    assert "Not found: run '0123456789abcdef0123456789abcdef'" in result.stderr


def test_delete_hides_the_run(invoke: Invoke, make_run: MakeRun) -> None:
    doomed = make_run(name="doomed")
    kept = make_run(name="kept")

    result = invoke("runs", "delete", doomed[:8])

    assert result.exit_code == 0, result.stderr
    assert f"Deleted run {doomed} (doomed)" in result.stdout
    listed = json.loads(invoke("runs", "list", "--json").stdout)
    assert [r["id"] for r in listed["runs"]] == [kept]
    shown = json.loads(invoke("runs", "show", doomed, "--json").stdout)
    assert shown["lifecycle_stage"] == "deleted"
    also = make_run(name="also")
    answer = json.loads(invoke("runs", "delete", also, "--json").stdout)
    assert answer == {
        "run_id": also, "name": "also", "experiment": "exp", "lifecycle_stage": "deleted"
    }  # fmt: skip


def test_delete_unknown_run_exits_3(invoke: Invoke, make_run: MakeRun) -> None:
    make_run()
    result = invoke("runs", "delete", "0123456789abcdef0123456789abcdef")
    assert result.exit_code == 3
    assert result.stderr.startswith("Not found: run")


@pytest.mark.parametrize(
    ("text", "column", "named"),
    [
        ("params.C = '1'", ("params", "C"), True),
        ("params.C2 = '1'", ("params", "C"), False),
        ("metrics.auc DESC", ("metrics", "auc"), True),
        ("metric.`val-loss` < 2", ("metrics", "val-loss"), True),
        ("metrics.auc_x > 1", ("metrics", "auc"), False),
        ("tags.auc = 'x'", ("metrics", "auc"), False),
    ],
)
def test_columns_named_in_the_search_come_first(
    text: str, column: tuple[str, str], named: bool
) -> None:
    from modelcycle.cli._runs_table import _names

    assert _names(text, *column) is named
