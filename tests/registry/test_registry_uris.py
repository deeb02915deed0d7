"""Model URIs, names and aliases: the accepted forms parse, anything else is refused with the
forms listed; metric gates parse and judge."""

from __future__ import annotations

import pytest

from modelcycle.errors import GateFailed, InvalidInput
from modelcycle.registry._gates import evaluate_gates, parse_gate, require_passed
from modelcycle.registry._uris import ModelUri, check_alias, parse_model_uri

RUN_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/churn/3", ModelUri("version", name="churn", version=3)),
        ("models:/churn@champion", ModelUri("alias", name="churn", alias="champion")),
        ("models:/churn/production", ModelUri("stage", name="churn", stage="production")),
        ("models:/churn/Staging", ModelUri("stage", name="churn", stage="staging")),
        ("models:/churn/latest", ModelUri("stage", name="churn", stage="latest")),
        ("models:/my.model_v-2/12", ModelUri("version", name="my.model_v-2", version=12)),
        (f"runs:/{RUN_ID}/model", ModelUri("run", run_id=RUN_ID, path="model")),
        (f"runs:/{RUN_ID}/a/b/", ModelUri("run", run_id=RUN_ID, path="a/b")),
    ],
)
def test_accepted_forms_parse(uri: str, expected: ModelUri) -> None:
    assert parse_model_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "churn/3",
        "models:churn/3",
        "models:/churn",
        "models:/churn/",
        "models:/churn/0",
        "models:/churn/3/extra",
        "models:/churn/none",
        "models:/churn/best",
        "models:/-churn/3",
        "models:/ch urn/3",
        "models:/churn@",
        "models:/churn@Champion",
        "models:/churn@3",
        "models:/churn@latest",
        "models:/@champion",
        "runs:/short/model",
        f"runs:/{RUN_ID}",
        f"runs:/{RUN_ID}/../x",
        "s3://bucket/model",
        "",
    ],
)
def test_malformed_uris_list_the_accepted_forms(uri: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model_uri(uri)
    message = str(caught.value)
    assert f"malformed model URI {uri!r}" in message
    assert "Accepted forms: models:/NAME/VERSION, models:/NAME@ALIAS" in message
    assert "runs:/RUN_ID/PATH" in message
    assert caught.value.details["uri"] == uri


def test_not_a_string_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="Accepted forms"):
        parse_model_uri(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("alias", ["champion", "challenger", "canary-2", "a", "x" * 63])
def test_dns_like_aliases_are_accepted(alias: str) -> None:
    assert check_alias(alias) == alias


@pytest.mark.parametrize("alias", ["", "Champion", "-a", "a-", "a_b", "42", "latest", "x" * 64])
def test_bad_aliases_say_why(alias: str) -> None:
    with pytest.raises(InvalidInput, match="lowercase letters"):
        check_alias(alias)


def test_gates_parse_numbers_and_the_champion() -> None:
    assert parse_gate(" auc >= 0.85 ").threshold == 0.85
    assert parse_gate("log_loss<=champion").threshold is None
    assert parse_gate("slice.gender.f.accuracy > 0.7").metric == "slice.gender.f.accuracy"


@pytest.mark.parametrize(
    "gate", ["auc", "auc >= ", "auc => 0.8", ">= 0.8", "auc >= high", "auc >= nan"]
)
def test_malformed_gates_are_refused(gate: str) -> None:
    with pytest.raises(InvalidInput, match="METRIC OP NUMBER"):
        parse_gate(gate)


def test_failed_gates_report_metric_value_threshold_and_champion() -> None:
    gates = ["auc >= 0.85", "auc >= champion", "f1 > 0.5", "recall >= 0.1"]
    outcomes = evaluate_gates(gates, {"auc": 0.8, "recall": 0.2}, {"auc": 0.9})
    assert [o.passed for o in outcomes] == [False, False, False, True]
    with pytest.raises(GateFailed) as caught:
        require_passed(outcomes, name="churn", version=4, known=["auc", "recall"])
    message = str(caught.value)
    assert "auc >= 0.85: auc = 0.8 is not >= 0.85" in message
    assert "auc = 0.8 is not >= the champion's 0.9" in message
    assert "version 4 has no metric 'f1' (it has: auc, recall)" in message
    assert caught.value.details["failed"] == ["auc >= 0.85", "auc >= champion", "f1 > 0.5"]
    champion_gate = caught.value.details["gates"][1]
    assert champion_gate["value"] == 0.8 and champion_gate["champion_value"] == 0.9


def test_a_champion_gate_passes_when_there_is_no_champion() -> None:
    [outcome] = evaluate_gates(["auc >= champion"], {"auc": 0.5}, None)
    assert outcome.passed and outcome.note == "no champion yet"
