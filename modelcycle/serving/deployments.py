"""``DeploymentService``: deployments' routing in the store, its history, and live traffic.

The map::

    create(name, "models:/churn@champion")      revision 1: every request to the primary
    split(name, "models:/churn/4", 10)           A/B: 10 % to v4 (sticky by a header if given)
    shadow(name, "models:/churn/5")              mirror every request to v5, answer discarded
    canary(name, "models:/churn/5", steps=…)     5 % → 25 % → … while its gates hold
    promote(name) · rollback(name)               the split/canary target becomes primary · undo
    status(name) ─► DeploymentStatus             routing, resolved versions, traffic per version
        ▲
        │ record_traffic(...) every few seconds       serving processes (serving/_deploy_sync.py)
        │ revision(name), resolve_targets(routing)    ~1 s polls: a change is swapped in at once

Every change is one write transaction that compare-and-sets ``deployments.revision`` and appends
the new routing to ``deployment_revisions``; a change that loses a race against another is
re-applied to the routing that won (user commands) or dropped (a canary step another replica
already took). Targets are checked against the registry before anything is written.

Methods that change something take an explicit ``actor``, as the registry's do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy import insert, select, update

from modelcycle._internal.clock import now_ms
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.registry.service import RegistryService
from modelcycle.serving import _deploy_rows as rows
from modelcycle.serving import _deploy_traffic as traffic
from modelcycle.serving._canary import canary_progress
from modelcycle.serving._deploy_entities import (
    CanaryProgress,
    Deployment,
    DeploymentRevision,
    DeploymentStatus,
    StepTraffic,
    VersionTraffic,
)
from modelcycle.serving._deploy_spec import (
    DEFAULT_MIN_REQUESTS,
    MAX_SHADOWS,
    Canary,
    Routing,
    Split,
    check_deployment_name,
    check_header,
    check_target,
    parse_percent,
    parse_positive,
    parse_rate,
    parse_steps,
)
from modelcycle.serving._deploy_traffic import TrafficRow
from modelcycle.store import Store
from modelcycle.store.tables.deployments import (
    deployment_revisions,
    deployments,
)

__all__ = [
    "CanaryProgress",
    "Deployment",
    "DeploymentRevision",
    "DeploymentService",
    "DeploymentStatus",
    "Routing",
    "StepTraffic",
    "TrafficRow",
    "VersionTraffic",
    "deployment_service",
]

_ATTEMPTS: Final = 32
MAX_LIST: Final = 1000
DEFAULT_WINDOW_S: Final = 300.0
HISTORY_SHOWN: Final = 10


class _Conflict(Exception):
    """The revision moved between reading and writing."""


class DeploymentService:
    """Deployments over a :class:`~modelcycle.store.Store`.

    Args:
        store: where routing, history and traffic live.
        clock: milliseconds since the epoch; tests pass a fake one to step through a canary.

    >>> service = DeploymentService(store)                                   # doctest: +SKIP
    >>> service.create("churn-prod", "models:/churn@champion", actor="ana")  # doctest: +SKIP
    >>> service.split("churn-prod", "models:/churn/4", 10, actor="ana").revision  # doctest: +SKIP
    2
    """

    def __init__(self, store: Store, *, clock: Callable[[], int] = now_ms) -> None:
        self._store = store
        self._clock = clock
        self._registry = RegistryService(store)

    @property
    def store(self) -> Store:
        return self._store

    def now_ms(self) -> int:
        return self._clock()

    # -- reading ---------------------------------------------------------------------------------

    def get(self, name: str) -> Deployment:
        """The deployment ``name`` and its routing now.

        Raises:
            NotFound: no such deployment (the message says how to create one).
        """
        with self._store.read() as connection:
            return rows.deployment_record(rows.deployment_row(connection, name))

    def list_deployments(self, *, limit: int = MAX_LIST) -> list[Deployment]:
        """Deployments by name, at most ``limit``."""
        if not 1 <= limit <= MAX_LIST:
            raise InvalidInput(f"limit must be from 1 to {MAX_LIST}, got {limit}")
        with self._store.read() as connection:
            found = connection.execute(
                select(deployments).order_by(deployments.c.name).limit(limit)
            ).all()
        return [rows.deployment_record(row) for row in found]

    def revision(self, name: str) -> int:
        """The current routing revision: the primary-key read serving processes poll."""
        with self._store.read() as connection:
            value = connection.scalar(
                select(deployments.c.revision).where(deployments.c.name == name)
            )
        if value is None:
            raise rows.not_found(name)
        return int(value)

    def history(self, name: str, *, limit: int = 50) -> list[DeploymentRevision]:
        """The newest ``limit`` revisions, newest first."""
        if not 1 <= limit <= MAX_LIST:
            raise InvalidInput(f"limit must be from 1 to {MAX_LIST}, got {limit}")
        with self._store.read() as connection:
            row = rows.deployment_row(connection, name)
            return _revisions(connection, row.id, limit)

    def resolve_targets(self, routing: Routing) -> dict[str, tuple[str, int]]:
        """Target URI → ``(model name, version)`` it names now: aliases and stages resolved.

        Raises:
            NotFound: a target's model, version, alias or stage no longer exists.
        """
        resolved: dict[str, tuple[str, int]] = {}
        for uri in routing.targets():
            version = self._registry.resolve(uri)
            resolved[uri] = (version.name, version.version)
        return resolved

    # -- changing the routing ---------------------------------------------------------------

    def create(self, name: str, model: str, *, actor: str) -> Deployment:
        """Create deployment ``name`` sending all its traffic to ``model`` (revision 1).

        Args:
            name: lowercase letters, digits and '-', e.g. ``churn-prod``.
            model: ``models:/NAME@ALIAS`` (followed when the alias moves), ``models:/NAME/N``
                or ``models:/NAME/STAGE``.

        Raises:
            InvalidInput: a malformed name or URI.
            NotFound: the model, version or alias does not exist.
            AlreadyExists: a deployment of that name exists.
        """
        check_deployment_name(name)
        who = rows.check_actor(actor)
        routing = Routing(primary=check_target(model))
        resolved = self.resolve_targets(routing)
        at = self._clock()
        with self._store.write() as connection:
            taken = connection.scalar(select(deployments.c.id).where(deployments.c.name == name))
            if taken is not None:
                raise AlreadyExists(
                    f"deployment {name!r} exists; change it with deploy split/canary/promote",
                    details={"name": name},
                )
            deployment_id = connection.execute(
                insert(deployments).values(
                    name=name, revision=1, routing=routing.to_json(), created_by=who,
                    created_at=at, updated_at=at,
                )
            ).inserted_primary_key[0]  # fmt: skip
            rows.append_revision(connection, deployment_id, 1, None, "create", routing, who, at,
                    {"resolved": rows.versions_of(resolved)})  # fmt: skip
            return rows.deployment_record(rows.deployment_row(connection, name))

    def split(
        self,
        name: str,
        target: str,
        percent: float,
        *,
        sticky_header: str | None = None,
        actor: str,
    ) -> Deployment:
        """Send ``percent`` of the traffic to ``target`` (A/B); 0 removes its split.

        Several splits may coexist; the primary answers what they leave. With
        ``sticky_header``, a stable hash of that header's value picks the target, so one user
        always meets the same version.

        Raises:
            InvalidInput: a bad percentage or header, a target that is the primary, splits
                over 100 %, or a canary in progress.
        """
        check_target(target)
        share = parse_percent(percent)
        header = None if sticky_header is None else check_header(sticky_header)

        def change(routing: Routing) -> Routing:
            if routing.canary is not None:
                raise InvalidInput(
                    f"deployment {name!r} has a canary of {routing.canary.target} in progress; "
                    "promote or roll it back before splitting",
                    details={"name": name},
                )
            if target == routing.primary:
                raise InvalidInput(
                    f"{target} is the primary of {name!r}; split to another version",
                    details={"target": target},
                )
            others = [s for s in routing.splits if s.target != target]
            splits = [*others, Split(target=target, percent=share)] if share > 0 else others
            total = round(sum(s.percent for s in splits), 2)
            if total > 100:
                raise InvalidInput(
                    f"splits of {name!r} would take {total}% of the traffic; at most 100%",
                    details={"total": total},
                )
            if share == 0 and len(others) == len(routing.splits):
                raise InvalidInput(
                    f"{name!r} has no split to {target} to remove", details={"target": target}
                )
            return routing.model_copy(
                update={
                    "splits": tuple(splits),
                    "sticky_header": header if header is not None else routing.sticky_header,
                    # Served for real now: mirroring it as well would score requests twice.
                    "shadows": tuple(s for s in routing.shadows if s != target or share == 0),
                }
            )

        return self._change(name, change, action="split", actor=actor,
                            details={"target": target, "percent": share})  # fmt: skip

    def shadow(self, name: str, target: str, *, remove: bool = False, actor: str) -> Deployment:
        """Mirror every request to ``target`` too (its answer is discarded, never awaited);
        ``remove`` stops mirroring.

        Raises:
            InvalidInput: the target is the primary, already mirrored (or not, for ``remove``),
                or there would be more than four shadows.
        """
        check_target(target)

        def change(routing: Routing) -> Routing:
            if remove:
                if target not in routing.shadows:
                    raise InvalidInput(f"{name!r} does not mirror to {target}")
                return routing.model_copy(
                    update={"shadows": tuple(s for s in routing.shadows if s != target)}
                )
            if target == routing.primary:
                raise InvalidInput(f"{target} is the primary of {name!r}; it cannot shadow itself")
            if target in routing.shadows:
                raise InvalidInput(f"{name!r} already mirrors to {target}")
            if len(routing.shadows) >= MAX_SHADOWS:
                raise InvalidInput(
                    f"{name!r} mirrors to {MAX_SHADOWS} targets already; remove one first"
                )
            return routing.model_copy(update={"shadows": (*routing.shadows, target)})

        return self._change(name, change, action="shadow", actor=actor,
                            details={"target": target, "removed": remove})  # fmt: skip

    def canary(
        self,
        name: str,
        target: str,
        *,
        steps: Sequence[float] | str,
        interval_s: float,
        max_error_rate: float | str | None = None,
        max_p99_ms: float | None = None,
        min_requests: int = DEFAULT_MIN_REQUESTS,
        actor: str,
    ) -> Deployment:
        """Roll ``target`` out in steps: ``steps[0]`` % of the traffic first, the next step
        once ``interval_s`` has passed with every gate holding on the step's own traffic
        (at least ``min_requests`` answered by the canary, server-error rate at most
        ``max_error_rate``, p99 latency at most ``max_p99_ms``), and promotion after the last
        step. A gate that fails rolls the canary back at once. Serving processes run this.

        Raises:
            InvalidInput: bad steps, interval or gates; a canary or split in progress; the
                target is the primary.
        """
        check_target(target)
        spec = {
            "target": target,
            "steps": parse_steps(steps if isinstance(steps, str) else list(steps)),
            "interval_s": parse_positive(interval_s, "--interval"),
            "max_error_rate": None if max_error_rate is None else parse_rate(max_error_rate),
            "max_p99_ms": None if max_p99_ms is None else parse_positive(max_p99_ms,
                                                                         "--max-p99-ms"),
            "min_requests": int(parse_positive(min_requests, "--min-requests")),
        }  # fmt: skip

        def change(routing: Routing) -> Routing:
            if routing.canary is not None:
                raise InvalidInput(
                    f"deployment {name!r} already has a canary of {routing.canary.target}; "
                    "promote or roll it back first"
                )
            if routing.splits:
                raise InvalidInput(
                    f"deployment {name!r} splits traffic to "
                    f"{', '.join(s.target for s in routing.splits)}; promote the split or "
                    "remove it (deploy split NAME --to URI --percent 0) before a canary"
                )
            if target == routing.primary:
                raise InvalidInput(f"{target} is already the primary of {name!r}")
            canary = Canary(step=0, step_started_at=self._clock(), **spec)
            shadows = tuple(s for s in routing.shadows if s != target)
            return routing.model_copy(update={"canary": canary, "shadows": shadows})

        details = {k: v for k, v in spec.items() if v is not None}
        return self._change(name, change, action="canary", actor=actor, details=details)

    def promote(self, name: str, *, target: str | None = None, actor: str) -> Deployment:
        """Make the canary's or the split's target the primary, sending it all the traffic.

        Args:
            target: which split to promote when there are several.

        Raises:
            InvalidInput: nothing to promote, or several splits and no ``target``.
        """

        def change(routing: Routing) -> Routing:
            candidates = [t for _, t, _ in routing.shares()]
            if not candidates:
                raise InvalidInput(
                    f"deployment {name!r} has no split or canary to promote; its primary is "
                    f"{routing.primary}"
                )
            if target is None and len(candidates) > 1:
                raise InvalidInput(
                    f"deployment {name!r} splits to {', '.join(candidates)}; say which with --to",
                    details={"candidates": candidates},
                )
            chosen = target or candidates[0]
            if chosen not in candidates:
                raise InvalidInput(
                    f"{chosen} is not a split or canary target of {name!r}: "
                    f"{', '.join(candidates)}"
                )
            return routing.model_copy(
                update={"primary": chosen, "splits": (), "canary": None,
                        "shadows": tuple(s for s in routing.shadows if s != chosen)}
            )  # fmt: skip

        return self._change(name, change, action="promote", actor=actor,
                            details={} if target is None else {"target": target})  # fmt: skip

    def rollback(self, name: str, *, revision: int | None = None, actor: str) -> Deployment:
        """Return to the routing in force before the current one (or ``revision``'s), as a new
        revision; rolling back again keeps walking back.

        Raises:
            InvalidInput: the deployment has no earlier routing.
            NotFound: no such revision.
        """
        check = rows.check_actor(actor)
        for _ in range(_ATTEMPTS):
            with self._store.read() as connection:
                row = rows.deployment_row(connection, name)
                current = rows.revision_row(connection, row.id, row.revision)
                wanted = current.previous if revision is None else revision
                if wanted is None:
                    raise InvalidInput(
                        f"deployment {name!r} has no earlier routing to roll back to "
                        f"(revision {row.revision} is its first)",
                        details={"name": name, "revision": row.revision},
                    )
                back = rows.revision_row(connection, row.id, wanted)
            routing = Routing.model_validate(back.routing)
            self._check_resolvable(routing, Routing.model_validate(row.routing))
            try:
                return self._write(
                    row.id, name, row.revision, routing, back.previous, "rollback", check,
                    {"to_revision": wanted, "from_revision": row.revision},
                )  # fmt: skip
            except _Conflict:
                continue
        raise rows.busy(name)

    def apply(
        self,
        name: str,
        change: Callable[[Routing], Routing],
        *,
        action: str,
        actor: str,
        details: dict[str, Any] | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Change the routing with ``change`` as one compare-and-set revision.

        With ``expected_revision``, refuse (``AlreadyExists``) when the deployment has moved
        past it — how the canary controllers of several replicas make sure one step is taken
        once; without it, a lost race re-applies ``change`` to the routing that won.
        """
        return self._change(
            name, change, action=action, actor=actor, details=details or {},
            expected_revision=expected_revision,
        )  # fmt: skip

    def _change(
        self,
        name: str,
        change: Callable[[Routing], Routing],
        *,
        action: str,
        actor: str,
        details: dict[str, Any],
        expected_revision: int | None = None,
    ) -> Deployment:
        who = rows.check_actor(actor)
        for _ in range(_ATTEMPTS):
            with self._store.read() as connection:
                row = rows.deployment_row(connection, name)
            if expected_revision is not None and row.revision != expected_revision:
                raise rows.moved(name, expected_revision, row.revision)
            before = Routing.model_validate(row.routing)
            after = change(before)
            self._check_resolvable(after, before)
            try:
                return self._write(
                    row.id, name, row.revision, after, row.revision, action, who, details
                )
            except _Conflict:
                if expected_revision is not None:
                    raise rows.moved(name, expected_revision, expected_revision + 1) from None
        raise rows.busy(name)

    def _write(
        self,
        deployment_id: int,
        name: str,
        revision: int,
        routing: Routing,
        previous: int | None,
        action: str,
        actor: str,
        details: dict[str, Any],
    ) -> Deployment:
        at = self._clock()
        with self._store.write() as connection:
            moved = connection.execute(
                update(deployments)
                .where(deployments.c.id == deployment_id, deployments.c.revision == revision)
                .values(revision=revision + 1, routing=routing.to_json(), updated_at=at)
            )
            if moved.rowcount != 1:
                raise _Conflict
            rows.append_revision(
                connection, deployment_id, revision + 1, previous, action, routing, actor, at,
                details,
            )  # fmt: skip
            return rows.deployment_record(rows.deployment_row(connection, name))

    def _check_resolvable(self, after: Routing, before: Routing) -> None:
        """Every target the new routing adds must exist in the registry now."""
        known = set(before.targets())
        for uri in after.targets():
            if uri not in known:
                self._registry.resolve(uri)

    # -- traffic --------------------------------------------------------------------------

    def record_traffic(self, name: str, replica: str, counters: Sequence[TrafficRow]) -> None:
        """Add one serving process's drained counters, in one transaction."""
        if counters:
            with self._store.write() as connection:
                deployment_id = rows.deployment_row(connection, name).id
                traffic.insert_rows(connection, deployment_id, replica, self._clock(), counters)

    def prune_traffic(self, name: str, *, older_than_s: float) -> int:
        """Delete traffic rows older than ``older_than_s``, except the current revision's (a
        canary step in progress keeps its evidence however long it lasts)."""
        cutoff = self._clock() - int(older_than_s * 1000)
        with self._store.write() as connection:
            return traffic.prune(connection, rows.deployment_row(connection, name), cutoff)

    def step_traffic(self, name: str, revision: int, model: str, version: int) -> StepTraffic:
        """What ``model``/``version`` answered under ``revision``, over every replica."""
        with self._store.read() as connection:
            deployment_id = rows.deployment_row(connection, name).id
            return traffic.of_step(connection, deployment_id, revision, model, version)

    def _resolve_quietly(self, routing: Routing) -> dict[str, tuple[str, int]]:
        """What each target names now, leaving out one that no longer resolves (``status``
        still shows the routing of a deployment whose alias was deleted)."""
        found: dict[str, tuple[str, int]] = {}
        for uri in routing.targets():
            try:
                version = self._registry.resolve(uri)
            except NotFound:
                continue
            found[uri] = (version.name, version.version)
        return found

    def status(self, name: str, *, window_s: float = DEFAULT_WINDOW_S) -> DeploymentStatus:
        """Routing, the versions its targets name now, traffic per version over the last
        ``window_s`` seconds (every replica added), canary progress and recent history."""
        window = parse_positive(window_s, "--window")
        since = self._clock() - int(window * 1000)
        # One snapshot for the row, its traffic and its history; the registry resolves targets
        # in between, and the canary's step is read by the row's id, not its name again.
        with self._store.read() as connection:
            row = rows.deployment_row(connection, name)
            found = traffic.since(connection, row.id, since)
            history = _revisions(connection, row.id, HISTORY_SHOWN)
        deployment = rows.deployment_record(row)
        routing = deployment.routing
        pinned = self._resolve_quietly(routing)
        resolved = {uri: version for uri, (_, version) in pinned.items()}
        shares = [
            {"role": "primary", "target": routing.primary, "percent": routing.primary_percent()},
            *({"role": role, "target": t, "percent": p} for role, t, p in routing.shares()),
            *({"role": "shadow", "target": t, "percent": 100.0} for t in routing.shadows),
        ]
        for share in shares:
            share["model"], share["version"] = pinned.get(share["target"], (None, None))
        canary = None
        if routing.canary is not None and routing.canary.target in resolved:
            model = next(s["model"] for s in shares if s["target"] == routing.canary.target)
            with self._store.read() as connection:
                step = traffic.of_step(
                    connection, row.id, deployment.revision, model,
                    resolved[routing.canary.target],
                )  # fmt: skip
            canary = canary_progress(routing.canary, step)
        return DeploymentStatus(
            deployment=deployment,
            resolved=resolved,
            shares=shares,
            window_s=window,
            traffic=traffic.by_version(found, window),
            replicas=len({r.replica for r in found}),
            canary=canary,
            history=history,
        )


def _revisions(connection: Any, deployment_id: int, limit: int) -> list[DeploymentRevision]:
    """The newest ``limit`` revisions of a deployment, newest first."""
    found = connection.execute(
        select(deployment_revisions)
        .where(deployment_revisions.c.deployment_id == deployment_id)
        .order_by(deployment_revisions.c.revision.desc())
        .limit(limit)
    ).all()
    return [rows.revision_record(r) for r in found]


_services: dict[Any, DeploymentService] = {}
_services_lock = threading.Lock()


def deployment_service() -> DeploymentService:
    """The deployment service of the platform the current settings point at."""
    from modelcycle.store import current_store

    store = current_store()
    with _services_lock:
        service = _services.get(store.location)
        if service is None or service.store is not store:
            service = _services[store.location] = DeploymentService(store)
        return service
