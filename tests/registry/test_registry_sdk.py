"""The registry SDK end to end on an embedded store: log_model, load with verification,
evaluate, compare, model cards, export and the actor recorded on each decision."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from registry_factories import TARGET, classifier, features, frame, saved_model

import modelcycle as mc
from modelcycle.config import config_context
from modelcycle.errors import IntegrityError, NotFound, PermissionDenied

pytest.importorskip("skops")


def _objects(home: Path) -> Path:
    return home / "objects"


def test_log_model_registers_and_loads_back(mc_home: Path) -> None:
    model = classifier()
    with mc.start_run(experiment="churn") as run:
        run.log_input("train@1", role="train")
        version = run.log_model(model, "churn", input_example=features().head(5))

    assert (version.name, version.version, version.run_id) == ("churn", 1, run.id)
    assert version.datasets[0].ref == "train@1"
    assert {a.path for a in mc.list_artifacts(run.id)} >= {"churn/model.json"}
    expected = model.predict(features())
    for uri in ("models:/churn/1", "models:/churn/latest", f"runs:/{run.id}/churn"):
        loaded = mc.registry.load(uri)
        assert list(loaded.predict(features())) == list(expected), uri
    mc.registry.set_alias("churn", "champion", 1)
    assert list(mc.registry.load("models:/churn@champion").predict(features())) == list(expected)
    with pytest.raises(NotFound, match="no model at 'elsewhere'"):
        mc.registry.load(f"runs:/{run.id}/elsewhere")


def test_register_model_takes_a_directory_or_an_object(mc_home: Path, tmp_path: Path) -> None:
    directory = saved_model(tmp_path / "saved")
    from_dir = mc.registry.register_model(directory, "churn", datasets=["train@3"])
    from_object = mc.registry.register_model(
        classifier(), "churn", input_example=features().head(5), tags={"k": "v"}
    )
    assert (from_dir.version, from_object.version) == (1, 2)
    assert from_dir.datasets[0].ref == "train@3" and from_dir.run_id is None
    assert from_object.tags == {"k": "v"}
    assert [v.version for v in mc.registry.list_versions("churn")] == [2, 1]
    assert [m.name for m in mc.registry.list_models()] == ["churn"]


def test_a_changed_byte_in_the_object_store_loads_nothing(mc_home: Path) -> None:
    version = mc.registry.register_model(classifier(), "churn", input_example=features().head(5))
    files = mc.registry._fluent.registry_service().model_version_files("churn", 1)
    payload = max(files, key=lambda f: f.size)
    stored = _objects(mc_home) / payload.digest[:2] / payload.digest[2:]
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))

    with pytest.raises(IntegrityError):
        mc.registry.load(version.uri)
    cache = mc_home / "cache" / "models"
    assert not (cache / version.manifest_digest).exists()
    assert not cache.exists() or list(cache.iterdir()) == []  # no partial copy left behind


def test_a_tampered_cache_is_replaced_from_the_object_store(mc_home: Path) -> None:
    version = mc.registry.register_model(classifier(), "churn", input_example=features().head(5))
    mc.registry.load(version.uri)
    cached = mc_home / "cache" / "models" / version.manifest_digest
    payload = max((p for p in cached.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    payload.write_bytes(b"not the model")

    loaded = mc.registry.load(version.uri)

    assert list(loaded.predict(features())) == list(classifier().predict(features()))
    assert payload.read_bytes() != b"not the model"


def test_evaluate_logs_to_a_run_and_attaches_to_the_version(mc_home: Path) -> None:
    from modelcycle.registry.evaluation import evaluate_model

    version = mc.registry.register_model(classifier(), "churn", input_example=features().head(5))
    data = frame()

    result = mc.evaluate(version.uri, data, target=TARGET, feature_importance=False)

    expected = evaluate_model(
        mc.registry.load(version.uri), data, TARGET, feature_importance=False
    )
    assert result.metrics == expected.metrics
    [evaluation] = mc.registry._fluent.registry_service().list_evaluations("churn", 1)
    assert evaluation.metrics["roc_auc"] == pytest.approx(expected.metrics["roc_auc"])
    run = mc.get_run(evaluation.run_id)
    assert run.experiment == "evaluations"
    assert run.metrics["roc_auc"] == pytest.approx(expected.metrics["roc_auc"])
    assert run.tags["evaluated_model"] == version.uri
    # Inside an active run, the metrics go to that run.
    with mc.start_run(experiment="mine") as active:
        mc.evaluate(version.uri, data, target=TARGET, feature_importance=False)
    assert mc.get_run(active.id).metrics["accuracy"] == pytest.approx(expected.metrics["accuracy"])


def test_compare_champion_and_challenger(mc_home: Path) -> None:
    mc.registry.register_model(classifier(), "churn", input_example=features().head(5))
    mc.registry.register_model(classifier(0.001), "churn", input_example=features().head(5))

    table = mc.registry.compare(
        "models:/churn/1", "models:/churn/2", frame(), TARGET, feature_importance=False
    )

    assert len(table) > 0


def test_the_sdk_acts_as_the_configured_user(mc_home: Path) -> None:
    mc.registry.register_model(classifier(), "churn", input_example=features().head(5))
    mc.registry.set_policy("churn", require_approval=True)
    with config_context(user="ana"):
        request = mc.registry.request_transition("churn", 1, "production")
        with pytest.raises(PermissionDenied):
            mc.registry.approve("churn", 1)
    with config_context(user="bob"):
        approved = mc.registry.approve("churn", 1, comment="ok")
    assert (request.requested_by, approved.decided_by) == ("ana", "bob")
    assert mc.registry.get_model_version("churn", 1).stage.value == "production"
    assert [e.actor for e in mc.registry.history("churn", 1)][-2:] == ["bob", "bob"]


def test_the_model_card_has_every_section(mc_home: Path) -> None:
    with mc.start_run(experiment="churn", params={"C": 1.0}) as run:
        run.log_input("train@1", role="train")
        version = run.log_model(
            classifier(), "churn", input_example=features().head(5), description="<b>churn</b>"
        )
    mc.evaluate(version.uri, frame(), target=TARGET, slice_by="group", feature_importance=False)
    mc.registry.set_policy("churn", require_approval=True, gates=["roc_auc >= 0.5"])
    with config_context(user="ana"):
        mc.registry.request_transition("churn", 1, "production")
    with config_context(user="bob"):
        mc.registry.approve("churn", 1)

    markdown = mc.registry.card("churn", 1)
    html = mc.registry.card("churn", 1, format="html")

    from modelcycle.registry.model_card import SECTIONS

    for section in SECTIONS:
        assert f"## {section}" in markdown
        assert f"<h2>{section}</h2>" in html
    for text in ("train@1", run.id, "roc_auc", "transition_approved", "bob", "f0", "param C"):
        assert text in markdown, text
    assert "<b>churn</b>" not in html and "&lt;b&gt;churn&lt;/b&gt;" in html
    with pytest.raises(mc.errors.InvalidInput, match="unknown card format"):
        mc.registry.card("churn", 1, format="pdf")


def test_export_writes_a_docker_context_and_k8s_manifests(mc_home: Path, tmp_path: Path) -> None:
    import yaml

    mc.registry.register_model(classifier(), "Churn_Model", input_example=features().head(5))

    docker = mc.registry.export_docker("models:/Churn_Model/1", tmp_path / "docker")
    manifests = mc.registry.export_k8s("models:/Churn_Model/1", tmp_path / "k8s")

    assert (tmp_path / "docker" / "Dockerfile") in docker
    assert all(path.exists() for path in docker)
    documents = [doc for path in manifests for doc in yaml.safe_load_all(path.read_text())]
    kinds = {doc["kind"] for doc in documents if doc}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler"} <= kinds
    deployment = next(doc for doc in documents if doc and doc["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "churn-model"
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "churn-model:1"


def test_lineage_shows_the_model_below_its_run(mc_home: Path) -> None:
    with mc.start_run(experiment="churn") as run:
        run.log_input("train@1", role="train")
        run.log_model(classifier(), "churn", input_example=features().head(5))

    graph = mc.data.lineage(run.id)

    assert "models:/churn/1" in graph.downstream(run.id)
    node = next(n for n in graph.nodes if n.id == "models:/churn/1")
    assert (node.kind, node.version, node.status) == ("model_version", 1, "none")


def test_missing_things_are_not_found(mc_home: Path) -> None:
    with pytest.raises(NotFound, match="registered model 'nope' does not exist"):
        mc.registry.load("models:/nope/1")
    mc.registry.register_model(classifier(), "churn", input_example=features().head(5))
    with pytest.raises(NotFound, match="no pending transition request"):
        mc.registry.approve("churn", 1)
    shutil.rmtree(_objects(mc_home))
    with pytest.raises(NotFound):
        mc.registry.load("models:/churn/1")


def test_register_model_refuses_what_is_not_a_model(mc_home: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no model directory at"):
        mc.registry.register_model(str(tmp_path / "missing"), "churn")
    (tmp_path / "empty").mkdir()
    with pytest.raises(mc.errors.InvalidInput, match="has no model.json"):
        mc.registry.register_model(tmp_path / "empty", "churn")
    with pytest.raises(mc.errors.InvalidInput, match="datasets take"):
        mc.registry.register_model(classifier(), "churn", datasets=[3])
    assert mc.registry.list_models() == []


def test_list_versions_reads_only_the_newest_when_limited(mc_home: Path, tmp_path: Path) -> None:
    directory = saved_model(tmp_path / "saved")
    for _ in range(3):
        mc.registry.register_model(directory, "churn")

    assert [v.version for v in mc.registry.list_versions("churn", limit=2)] == [3, 2]
    assert [v.version for v in mc.registry.list_versions("churn", limit=9)] == [3, 2, 1]
    with pytest.raises(mc.errors.InvalidInput, match="limit must be a positive integer"):
        mc.registry.list_versions("churn", limit=0)
