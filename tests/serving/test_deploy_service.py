"""``DeploymentService`` on SQLite and PostgreSQL: routing changes, history, rollback,
compare-and-set under concurrency, traffic and status, and every refusal."""

from __future__ import annotations

import threading

import pytest

from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.serving._deploy_latency import TrafficCounter
from modelcycle.serving._deploy_traffic import TrafficRow
from modelcycle.store import Store
from tests.serving.conftest import Saved
from tests.serving.deploy_helpers import ACTOR, Clock, register_versions, service_for


@pytest.fixture
def versions(store: Store, classifier: Saved) -> Store:
    register_versions(store, classifier)
    return store


def test_create_split_shadow_promote_and_history(versions: Store) -> None:
    service = service_for(versions)
    created = service.create("churn-prod", "models:/churn@champion", actor=ACTOR)
    assert created.revision == 1 and created.routing.primary == "models:/churn@champion"
    split = service.split(
        "churn-prod", "models:/churn/2", 10, sticky_header="X-User-Id", actor=ACTOR
    )
    assert split.revision == 2
    assert [(s.target, s.percent) for s in split.routing.splits] == [("models:/churn/2", 10.0)]
    assert split.routing.sticky_header == "X-User-Id"
    assert split.routing.primary_percent() == 90.0
    shadowed = service.shadow("churn-prod", "models:/churn/3", actor=ACTOR)
    assert shadowed.routing.shadows == ("models:/churn/3",)
    promoted = service.promote("churn-prod", actor=ACTOR)
    assert promoted.revision == 4
    assert promoted.routing.primary == "models:/churn/2" and promoted.routing.splits == ()
    history = service.history("churn-prod")
    assert [h.action for h in history] == ["promote", "shadow", "split", "create"]
    assert [h.previous for h in history] == [3, 2, 1, None]
    assert history[-1].details == {"resolved": {"models:/churn@champion": 1}}
    assert [d.name for d in service.list_deployments()] == ["churn-prod"]
    assert service.resolve_targets(promoted.routing)["models:/churn/2"] == ("churn", 2)


def test_rollback_walks_back_and_stops_at_the_first(versions: Store) -> None:
    service = service_for(versions)
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.split("d", "models:/churn/2", 50, actor=ACTOR)
    service.shadow("d", "models:/churn/3", actor=ACTOR)
    back = service.rollback("d", actor=ACTOR)
    assert back.revision == 4
    assert back.routing.shadows == () and back.routing.splits[0].percent == 50
    again = service.rollback("d", actor=ACTOR)
    assert again.revision == 5 and again.routing.splits == ()
    with pytest.raises(InvalidInput, match="no earlier routing"):
        service.rollback("d", actor=ACTOR)
    to_three = service.rollback("d", revision=3, actor=ACTOR)
    assert to_three.routing.shadows == ("models:/churn/3",)
    with pytest.raises(NotFound, match="no revision 99"):
        service.rollback("d", revision=99, actor=ACTOR)


def test_refusals_name_the_problem(versions: Store) -> None:
    service = service_for(versions)
    with pytest.raises(InvalidInput, match="invalid deployment name"):
        service.create("Churn_Prod", "models:/churn/1", actor=ACTOR)
    with pytest.raises(InvalidInput, match="accepted forms|starts with neither"):
        service.create("d", "churn/1", actor=ACTOR)
    with pytest.raises(InvalidInput, match="registered versions"):
        service.create("d", "runs:/" + "a" * 32 + "/model", actor=ACTOR)
    with pytest.raises(NotFound, match="alias 'nope'"):
        service.create("d", "models:/churn@nope", actor=ACTOR)
    with pytest.raises(NotFound, match="no deployment 'd'"):
        service.get("d")
    service.create("d", "models:/churn/1", actor=ACTOR)
    with pytest.raises(AlreadyExists):
        service.create("d", "models:/churn/2", actor=ACTOR)
    with pytest.raises(InvalidInput, match="--percent must be a percentage"):
        service.split("d", "models:/churn/2", 101, actor=ACTOR)
    with pytest.raises(InvalidInput, match="is the primary"):
        service.split("d", "models:/churn/1", 10, actor=ACTOR)
    with pytest.raises(NotFound):
        service.split("d", "models:/churn/9", 10, actor=ACTOR)
    with pytest.raises(InvalidInput, match="sticky header"):
        service.split("d", "models:/churn/2", 10, sticky_header="X User", actor=ACTOR)
    service.split("d", "models:/churn/2", 60, actor=ACTOR)
    with pytest.raises(InvalidInput, match="would take 110.0%"):
        service.split("d", "models:/churn/3", 50, actor=ACTOR)
    with pytest.raises(InvalidInput, match="before a canary"):
        service.canary("d", "models:/churn/3", steps="5,50", interval_s=60, actor=ACTOR)
    service.split("d", "models:/churn/3", 10, actor=ACTOR)
    with pytest.raises(InvalidInput, match="say which with --to"):
        service.promote("d", actor=ACTOR)
    assert service.promote("d", target="models:/churn/3", actor=ACTOR).routing.primary == (
        "models:/churn/3"
    )
    with pytest.raises(InvalidInput, match="nothing|no split or canary"):
        service.promote("d", actor=ACTOR)
    with pytest.raises(InvalidInput, match="--steps"):
        service.canary("d", "models:/churn/1", steps="50,25", interval_s=60, actor=ACTOR)
    with pytest.raises(InvalidInput, match="--interval"):
        service.canary("d", "models:/churn/1", steps="5,50", interval_s=0, actor=ACTOR)
    with pytest.raises(InvalidInput, match="--max-error-rate"):
        service.canary(
            "d", "models:/churn/1", steps="5", interval_s=1, max_error_rate="5", actor=ACTOR
        )
    with pytest.raises(InvalidInput, match="shadow itself"):
        service.shadow("d", "models:/churn/3", actor=ACTOR)
    with pytest.raises(InvalidInput, match="does not mirror"):
        service.shadow("d", "models:/churn/1", remove=True, actor=ACTOR)
    assert service.history("d")[0].revision == 4  # no refusal wrote anything


def test_concurrent_changes_each_get_their_own_revision(versions: Store) -> None:
    """Compare-and-set: eight writers at once, every change kept, revisions 2..9 in order."""
    service = service_for(versions)
    service.create("d", "models:/churn/1", actor=ACTOR)
    errors: list[BaseException] = []

    def change(i: int) -> None:
        try:
            target = "models:/churn/2" if i % 2 else "models:/churn/3"
            service.split("d", target, i + 1, actor=f"user{i}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=change, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    history = service.history("d")
    assert [h.revision for h in history] == list(range(9, 0, -1))
    assert sorted(h.actor for h in history[:8]) == [f"user{i}" for i in range(8)]
    assert [h.previous for h in history[:8]] == list(range(8, 0, -1))


def test_expected_revision_refuses_a_stale_change(versions: Store) -> None:
    service = service_for(versions)
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.split("d", "models:/churn/2", 5, actor=ACTOR)
    with pytest.raises(AlreadyExists, match="revision 1 was expected, 2 is current"):
        service.apply("d", lambda r: r, action="x", actor=ACTOR, expected_revision=1)


def _row(revision: int, version: int, role: str, statuses: list[int], ms: float) -> TrafficRow:
    counter = TrafficCounter(revision=revision, model="churn", version=version, role=role)
    for status in statuses:
        counter.record(status, ms / 1000)
    drained = counter.drain()
    assert drained is not None and counter.drain() is None
    return TrafficRow(revision, "churn", version, role, drained)


def test_traffic_from_replicas_adds_up_in_status(versions: Store) -> None:
    clock = Clock()
    service = service_for(versions, clock)
    service.create("d", "models:/churn@champion", actor=ACTOR)
    service.split("d", "models:/churn/2", 20, actor=ACTOR)
    service.record_traffic("d", "replica-a", [_row(2, 1, "primary", [200] * 80, 4.0)])
    service.record_traffic("d", "replica-b", [_row(2, 2, "split", [200] * 18 + [500, 400], 40.0)])
    clock.advance(10)
    status = service.status("d", window_s=60)
    assert status.replicas == 2
    by_role = {t.role: t for t in status.traffic}
    assert by_role["primary"].requests == 80 and by_role["primary"].errors == 0
    split = by_role["split"]
    assert (split.requests, split.errors, split.client_errors) == (20, 1, 1)
    assert split.error_rate == pytest.approx(0.05)
    assert split.p99_ms is not None and 33 <= split.p99_ms <= 48
    assert [(s["role"], s["version"], s["percent"]) for s in status.shares] == [
        ("primary", 1, 80.0),
        ("split", 2, 20.0),
    ]
    step = service.step_traffic("d", 2, "churn", 2)
    assert (step.requests, step.errors) == (20, 1)
    clock.advance(120)
    assert service.status("d", window_s=60).traffic == []
    service.split("d", "models:/churn/2", 30, actor=ACTOR)
    assert service.prune_traffic("d", older_than_s=60) == 2


def test_status_survives_a_deleted_alias(versions: Store) -> None:
    from modelcycle.registry.service import RegistryService

    service = service_for(versions)
    service.create("d", "models:/churn@champion", actor=ACTOR)
    RegistryService(versions).delete_alias("churn", "champion", actor=ACTOR)
    status = service.status("d")
    assert status.resolved == {} and status.shares[0]["version"] is None


def test_a_shadow_served_for_real_stops_being_mirrored(versions: Store) -> None:
    service = service_for(versions)
    service.create("d", "models:/churn/1", actor=ACTOR)
    service.shadow("d", "models:/churn/2", actor=ACTOR)
    service.shadow("d", "models:/churn/3", actor=ACTOR)
    assert service.split("d", "models:/churn/2", 10, actor=ACTOR).routing.shadows == (
        "models:/churn/3",
    )
    service.split("d", "models:/churn/2", 0, actor=ACTOR)
    started = service.canary("d", "models:/churn/3", steps="10,100", interval_s=60, actor=ACTOR)
    assert started.routing.shadows == () and started.routing.canary is not None
