"""Stage transitions under a model's policy, inside the caller's write transaction.

The rules, in one place:

- Any version may move to any other stage. Only a move to ``production`` is governed: its
  metric gates must pass, and with ``require_approval`` it waits as a ``pending`` request until
  someone other than the requester approves it (gates are checked again then: the champion may
  have changed meanwhile).
- Entering production archives the versions already there when ``archive_previous`` is set.
- Every request, approval, rejection and stage change is a ``registry_events`` row written in
  the same transaction as the change it records.

A model without a policy behaves as MLflow's registry does: moves apply at once, nothing is
archived by itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from modelcycle._internal.clock import now_ms
from modelcycle.errors import InvalidInput
from modelcycle.registry import _gates
from modelcycle.registry._reg_rows import version_metrics
from modelcycle.registry.entities import ModelPolicy, Stage
from modelcycle.store.tables.registry import (
    model_aliases,
    model_versions,
    registry_events,
)

NO_POLICY = ModelPolicy(require_approval=False, gates=(), archive_previous=False)
STAGES = tuple(stage.value for stage in Stage)


def check_stage(stage: Stage | str) -> Stage:
    """``stage`` as a :class:`Stage`; raises ``InvalidInput`` naming the stages otherwise."""
    try:
        return Stage(str(stage).lower())
    except ValueError:
        raise InvalidInput(
            f"unknown stage {stage!r}; the stages are {', '.join(STAGES)}",
            details={"stage": str(stage), "stages": list(STAGES)},
        ) from None


def policy_of(model: Row[Any]) -> ModelPolicy:
    return NO_POLICY if model.policy is None else ModelPolicy.model_validate(model.policy)


def gate_outcomes(
    connection: Connection, model: Row[Any], version: Row[Any], policy: ModelPolicy
) -> tuple[list[_gates.GateOutcome], list[str]]:
    """Each production gate's outcome for ``version``, and the metric names it has."""
    if not policy.gates:
        return [], []
    own = version_metrics(connection, version.id, version.run_id)["metrics"]
    champion = champion_row(connection, model.id, exclude=version.id)
    theirs = (
        None
        if champion is None
        else version_metrics(connection, champion.id, champion.run_id)["metrics"]
    )
    return _gates.evaluate_gates(policy.gates, own, theirs), sorted(own)


def champion_row(connection: Connection, model_id: int, *, exclude: int) -> Row[Any] | None:
    """The version a challenger must beat: aliased ``champion``, else the newest in production."""
    aliased = connection.execute(
        select(model_versions.c.id, model_versions.c.run_id, model_versions.c.version)
        .join(model_aliases, model_aliases.c.version_id == model_versions.c.id)
        .where(
            model_aliases.c.model_id == model_id,
            model_aliases.c.alias == _gates.CHAMPION,
            model_versions.c.id != exclude,
        )
    ).first()
    if aliased is not None:
        return aliased
    return connection.execute(
        select(model_versions.c.id, model_versions.c.run_id, model_versions.c.version)
        .where(
            model_versions.c.model_id == model_id,
            model_versions.c.stage == Stage.PRODUCTION.value,
            model_versions.c.id != exclude,
        )
        .order_by(model_versions.c.version.desc())
        .limit(1)
    ).first()


def apply(
    connection: Connection,
    model: Row[Any],
    version: Row[Any],
    to_stage: Stage,
    *,
    policy: ModelPolicy,
    actor: str,
    request_id: int | None,
) -> None:
    """Move ``version`` to ``to_stage``, archiving the previous production versions if the
    policy says so, and record each move."""
    now = now_ms()
    if to_stage is Stage.PRODUCTION and policy.archive_previous:
        previous = connection.execute(
            select(model_versions.c.id, model_versions.c.version).where(
                model_versions.c.model_id == model.id,
                model_versions.c.stage == Stage.PRODUCTION.value,
                model_versions.c.id != version.id,
            )
        ).all()
        for row in previous:
            _set_stage(connection, row.id, Stage.ARCHIVED, now)
            record(
                connection, model.id, row.id, "stage_changed", actor,
                {"from": Stage.PRODUCTION.value, "to": Stage.ARCHIVED.value,
                 "reason": f"version {version.version} entered production",
                 "request_id": request_id},
            )  # fmt: skip
    _set_stage(connection, version.id, to_stage, now)
    record(
        connection, model.id, version.id, "stage_changed", actor,
        {"from": version.stage, "to": to_stage.value, "request_id": request_id},
    )  # fmt: skip


def record(
    connection: Connection,
    model_id: int,
    version_id: int | None,
    kind: str,
    actor: str,
    details: dict[str, Any],
) -> None:
    """Append one event to the registry's history."""
    connection.execute(
        insert(registry_events).values(
            model_id=model_id,
            version_id=version_id,
            kind=kind,
            actor=actor,
            at=now_ms(),
            details=details,
        )
    )


def _set_stage(connection: Connection, version_id: int, stage: Stage, now: int) -> None:
    connection.execute(
        update(model_versions)
        .where(model_versions.c.id == version_id)
        .values(stage=stage.value, updated_at=now)
    )
