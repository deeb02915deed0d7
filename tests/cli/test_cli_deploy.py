"""``modelcycle deploy …``: every command with --json and for people, and its exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import Result

import modelcycle as mc
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound

Invoke = Callable[..., Result]

pytest.importorskip("skops")


def _register(count: int) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(x, [0, 0, 0, 1, 1, 1])
    for _ in range(count):
        mc.registry.register_model(model, "churn", input_example=x.head(2))
    mc.registry.set_alias("churn", "champion", 1)


def _json(result: Result) -> dict:  # type: ignore[type-arg]
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_whole_lifecycle_with_json(invoke: Invoke) -> None:
    _register(3)
    created = _json(invoke("deploy", "create", "churn-prod", "--model", "models:/churn@champion",
                           "--json"))["deployment"]  # fmt: skip
    assert created["revision"] == 1 and created["routing"]["primary"] == "models:/churn@champion"
    split = _json(invoke("deploy", "split", "churn-prod", "--to", "models:/churn/2",
                         "--percent", "10%", "--sticky-header", "X-User-Id",
                         "--json"))  # fmt: skip
    assert split["deployment"]["routing"]["splits"] == [
        {"target": "models:/churn/2", "percent": 10.0}
    ]
    shadow = _json(invoke("deploy", "shadow", "churn-prod", "models:/churn/3", "--json"))
    assert shadow["deployment"]["routing"]["shadows"] == ["models:/churn/3"]
    promoted = _json(invoke("deploy", "promote", "churn-prod", "--json"))["deployment"]
    assert promoted["routing"]["primary"] == "models:/churn/2"
    back = _json(invoke("deploy", "rollback", "churn-prod", "--json"))["deployment"]
    assert back["revision"] == 5 and back["routing"]["primary"] == "models:/churn@champion"
    status = _json(invoke("deploy", "status", "churn-prod", "--window", "1m", "--json"))
    assert status["resolved"] == {
        "models:/churn@champion": 1, "models:/churn/2": 2, "models:/churn/3": 3
    }  # fmt: skip
    assert [(s["role"], s["version"], s["percent"]) for s in status["shares"]] == [
        ("primary", 1, 90.0), ("split", 2, 10.0), ("shadow", 3, 100.0),
    ]  # fmt: skip
    assert status["window_s"] == 60 and status["traffic"] == [] and status["canary"] is None
    assert [h["action"] for h in status["history"]] == [
        "rollback", "promote", "shadow", "split", "create"
    ]  # fmt: skip
    listed = _json(invoke("deploy", "list", "--json"))["deployments"]
    assert [d["name"] for d in listed] == ["churn-prod"]
    history = _json(invoke("deploy", "history", "churn-prod", "--limit", "2", "--json"))
    assert [r["revision"] for r in history["revisions"]] == [5, 4]


def test_canary_from_the_command_line(invoke: Invoke) -> None:
    _register(2)
    invoke("deploy", "create", "d", "--model", "models:/churn/1")
    started = _json(invoke("deploy", "canary", "d", "models:/churn/2", "--steps", "5,25,50,100",
                           "--interval", "5m", "--max-error-rate", "1%", "--max-p99-ms", "50",
                           "--json"))["deployment"]  # fmt: skip
    canary = started["routing"]["canary"]
    assert canary["steps"] == [5, 25, 50, 100] and canary["interval_s"] == 300
    assert canary["max_error_rate"] == 0.01 and canary["max_p99_ms"] == 50
    assert canary["min_requests"] == 100 and canary["step"] == 0
    status = _json(invoke("deploy", "status", "d", "--json"))
    assert status["canary"]["step"] == 1 and status["canary"]["percent"] == 5
    assert status["canary"]["traffic"]["requests"] == 0
    people = invoke("deploy", "status", "d")
    assert people.exit_code == 0 and "canary step 1/4 at 5%" in people.stdout
    rolled = _json(invoke("deploy", "rollback", "d", "--json"))["deployment"]
    assert rolled["routing"]["canary"] is None


def test_for_people(invoke: Invoke) -> None:
    assert "No deployments yet" in invoke("deploy", "list").stdout
    _register(2)
    created = invoke("deploy", "create", "d", "--model", "models:/churn@champion")
    assert created.exit_code == 0 and "Created deployment d (revision 1)" in created.stdout
    split = invoke("deploy", "split", "d", "--to", "models:/churn/2", "--percent", "25")
    assert "split:   models:/churn/2 (25%)" in split.stdout
    assert "primary: models:/churn@champion (75%)" in split.stdout
    assert "models:/churn@champion" in invoke("deploy", "list").stdout
    status = invoke("deploy", "status", "d")
    assert status.exit_code == 0 and "primary  models:/churn@champion → v1  75%" in status.stdout
    assert "split" in invoke("deploy", "history", "d").stdout


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("create", "Bad_Name", "--model", "models:/churn/1"), InvalidInput, "deployment name"),
        (("create", "d", "--model", "churn"), InvalidInput, "models:/"),
        (("create", "d", "--model", "models:/churn/9"), NotFound, "9"),
        (("create", "x", "--model", "models:/churn/1"), AlreadyExists, "exists"),
        (("split", "x", "--to", "models:/churn/2", "--percent", "150"), InvalidInput, "0 to 100"),
        (("split", "x", "--to", "models:/churn/2", "--percent", "ten"), InvalidInput, "percent"),
        (("canary", "x", "models:/churn/2", "--steps", "50,5"), InvalidInput, "increasing"),
        (("canary", "x", "models:/churn/2", "--interval", "5 minutes"), InvalidInput, "30s"),
        (("canary", "x", "models:/churn/2", "--max-error-rate", "2"), InvalidInput, "1%"),
        (("promote", "x"), InvalidInput, "nothing|no split or canary"),
        (("rollback", "x"), InvalidInput, "no earlier routing"),
        (("status", "nope"), NotFound, "no deployment 'nope'"),
        (("status", "x", "--window", "0s"), InvalidInput, "--window"),
        (("canary", "x", "models:/churn/2", "--min-requests", "0"), InvalidInput,
         "--min-requests"),
        (("canary", "x", "models:/churn/2", "--max-p99-ms", "-1"), InvalidInput, "--max-p99-ms"),
        (("canary", "x", "models:/churn/2", "--steps", "0,50"), InvalidInput, "above 0"),
        (("split", "x", "--to", "models:/churn/2", "--percent", "10", "--sticky-header",
          "X User"), InvalidInput, "sticky header"),
        (("split", "x", "--to", f"runs:/{'a' * 32}/model", "--percent", "10"), InvalidInput,
         "registered versions"),
        (("split", "x", "--to", "models:/churn/1", "--percent", "10"), InvalidInput, "primary"),
        (("shadow", "x", "models:/churn/1"), InvalidInput, "primary"),
        (("shadow", "x", "models:/churn/2", "--remove"), InvalidInput, "does not mirror"),
        (("shadow", "x", "models:/churn/7"), NotFound, "7"),
        (("rollback", "x", "--revision", "9"), NotFound, "no revision 9"),
        (("history", "nope"), NotFound, "no deployment 'nope'"),
    ],
)  # fmt: skip
def test_bad_input_exits_with_its_class_code(
    invoke: Invoke, args: tuple[str, ...], error: type, message: str
) -> None:
    _register(2)
    assert invoke("deploy", "create", "x", "--model", "models:/churn/1").exit_code == 0
    result = invoke("deploy", *args)
    assert result.exit_code == error.exit_code, result.output
    import re

    assert re.search(message, result.stderr), result.stderr


def test_help_names_every_command(invoke: Invoke) -> None:
    result = invoke("deploy", "--help")
    for command in ("create", "split", "shadow", "canary", "promote", "rollback", "status",
                    "list", "history"):  # fmt: skip
        assert command in result.stdout
    canary = invoke("deploy", "canary", "--help")
    for option in ("--steps", "--interval", "--max-error-rate", "--max-p99-ms", "--min-requests"):
        assert option in canary.stdout


def test_serve_wants_a_model_or_a_deployment(invoke: Invoke) -> None:
    neither = invoke("serve")
    assert neither.exit_code == InvalidInput.exit_code and "--deployment" in neither.stderr
    both = invoke("serve", "models:/churn/1", "--deployment", "d")
    assert both.exit_code == InvalidInput.exit_code
    missing = invoke("serve", "--deployment", "nope", "--port", "1")
    assert missing.exit_code == NotFound.exit_code and "no deployment 'nope'" in missing.stderr
