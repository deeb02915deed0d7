"""``RegistryService`` on SQLite and PostgreSQL: versions, aliases, stages, approvals, gates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_factories import saved_model
from sqlalchemy import func, select

from modelcycle.errors import (
    AlreadyExists,
    GateFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from modelcycle.registry.entities import ModelDatasetRef, ModelPolicy, RequestStatus, Stage
from modelcycle.registry.service import RegistryService
from modelcycle.store import Store
from modelcycle.store.tables.registry import transition_requests
from modelcycle.tracking.entities import RunInput
from modelcycle.tracking.service import TrackingService

pytest.importorskip("skops")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return saved_model(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture
def service(store: Store) -> Iterator[RegistryService]:
    yield RegistryService(store)


def _register(service: RegistryService, model_dir: Path, name: str = "churn", **kw: object) -> int:
    return service.register_model_version(name, model_dir, created_by="ana", **kw).version  # type: ignore[arg-type]


def _evaluated(service: RegistryService, version: int, auc: float, name: str = "churn") -> None:
    service.attach_evaluation(
        name, version, metrics={"roc_auc": auc}, result={"metrics": {"roc_auc": auc}}
    )


def test_register_stores_files_and_numbers_versions(
    service: RegistryService, model_dir: Path
) -> None:
    first = service.register_model_version(
        "churn", model_dir, description="first", tags={"team": "risk"}, created_by="ana"
    )
    second = service.register_model_version("churn", model_dir, created_by="bob")

    assert (first.version, second.version) == (1, 2)
    assert first.stage is Stage.NONE and first.description == "first"
    assert first.tags == {"team": "risk"} and first.created_by == "ana"
    assert first.flavor == "sklearn" and first.signature
    files = service.model_version_files("churn", 1)
    assert "model.json" in {f.path for f in files}
    on_disk = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}
    assert {f.path for f in files} == on_disk
    for item in files:
        assert service.store.objects.get_bytes(item.digest) == (model_dir / item.path).read_bytes()
    manifest = next(f for f in files if f.path == "model.json")
    assert first.manifest_digest == manifest.digest
    # gc keeps every object a version needs.
    assert {f.digest for f in files} <= service.store.referenced_digests()
    model = service.get_registered_model("churn")
    assert model.latest_version == 2 and model.created_by == "ana"


def test_concurrent_registrations_get_distinct_numbers(
    service: RegistryService, model_dir: Path
) -> None:
    numbers: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            numbers.append(_register(service, model_dir, "race"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]


def test_a_version_inherits_the_runs_inputs_and_commit(
    service: RegistryService, model_dir: Path, store: Store
) -> None:
    tracking = TrackingService(store)
    experiment = tracking.get_or_create_experiment("exp")
    run = tracking.create_run(experiment.id, environment={"git_commit": "abc123"})
    tracking.log_inputs(run.id, [RunInput(dataset="train", version="2", role="train")])

    version = service.register_model_version("churn", model_dir, run_id=run.id)
    explicit = service.register_model_version(
        "churn",
        model_dir,
        run_id=run.id,
        datasets=[ModelDatasetRef(dataset="other", version="7", role="eval")],
        code_commit="def456",
    )

    assert version.run_id == run.id and version.code_commit == "abc123"
    assert version.datasets == (ModelDatasetRef(dataset="train", version="2", role="train"),)
    assert explicit.code_commit == "def456" and explicit.datasets[0].dataset == "other"


def test_bad_registrations_are_refused_with_nothing_written(
    service: RegistryService, model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="invalid model name"):
        service.register_model_version("bad name", model_dir)
    with pytest.raises(NotFound, match="no model directory"):
        service.register_model_version("churn", tmp_path / "missing")
    with pytest.raises(NotFound, match="run 'f+' does not exist"):
        service.register_model_version("churn", model_dir, run_id="f" * 32)
    assert service.list_registered_models().models == []


def test_lookups_and_pages(service: RegistryService, model_dir: Path) -> None:
    for name in ("b-model", "a-model", "c-model"):
        _register(service, model_dir, name)
    _register(service, model_dir, "a-model")

    page = service.list_registered_models(limit=2)
    assert [m.name for m in page.models] == ["a-model", "b-model"]
    rest = service.list_registered_models(limit=2, page_token=page.next_page_token)
    assert [m.name for m in rest.models] == ["c-model"] and rest.next_page_token is None
    assert [v.version for v in service.list_model_versions("a-model").versions] == [2, 1]
    assert service.resolve("models:/a-model/latest").version == 2
    with pytest.raises(NotFound, match="has no version 9; its versions are 1 to 2"):
        service.get_model_version("a-model", 9)
    with pytest.raises(NotFound, match="registered model 'nope' does not exist"):
        service.resolve("models:/nope/1")
    with pytest.raises(NotFound, match="no version in stage 'production'"):
        service.resolve("models:/a-model/production")
    with pytest.raises(InvalidInput, match="Accepted forms"):
        service.resolve("models:/a-model")
    with pytest.raises(InvalidInput, match="version 0 must be a positive integer"):
        service.get_model_version("a-model", 0)


def test_alias_moves_are_recorded(service: RegistryService, model_dir: Path) -> None:
    for _ in range(2):
        _register(service, model_dir)

    service.set_alias("churn", "champion", 1, actor="ana")
    moved = service.set_alias("churn", "champion", 2, actor="bob")
    service.set_alias("churn", "champion", 2, actor="bob")  # no move, nothing recorded
    service.delete_alias("churn", "champion", actor="carol")

    assert moved.aliases == ("champion",)
    events = [e for e in service.list_events("churn") if e.kind.startswith("alias")]
    assert [(e.kind, e.actor, e.details) for e in events] == [
        ("alias_set", "ana", {"alias": "champion", "from": None, "to": 1}),
        ("alias_set", "bob", {"alias": "champion", "from": 1, "to": 2}),
        ("alias_deleted", "carol", {"alias": "champion", "from": 2}),
    ]
    assert [e.version for e in events] == [1, 2, 2]
    with pytest.raises(NotFound, match="has no alias 'champion'; its aliases are: \\(none\\)"):
        service.resolve("models:/churn@champion")
    with pytest.raises(InvalidInput, match="invalid alias"):
        service.set_alias("churn", "Champion", 1, actor="ana")
    with pytest.raises(NotFound, match="no alias 'gone'"):
        service.delete_alias("churn", "gone", actor="ana")


def test_approval_by_the_requester_is_refused(service: RegistryService, model_dir: Path) -> None:
    _register(service, model_dir)
    service.set_policy("churn", ModelPolicy(require_approval=True), actor="admin")

    request = service.request_transition("churn", 1, "production", actor="ana", comment="ready")

    assert request.status is RequestStatus.PENDING and request.requested_by == "ana"
    assert service.get_model_version("churn", 1).stage is Stage.NONE
    with pytest.raises(PermissionDenied, match="'ana' requested this transition"):
        service.approve(request.id, actor="ana")
    assert service.get_request(request.id).status is RequestStatus.PENDING
    approved = service.approve(request.id, actor="bob", comment="looks good")
    assert approved.status is RequestStatus.APPLIED and approved.decided_by == "bob"
    assert service.get_model_version("churn", 1).stage is Stage.PRODUCTION
    kinds = [(e.kind, e.actor) for e in service.list_events("churn", version=1)]
    assert kinds[-3:] == [
        ("transition_requested", "ana"),
        ("transition_approved", "bob"),
        ("stage_changed", "bob"),
    ]
    with pytest.raises(InvalidInput, match="is applied, not pending"):
        service.approve(request.id, actor="carol")


def test_a_promotion_failing_its_gate_is_refused_with_the_numbers(
    service: RegistryService, model_dir: Path, store: Store
) -> None:
    _register(service, model_dir)
    _evaluated(service, 1, 0.8)
    service.set_policy("churn", ModelPolicy(gates=("roc_auc >= 0.85",)), actor="admin")

    with pytest.raises(GateFailed) as caught:
        service.request_transition("churn", 1, "production", actor="ana")

    assert "roc_auc >= 0.85: roc_auc = 0.8 is not >= 0.85" in str(caught.value)
    [gate] = caught.value.details["gates"]
    assert (gate["metric"], gate["value"], gate["threshold"]) == ("roc_auc", 0.8, 0.85)
    assert service.get_model_version("churn", 1).stage is Stage.NONE
    with store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(transition_requests)) == 0
    assert service.list_events("churn", version=1)[-1].kind == "gate_failed"
    # Staging is not gated.
    assert service.request_transition("churn", 1, "staging", actor="ana").status == "applied"


def test_a_challenger_must_beat_the_champion(service: RegistryService, model_dir: Path) -> None:
    for _ in range(3):
        _register(service, model_dir)
    policy = ModelPolicy(require_approval=False, gates=("roc_auc >= 0.5", "roc_auc >= champion"))
    service.set_policy("churn", policy, actor="admin")
    _evaluated(service, 1, 0.9)
    _evaluated(service, 2, 0.85)
    _evaluated(service, 3, 0.95)

    first = service.request_transition("churn", 1, "production", actor="ana")
    assert first.status is RequestStatus.APPLIED  # no champion yet: the first has nothing to beat
    with pytest.raises(GateFailed, match="roc_auc = 0.85 is not >= the champion's 0.9"):
        service.request_transition("churn", 2, "production", actor="ana")
    service.request_transition("churn", 3, "production", actor="ana")

    stages = {v.version: v.stage for v in service.list_model_versions("churn").versions}
    assert stages == {1: Stage.ARCHIVED, 2: Stage.NONE, 3: Stage.PRODUCTION}
    assert service.get_registered_model("churn").production_version == 3


def test_gates_are_checked_again_at_approval(service: RegistryService, model_dir: Path) -> None:
    for _ in range(2):
        _register(service, model_dir)
    service.set_policy("churn", ModelPolicy(gates=("roc_auc >= champion",)), actor="admin")
    _evaluated(service, 1, 0.9)
    _evaluated(service, 2, 0.8)
    request = service.request_transition("churn", 2, "production", actor="ana")  # no champion
    service.set_alias("churn", "champion", 1, actor="ana")

    with pytest.raises(GateFailed, match="champion's 0.9"):
        service.approve(request.id, actor="bob")
    assert service.get_request(request.id).status is RequestStatus.PENDING
    rejected = service.reject(request.id, actor="bob", comment="worse than the champion")
    assert rejected.status is RequestStatus.REJECTED
    assert rejected.decision_comment == "worse than the champion"
    with pytest.raises(InvalidInput, match="is rejected, not pending"):
        service.approve(request.id, actor="carol")


def test_gates_fall_back_to_the_runs_metrics(
    service: RegistryService, model_dir: Path, store: Store
) -> None:
    tracking = TrackingService(store)
    run = tracking.create_run(tracking.get_or_create_experiment("exp").id)
    tracking.log_metrics(run.id, [("val_auc", 0.97, 0, 0)])
    service.register_model_version("churn", model_dir, run_id=run.id)
    service.set_policy(
        "churn", ModelPolicy(require_approval=False, gates=("val_auc >= 0.95",)), actor="a"
    )

    assert service.check_gates("churn", 1)[0]["value"] == 0.97
    assert service.request_transition("churn", 1, "production", actor="a").status == "applied"


def test_transition_rules(service: RegistryService, model_dir: Path) -> None:
    _register(service, model_dir)
    with pytest.raises(InvalidInput, match="unknown stage 'prod'; the stages are none, staging"):
        service.request_transition("churn", 1, "prod", actor="ana")
    with pytest.raises(InvalidInput, match="already in stage 'none'"):
        service.request_transition("churn", 1, "none", actor="ana")
    with pytest.raises(InvalidInput, match="invalid gate"):
        service.set_policy("churn", ModelPolicy(gates=("auc > good",)), actor="ana")
    with pytest.raises(InvalidInput, match="actor"):
        service.set_alias("churn", "x", 1, actor=" ")
    # Without a policy a move applies at once, production included.
    assert service.request_transition("churn", 1, "production", actor="a").status == "applied"
    service.set_policy("churn", ModelPolicy(), actor="admin")
    service.request_transition("churn", 1, "archived", actor="ana")
    service.request_transition("churn", 1, "production", actor="ana")
    with pytest.raises(AlreadyExists, match="already has a pending request"):
        service.request_transition("churn", 1, "production", actor="bob")
    with pytest.raises(NotFound, match="transition request 999 does not exist"):
        service.approve(999, actor="bob")
    pending = service.list_requests("churn", status="pending")
    assert [r.to_stage for r in pending] == [Stage.PRODUCTION]
    assert service.pending_request("churn", 1).id == pending[0].id


def test_evaluations_attach_to_a_version(service: RegistryService, model_dir: Path) -> None:
    _register(service, model_dir)
    attached = service.attach_evaluation(
        "churn",
        1,
        metrics={"accuracy": 0.9},
        result={"metrics": {"accuracy": 0.9}, "task": "classification"},
        dataset="test@1",
        actor="ana",
    )
    assert attached.version == 1 and attached.dataset == "test@1"
    assert service.list_evaluations("churn", 1) == [attached]
    assert service.list_events("churn", version=1)[-1].kind == "evaluation_attached"


@pytest.mark.parametrize(
    ("metrics", "result", "match"),
    [
        ({"auc": "high"}, {}, "metric 'auc' is 'high'"),
        ({"auc": float("nan")}, {}, "must be finite numbers"),
        ({"auc": True}, {}, "must be finite numbers"),
        ({"auc": 0.9}, {"auc": float("inf")}, "not plain JSON"),
        ({"auc": 0.9}, {"model": object()}, "not plain JSON"),
    ],
)
def test_an_evaluation_that_cannot_be_stored_is_invalid_input(
    service: RegistryService, model_dir: Path, metrics: dict, result: dict, match: str
) -> None:
    # Refused on both stores alike, before PostgreSQL's JSON column would fail mid-write.
    _register(service, model_dir)
    with pytest.raises(InvalidInput, match=match):
        service.attach_evaluation("churn", 1, metrics=metrics, result=result)
    with pytest.raises(InvalidInput, match="actor"):
        service.attach_evaluation("churn", 1, metrics={"auc": 0.9}, result={}, actor="x" * 65)
    assert service.list_evaluations("churn", 1) == []


def test_numpy_metrics_are_accepted(service: RegistryService, model_dir: Path) -> None:
    import numpy as np

    _register(service, model_dir)
    attached = service.attach_evaluation(
        "churn", 1, metrics={"auc": np.float32(0.5), "n": np.int64(3)}, result={}
    )
    assert attached.metrics == {"auc": 0.5, "n": 3.0}


def test_an_unknown_request_status_is_invalid_input(service: RegistryService) -> None:
    with pytest.raises(InvalidInput, match="unknown request status 'bogus'; the statuses are"):
        service.list_requests(status="bogus")


def test_over_long_provenance_is_refused_with_nothing_written(
    service: RegistryService, model_dir: Path
) -> None:
    # PostgreSQL would raise a driver error on these columns; SQLite would store them.
    with pytest.raises(InvalidInput, match="actor"):
        service.register_model_version("churn", model_dir, created_by="x" * 65)
    with pytest.raises(InvalidInput, match="code_commit"):
        service.register_model_version("churn", model_dir, code_commit="c" * 65)
    assert service.list_registered_models().models == []
