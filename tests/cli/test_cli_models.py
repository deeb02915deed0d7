"""``modelcycle models …``: every command with --json, for people, and its exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

import modelcycle as mc
from modelcycle.config import reset_settings_cache

Invoke = Callable[..., Result]

pytest.importorskip("skops")


def _register(name: str = "churn", c: float = 1.0, *, onnx: bool = False) -> int:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    y = [0, 0, 0, 1, 1, 1]
    model = LogisticRegression(C=c).fit(x, y)
    with mc.start_run(experiment="cli") as run:
        run.log_metric("auc", 0.8)
        version = run.log_model(model, name, input_example=x.head(2), onnx=onnx)
    return version.version


def _as(user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELCYCLE_USER", user)
    reset_settings_cache()


def _json(result: Result) -> dict:  # type: ignore[type-arg]
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_list_show_and_versions(invoke: Invoke) -> None:
    assert "No registered models yet" in invoke("models", "list").stdout
    _register()
    _register()

    listed = _json(invoke("models", "list", "--json"))
    assert [(m["name"], m["latest_version"]) for m in listed["models"]] == [("churn", 2)]
    shown = _json(invoke("models", "show", "churn", "--json"))
    assert shown["model"]["name"] == "churn"
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    versions = _json(invoke("models", "versions", "churn", "--json"))["versions"]
    assert versions[0]["stage"] == "none" and versions[0]["flavor"] == "sklearn"
    people = invoke("models", "show", "churn")
    assert people.exit_code == 0 and "policy: none" in people.stdout
    assert "sklearn" in invoke("models", "versions", "churn").stdout
    assert "churn" in invoke("models", "list").stdout


def test_alias_set_move_and_delete(invoke: Invoke) -> None:
    _register()
    _register()

    assert _json(invoke("models", "alias", "churn", "champion", "1", "--json"))["version"] == 1
    assert "→ version 2" in invoke("models", "alias", "churn", "champion", "2").stdout
    assert _json(invoke("models", "alias", "churn", "champion", "--delete", "--json")) == {
        "name": "churn",
        "deleted": "champion",
    }
    moves = [e.details for e in mc.registry.history("churn") if e.kind == "alias_set"]
    assert [(m["from"], m["to"]) for m in moves] == [(None, 1), (1, 2)]
    assert invoke("models", "alias", "churn", "champion").exit_code == 2
    assert invoke("models", "alias", "churn", "Bad_Alias", "1").exit_code == 2
    assert invoke("models", "alias", "churn", "gone", "--delete").exit_code == 3


def test_promotion_through_policy_gate_and_approval(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register()
    policy = _json(invoke("models", "policy", "churn", "--gate", "auc >= 0.9", "--json"))["policy"]
    assert policy == {"require_approval": True, "gates": ["auc >= 0.9"], "archive_previous": True}
    _as("ana", monkeypatch)

    refused = invoke("models", "transition", "churn", "1", "production")
    assert refused.exit_code == 10
    assert "auc >= 0.9: auc = 0.8 is not >= 0.9" in refused.stderr

    invoke("models", "policy", "churn", "--gate", "auc >= 0.75")
    request = _json(
        invoke("models", "transition", "churn", "1", "production", "-m", "ready", "--json")
    )
    assert (request["status"], request["requested_by"]) == ("pending", "ana")
    own = invoke("models", "approve", "churn", "1")
    assert own.exit_code == 6 and "cannot also approve" in own.stderr
    _as("bob", monkeypatch)
    approved = _json(invoke("models", "approve", "churn", "1", "--json"))
    assert (approved["status"], approved["decided_by"]) == ("applied", "bob")
    assert mc.registry.get_model_version("churn", 1).stage.value == "production"
    assert invoke("models", "approve", "churn", "1").exit_code == 3  # nothing pending any more


def test_transition_for_people_and_reject(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    _register()
    assert "is now in staging" in invoke("models", "transition", "churn", "1", "staging").stdout
    invoke("models", "policy", "churn")
    _as("ana", monkeypatch)
    pending = invoke("models", "transition", "churn", "1", "production")
    assert "waits for another person" in pending.stdout
    rejected = _json(invoke("models", "reject", "churn", "1", "-m", "not yet", "--json"))
    assert rejected["status"] == "rejected" and rejected["decision_comment"] == "not yet"
    assert invoke("models", "transition", "churn", "1", "prod").exit_code == 2
    assert invoke("models", "transition", "nope", "1", "staging").exit_code == 3


def test_card_markdown_and_html(invoke: Invoke, tmp_path: Path) -> None:
    _register()
    markdown = invoke("models", "card", "churn", "1")
    assert markdown.exit_code == 0 and "## Approvals and transitions" in markdown.stdout
    out = tmp_path / "card.html"
    written = _json(invoke("models", "card", "churn", "1", "--html", str(out), "--json"))
    assert written["path"] == str(out) and "<h2>Lineage</h2>" in out.read_text()
    assert _json(invoke("models", "card", "churn", "1", "--json"))["markdown"].startswith("# ")
    assert invoke("models", "card", "churn", "7").exit_code == 3


def test_export_docker_and_k8s(invoke: Invoke, tmp_path: Path) -> None:
    _register()
    written = _json(
        invoke(
            "models",
            "export",
            "models:/churn/1",
            "--docker",
            str(tmp_path / "ctx"),
            "--k8s",
            str(tmp_path / "k8s"),
            "--image",
            "registry.local/churn:1",
            "--json",
        )  # fmt: skip
    )
    assert str(tmp_path / "ctx" / "Dockerfile") in written["docker"]
    assert written["k8s"] and all(Path(p).exists() for p in written["k8s"])
    assert any("registry.local/churn:1" in Path(p).read_text() for p in written["k8s"])
    assert invoke("models", "export", "models:/churn/1").exit_code == 2
    bad = invoke("models", "export", "churn", "--docker", str(tmp_path / "x"))
    assert bad.exit_code == 2 and "Accepted forms" in bad.stderr
    people = invoke("models", "export", "models:/churn/1", "--docker", str(tmp_path / "ctx2"))
    assert "docker build" in people.stdout
    lean = invoke(
        "models", "export", "models:/churn/1", "--docker", str(tmp_path / "x"), "--runtime", "onnx"
    )  # fmt: skip
    assert lean.exit_code == 2 and "has no ONNX twin" in lean.stderr
    assert not (tmp_path / "x").exists()


def test_export_of_the_onnx_twin(invoke: Invoke, tmp_path: Path) -> None:
    _register(onnx=True)
    result = invoke(
        "models", "export", "models:/churn/1", "--docker", str(tmp_path / "ctx"),
        "--runtime", "onnx",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pins = (tmp_path / "ctx" / "requirements.txt").read_text()
    assert "onnxruntime==" in pins and "scikit-learn" not in pins and "skops" not in pins
    assert '"--runtime", "onnx"' in (tmp_path / "ctx" / "Dockerfile").read_text()


class _Doubler:
    """A plain Python model: the pyfunc flavor stores it with cloudpickle."""

    def predict(self, frame):  # type: ignore[no-untyped-def]
        return frame["a"] * 2


def test_export_of_a_pyfunc_model_needs_trusted(invoke: Invoke, tmp_path: Path) -> None:
    import pandas as pd

    mc.registry.register_model(
        _Doubler(), "plain", flavor="pyfunc", input_example=pd.DataFrame({"a": [1.0]})
    )
    refused = invoke("models", "export", "models:/plain/1", "--docker", str(tmp_path / "no"))
    assert refused.exit_code == 6 and "trusted" in refused.stderr
    assert not (tmp_path / "no").exists()
    written = _json(
        invoke(
            "models",
            "export",
            "models:/plain/1",
            "--docker",
            str(tmp_path / "ctx"),
            "--trusted",
            "--json",
        )  # fmt: skip
    )
    assert str(tmp_path / "ctx" / "Dockerfile") in written["docker"]


def test_every_command_has_help(invoke: Invoke) -> None:
    for command in ("list", "show", "versions", "alias", "transition", "approve", "reject",
                    "card", "export", "policy"):  # fmt: skip
        result = invoke("models", command, "--help")
        assert result.exit_code == 0 and "--json" in result.stdout, command
