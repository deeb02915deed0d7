"""``RegistryService``: registered models, versions, aliases, stages and approvals over the store.

Every method opens its own short transaction and returns frozen records. Registering a version
puts its files in the object store first, then writes every row (version, files, datasets,
tags, event) in one transaction. A version number is the model's highest plus one, taken while
holding a lock on the model's row; two registrations that create the same new model at once
collide on its unique name, and the loser tries again.

Methods that change something take an explicit ``actor``: the SDK passes the configured user,
the server the authenticated one. Roles are checked at the edges, never here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Row, func, insert, select, update

from modelcycle._internal import page_tokens
from modelcycle._internal.clock import now_ms
from modelcycle.errors import AlreadyExists, GateFailed, InvalidInput, NotFound, PermissionDenied
from modelcycle.registry import _gates, _reg_files, _reg_stages
from modelcycle.registry._reg_rows import (
    aliased_version,
    evaluation_record,
    event_record,
    model_row,
    models,
    request_record,
    select_evaluations,
    select_events,
    select_requests,
    select_versions,
    version_in_stage,
    version_row,
    versions,
)
from modelcycle.registry._uris import ModelUri, check_alias, check_model_name, parse_model_uri
from modelcycle.registry.entities import (
    ModelDatasetRef,
    ModelEvaluation,
    ModelFile,
    ModelPolicy,
    ModelVersion,
    ModelVersionPage,
    RegisteredModel,
    RegisteredModelPage,
    RegistryEvent,
    RequestStatus,
    Stage,
    TransitionRequest,
)
from modelcycle.store import Store
from modelcycle.store._bulk import insert_rows, upsert_rows
from modelcycle.store.tables import dataset_versions, datasets, run_inputs, runs
from modelcycle.store.tables.registry import (
    ACTOR_LENGTH,
    KEY_LENGTH,
    model_aliases,
    model_evaluations,
    model_tags,
    model_version_datasets,
    model_version_files,
    model_version_tags,
    model_versions,
    registered_models,
    registry_events,
    transition_requests,
)

MAX_PAGE: Final = 10_000
CODE_COMMIT_LENGTH: Final = 64  # model_versions.code_commit
_REGISTER_ATTEMPTS: Final = 5


class RegistryService:
    """The model registry over a :class:`~modelcycle.store.Store`.

    >>> from modelcycle.config import resolve_uri
    >>> from modelcycle.store import open_store
    >>> service = RegistryService(open_store(resolve_uri("/tmp/mc-doctest")))  # doctest: +SKIP
    >>> service.register_model_version("churn", "model/").version  # doctest: +SKIP
    1
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def close(self) -> None:
        """Release the database connections."""
        self._store.close()

    # -- registered models -------------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        actor: str | None = None,
    ) -> RegisteredModel:
        """Create an empty registered model (registering a version creates one as well).

        Raises:
            InvalidInput: the name is malformed.
            AlreadyExists: the name is taken.
        """
        check_model_name(name)
        with self._store.write() as connection:
            if connection.scalar(
                select(registered_models.c.id).where(registered_models.c.name == name)
            ):
                raise AlreadyExists(
                    f"registered model {name!r} already exists", details={"name": name}
                )
            model_id = _new_model(connection, name, description, actor)
            _write_tags(connection, model_tags, "model_id", model_id, tags)
            return models(connection, [model_row(connection, name)])[0]

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Raises: NotFound: no model has this name."""
        with self._store.read() as connection:
            return models(connection, [model_row(connection, name)])[0]

    def list_registered_models(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> RegisteredModelPage:
        """Registered models by name, one page at a time."""
        _check_limit(limit)
        fingerprint = page_tokens.fingerprint("registered_models")
        offset = page_tokens.decode(page_token, fingerprint)
        query = (
            select(registered_models)
            .order_by(registered_models.c.name)
            .limit(limit + 1)
            .offset(offset)
        )
        with self._store.read() as connection:
            rows = connection.execute(query).all()
            found = models(connection, rows[:limit])
        token = page_tokens.encode(offset + limit, fingerprint) if len(rows) > limit else None
        return RegisteredModelPage(models=found, next_page_token=token)

    def update_registered_model(
        self, name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """Set a model's description (when given) and tags (added or replaced)."""
        with self._store.write() as connection:
            model = model_row(connection, name)
            values: dict[str, Any] = {"updated_at": now_ms()}
            if description is not None:
                values["description"] = description
            connection.execute(
                update(registered_models).where(registered_models.c.id == model.id).values(values)
            )
            _write_tags(connection, model_tags, "model_id", model.id, tags)
            return models(connection, [model_row(connection, name)])[0]

    # -- versions ----------------------------------------------------------------------------

    def register_model_version(
        self,
        name: str,
        model_dir: str | os.PathLike[str],
        *,
        run_id: str | None = None,
        datasets: Sequence[ModelDatasetRef] | None = None,
        code_commit: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        created_by: str | None = None,
    ) -> ModelVersion:
        """Register the model directory ``model_dir`` as the next version of ``name``.

        Args:
            model_dir: a directory written by ``save_model`` (with its ``model.json``).
            run_id: the run that trained it.
            datasets: the dataset versions it was trained on; by default the run's inputs.
            code_commit: by default the git commit the run recorded.
            created_by: who registers it.

        Returns:
            The new version, stage ``none``.

        Raises:
            InvalidInput: a malformed name, or ``model_dir`` is not a model directory.
            NotFound: ``model_dir`` or the run does not exist.
            IntegrityError: a file does not match the manifest; nothing is registered.
        """
        from modelcycle.registry.model_format import verify_model_dir

        check_model_name(name)
        if created_by is not None:
            created_by = _check_actor(created_by)
        directory = Path(model_dir)
        if not directory.is_dir():
            raise NotFound(
                f"no model directory at {str(directory)!r}; save one with "
                "modelcycle.registry.model_format.save_model or use run.log_model",
                details={"path": str(directory)},
            )
        manifest = verify_model_dir(directory)
        expected = {item.path: item.blake3 for item in manifest.files}
        run_facts = self._run_facts(run_id)
        if datasets is None:
            datasets = run_facts["inputs"]
        if code_commit is None:
            code_commit = run_facts["commit"]
        elif not isinstance(code_commit, str) or len(code_commit) > CODE_COMMIT_LENGTH:
            raise InvalidInput(
                f"code_commit {code_commit!r} must be a commit id of at most "
                f"{CODE_COMMIT_LENGTH} characters",
                details={"code_commit": str(code_commit)},
            )
        files = _reg_files.upload(self._store.objects, directory, expected)
        manifest_digest = next(f.digest for f in files if f.path == _reg_files.MANIFEST_FILE)
        row = {
            "run_id": run_id,
            "code_commit": code_commit,
            "flavor": str(manifest.flavor),
            "manifest_digest": manifest_digest,
            "signature": _plain(manifest.signature),
            "description": description,
            "status": "READY",
            "stage": Stage.NONE.value,
            "created_by": created_by,
        }
        for attempt in range(_REGISTER_ATTEMPTS):
            try:
                with self._store.write() as connection:
                    return self._record_version(connection, name, row, files, datasets, tags)
            except AlreadyExists:  # a concurrent registration created the same new model
                if attempt == _REGISTER_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_version(
        self,
        connection: Connection,
        name: str,
        row: dict[str, Any],
        files: Sequence[ModelFile],
        datasets_used: Sequence[ModelDatasetRef],
        tags: Mapping[str, str] | None,
    ) -> ModelVersion:
        now = now_ms()
        # Locking the model's row queues concurrent registrations on PostgreSQL, so the next
        # number is free when read (SQLite's write transaction is exclusive already).
        model_id = connection.scalar(
            select(registered_models.c.id)
            .where(registered_models.c.name == name)
            .with_for_update()
        )
        if model_id is None:
            model_id = _new_model(connection, name, None, row["created_by"])
        number = (
            connection.scalar(
                select(func.max(model_versions.c.version)).where(
                    model_versions.c.model_id == model_id
                )
            )
            or 0
        ) + 1
        version_id = connection.execute(
            insert(model_versions)
            .values(model_id=model_id, version=number, created_at=now, updated_at=now, **row)
            .returning(model_versions.c.id)
        ).scalar_one()
        insert_rows(
            connection, model_version_files, ("version_id", "path", "digest", "size"),
            [(version_id, f.path, f.digest, f.size) for f in files],
        )  # fmt: skip
        known = _dataset_ids(connection, datasets_used)
        insert_rows(
            connection, model_version_datasets,
            ("version_id", "dataset", "dataset_version", "role", "dataset_version_id"),
            list({
                (d.dataset, d.version, d.role): (
                    version_id, d.dataset, d.version, d.role, known.get((d.dataset, d.version))
                )
                for d in datasets_used
            }.values()),
        )  # fmt: skip
        _write_tags(connection, model_version_tags, "version_id", version_id, tags)
        connection.execute(
            update(registered_models)
            .where(registered_models.c.id == model_id)
            .values(updated_at=now)
        )
        _reg_stages.record(
            connection, model_id, version_id, "version_registered", row["created_by"] or "-",
            {"run_id": row["run_id"], "manifest_digest": row["manifest_digest"]},
        )  # fmt: skip
        found = connection.execute(
            select_versions().where(model_versions.c.id == version_id)
        ).one()
        return versions(connection, [found])[0]

    def _run_facts(self, run_id: str | None) -> dict[str, Any]:
        """The run's dataset inputs and git commit, which a version inherits by default."""
        if run_id is None:
            return {"inputs": [], "commit": None}
        with self._store.read() as connection:
            environment = connection.scalar(select(runs.c.environment).where(runs.c.id == run_id))
            if environment is None:
                raise NotFound(
                    f"run {run_id!r} does not exist; `modelcycle runs list` shows existing runs",
                    details={"run_id": run_id},
                )
            inputs = connection.execute(
                select(run_inputs.c.dataset, run_inputs.c.version, run_inputs.c.role).where(
                    run_inputs.c.run_id == run_id
                )
            ).all()
        if isinstance(environment, str):  # written as text by the bulk insert on some drivers
            import json

            environment = json.loads(environment)
        return {
            "inputs": [ModelDatasetRef(dataset=d, version=v, role=r) for d, v, r in inputs],
            "commit": (environment or {}).get("git_commit"),
        }

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Raises: NotFound: no such model or version."""
        with self._store.read() as connection:
            return versions(connection, [version_row(connection, name, _number(version))])[0]

    def list_model_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> ModelVersionPage:
        """A model's versions, newest first, one page at a time.

        Raises:
            NotFound: no model has this name.
        """
        _check_limit(limit)
        fingerprint = page_tokens.fingerprint("model_versions", name)
        offset = page_tokens.decode(page_token, fingerprint)
        with self._store.read() as connection:
            model = model_row(connection, name)
            rows = connection.execute(
                select_versions()
                .where(model_versions.c.model_id == model.id)
                .order_by(model_versions.c.version.desc())
                .limit(limit + 1)
                .offset(offset)
            ).all()
            found = versions(connection, rows[:limit])
        token = page_tokens.encode(offset + limit, fingerprint) if len(rows) > limit else None
        return ModelVersionPage(versions=found, next_page_token=token)

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Set a version's description (when given) and tags (added or replaced)."""
        with self._store.write() as connection:
            row = version_row(connection, name, _number(version))
            if description is not None:
                connection.execute(
                    update(model_versions)
                    .where(model_versions.c.id == row.id)
                    .values(description=description, updated_at=now_ms())
                )
            _write_tags(connection, model_version_tags, "version_id", row.id, tags)
            return versions(connection, [version_row(connection, name, row.version)])[0]

    def model_version_files(self, name: str, version: int) -> list[ModelFile]:
        """The files of a version's model directory, by path."""
        with self._store.read() as connection:
            row = version_row(connection, name, _number(version))
            found = connection.execute(
                select(model_version_files)
                .where(model_version_files.c.version_id == row.id)
                .order_by(model_version_files.c.path)
            ).all()
        return [ModelFile(path=f.path, digest=f.digest, size=f.size) for f in found]

    def resolve(self, uri: str | ModelUri) -> ModelVersion:
        """The version a ``models:/`` URI names.

        Raises:
            InvalidInput: a malformed URI, or a ``runs:/`` URI (which names no version).
            NotFound: no such model, version, alias or version in that stage.
        """
        parsed = parse_model_uri(uri) if isinstance(uri, str) else uri
        with self._store.read() as connection:
            if parsed.kind == "version":
                assert parsed.version is not None
                row = version_row(connection, parsed.name, parsed.version)
            elif parsed.kind == "alias":
                assert parsed.alias is not None
                row = aliased_version(connection, parsed.name, parsed.alias)
            elif parsed.kind == "stage":
                assert parsed.stage is not None
                row = version_in_stage(connection, parsed.name, parsed.stage)
            else:
                raise InvalidInput(
                    f"{uri!r} names a run's files, not a registered version",
                    details={"uri": str(uri)},
                )
            return versions(connection, [row])[0]

    # -- aliases -----------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str) -> ModelVersion:
        """Point ``name@alias`` at ``version``; the move (from which version) is recorded.

        Raises:
            InvalidInput: a malformed alias.
            NotFound: no such model or version.
        """
        check_alias(alias)
        who = _check_actor(actor)
        with self._store.write() as connection:
            row = version_row(connection, name, _number(version))
            previous = connection.execute(
                select(model_versions.c.id, model_versions.c.version)
                .join(model_aliases, model_aliases.c.version_id == model_versions.c.id)
                .where(model_aliases.c.model_id == row.model_id, model_aliases.c.alias == alias)
            ).first()
            if previous is None or previous.id != row.id:
                upsert_rows(
                    connection, model_aliases, ("model_id", "alias", "version_id", "updated_at"),
                    [(row.model_id, alias, row.id, now_ms())],
                    key_columns=["model_id", "alias"], update_columns=["version_id", "updated_at"],
                )  # fmt: skip
                _reg_stages.record(
                    connection, row.model_id, row.id, "alias_set", who,
                    {"alias": alias, "from": None if previous is None else previous.version,
                     "to": row.version},
                )  # fmt: skip
            return versions(connection, [version_row(connection, name, row.version)])[0]

    def delete_alias(self, name: str, alias: str, *, actor: str) -> None:
        """Remove ``name@alias``; recorded with the version it pointed to.

        Raises:
            NotFound: the model has no such alias.
        """
        who = _check_actor(actor)
        with self._store.write() as connection:
            row = aliased_version(connection, name, alias)
            connection.execute(
                model_aliases.delete().where(
                    model_aliases.c.model_id == row.model_id, model_aliases.c.alias == alias
                )
            )
            _reg_stages.record(
                connection, row.model_id, row.id, "alias_deleted", who,
                {"alias": alias, "from": row.version},
            )  # fmt: skip

    # -- policy, transitions, approvals ------------------------------------------------------

    def set_policy(self, name: str, policy: ModelPolicy, *, actor: str) -> RegisteredModel:
        """Set the rules for promotion to production (see :class:`ModelPolicy`).

        Raises:
            InvalidInput: a gate is malformed (the message shows the accepted forms).
            NotFound: no model has this name.
        """
        who = _check_actor(actor)
        checked = ModelPolicy(
            require_approval=policy.require_approval,
            gates=_gates.check_gates(policy.gates),
            archive_previous=policy.archive_previous,
        )
        with self._store.write() as connection:
            model = model_row(connection, name)
            connection.execute(
                update(registered_models)
                .where(registered_models.c.id == model.id)
                .values(policy=checked.model_dump(mode="json"), updated_at=now_ms())
            )
            _reg_stages.record(
                connection, model.id, None, "policy_set", who, checked.model_dump(mode="json")
            )
            return models(connection, [model_row(connection, name)])[0]

    def request_transition(
        self,
        name: str,
        version: int,
        stage: Stage | str,
        *,
        actor: str,
        comment: str | None = None,
    ) -> TransitionRequest:
        """Ask to move a version to ``stage``; applied at once unless the policy wants approval.

        Returns:
            The request: ``applied``, or ``pending`` until :meth:`approve` or :meth:`reject`.

        Raises:
            GateFailed: a production gate fails (message and details give the numbers); the
                refusal is recorded as a ``gate_failed`` event and nothing else changes.
            InvalidInput: unknown stage, or the version is already in it.
            AlreadyExists: the version already has a pending request.
            NotFound: no such model or version.
        """
        who = _check_actor(actor)
        target = _reg_stages.check_stage(stage)
        number = _number(version)
        try:
            with self._store.write() as connection:
                model = model_row(connection, name, for_update=True)
                row = version_row(connection, name, number)
                if row.stage == target.value:
                    raise InvalidInput(
                        f"model {name!r} version {number} is already in stage {target.value!r}",
                        details={"name": name, "version": number, "stage": target.value},
                    )
                if self._pending_row(connection, row.id) is not None:
                    raise AlreadyExists(
                        f"model {name!r} version {number} already has a pending request; "
                        f"approve or reject it first (`modelcycle models approve {name} "
                        f"{number}`)",
                        details={"name": name, "version": number},
                    )
                policy = _reg_stages.policy_of(model)
                self._require_gates(connection, model, row, target, policy)
                waits = target is Stage.PRODUCTION and policy.require_approval
                now = now_ms()
                request_id = connection.execute(
                    insert(transition_requests)
                    .values(
                        version_id=row.id,
                        from_stage=row.stage,
                        to_stage=target.value,
                        status=(RequestStatus.PENDING if waits else RequestStatus.APPLIED).value,
                        requested_by=who,
                        comment=comment,
                        created_at=now,
                        decided_at=None if waits else now,
                    )  # fmt: skip
                    .returning(transition_requests.c.id)
                ).scalar_one()
                _reg_stages.record(
                    connection, model.id, row.id, "transition_requested", who,
                    {"request_id": request_id, "from": row.stage, "to": target.value,
                     "comment": comment, "needs_approval": waits},
                )  # fmt: skip
                if not waits:
                    _reg_stages.apply(
                        connection, model, row, target,
                        policy=policy, actor=who, request_id=request_id,
                    )  # fmt: skip
                return self._request(connection, request_id)
        except GateFailed as failure:
            self._record_refusal(who, failure)
            raise

    def approve(
        self, request_id: int, *, actor: str, comment: str | None = None
    ) -> TransitionRequest:
        """Approve a pending request and apply it, its gates checked again.

        Raises:
            PermissionDenied: the approver is the requester.
            GateFailed: a gate fails now (the request stays pending).
            InvalidInput: the request is not pending, or the version moved since.
            NotFound: no such request.
        """
        who = _check_actor(actor)
        try:
            with self._store.write() as connection:
                request, model, row = self._pending_for_decision(connection, request_id)
                if request.requested_by == who:
                    raise PermissionDenied(
                        f"{who!r} requested this transition and cannot also approve it; "
                        "another editor or admin must approve it",
                        details={"request_id": request_id, "requested_by": who},
                    )
                policy = _reg_stages.policy_of(model)
                target = Stage(request.to_stage)
                self._require_gates(connection, model, row, target, policy)
                self._decide(connection, request_id, RequestStatus.APPLIED, who, comment)
                _reg_stages.record(
                    connection, model.id, row.id, "transition_approved", who,
                    {"request_id": request_id, "to": target.value, "comment": comment,
                     "requested_by": request.requested_by},
                )  # fmt: skip
                _reg_stages.apply(
                    connection, model, row, target, policy=policy, actor=who, request_id=request_id
                )
                return self._request(connection, request_id)
        except GateFailed as failure:
            self._record_refusal(who, failure)
            raise

    def reject(
        self, request_id: int, *, actor: str, comment: str | None = None
    ) -> TransitionRequest:
        """Reject (or, by its requester, withdraw) a pending request.

        Raises:
            InvalidInput: the request is not pending.
            NotFound: no such request.
        """
        who = _check_actor(actor)
        with self._store.write() as connection:
            request, model, row = self._pending_for_decision(connection, request_id)
            self._decide(connection, request_id, RequestStatus.REJECTED, who, comment)
            _reg_stages.record(
                connection, model.id, row.id, "transition_rejected", who,
                {"request_id": request_id, "to": request.to_stage, "comment": comment},
            )  # fmt: skip
            return self._request(connection, request_id)

    def get_request(self, request_id: int) -> TransitionRequest:
        """Raises: NotFound: no such request."""
        with self._store.read() as connection:
            return self._request(connection, request_id)

    def pending_request(self, name: str, version: int) -> TransitionRequest:
        """The version's pending request.

        Raises:
            NotFound: the version has none.
        """
        number = _number(version)
        with self._store.read() as connection:
            row = version_row(connection, name, number)
            pending = self._pending_row(connection, row.id)
            if pending is None:
                raise NotFound(
                    f"model {name!r} version {number} has no pending transition request; "
                    f"request one with `modelcycle models transition {name} {number} production`",
                    details={"name": name, "version": number},
                )
            return self._request(connection, pending)

    def list_requests(
        self,
        name: str | None = None,
        *,
        status: RequestStatus | str | None = None,
        limit: int = 100,
    ) -> list[TransitionRequest]:
        """Transition requests, newest first, of one model or all, optionally by status."""
        _check_limit(limit)
        query = select_requests()
        if status is not None:
            query = query.where(transition_requests.c.status == _check_status(status).value)
        with self._store.read() as connection:
            if name is not None:
                query = query.where(model_versions.c.model_id == model_row(connection, name).id)
            rows = connection.execute(
                query.order_by(transition_requests.c.id.desc()).limit(limit)
            ).all()
        return [request_record(r) for r in rows]

    def list_events(
        self, name: str, *, version: int | None = None, limit: int = 1000
    ) -> list[RegistryEvent]:
        """A model's history (or one version's), oldest first."""
        _check_limit(limit)
        with self._store.read() as connection:
            if version is None:
                condition = registry_events.c.model_id == model_row(connection, name).id
            else:
                row = version_row(connection, name, _number(version))
                condition = registry_events.c.version_id == row.id
            rows = connection.execute(
                select_events().where(condition).order_by(registry_events.c.id).limit(limit)
            ).all()
        return [event_record(r) for r in rows]

    def check_gates(self, name: str, version: int) -> list[dict[str, Any]]:
        """How a version fares against its model's production gates now, without moving it."""
        with self._store.read() as connection:
            model = model_row(connection, name)
            row = version_row(connection, name, _number(version))
            outcomes, _ = _reg_stages.gate_outcomes(
                connection, model, row, _reg_stages.policy_of(model)
            )
        return [o.to_dict() for o in outcomes]

    # -- evaluations -------------------------------------------------------------------------

    def attach_evaluation(
        self,
        name: str,
        version: int,
        *,
        metrics: Mapping[str, float],
        result: Mapping[str, Any],
        run_id: str | None = None,
        dataset: str | None = None,
        actor: str | None = None,
    ) -> ModelEvaluation:
        """Attach an evaluation to a version; its metrics become what the version's gates read.

        Raises:
            InvalidInput: a metric is not a finite number, the result is not JSON, or the actor
                is malformed.
            NotFound: no such model, version or run.
        """
        flat = _finite_metrics(metrics)
        _check_json_result(result)
        if actor is not None:
            actor = _check_actor(actor)
        with self._store.write() as connection:
            row = version_row(connection, name, _number(version))
            evaluation_id = connection.execute(
                insert(model_evaluations)
                .values(
                    version_id=row.id,
                    run_id=run_id,
                    dataset=dataset,
                    metrics=flat,
                    result=dict(result),
                    created_by=actor,
                    created_at=now_ms(),
                )  # fmt: skip
                .returning(model_evaluations.c.id)
            ).scalar_one()
            _reg_stages.record(
                connection, row.model_id, row.id, "evaluation_attached", actor or "-",
                {"evaluation_id": evaluation_id, "run_id": run_id, "dataset": dataset},
            )  # fmt: skip
            found = connection.execute(
                select_evaluations().where(model_evaluations.c.id == evaluation_id)
            ).one()
        return evaluation_record(found)

    def list_evaluations(self, name: str, version: int) -> list[ModelEvaluation]:
        """A version's evaluations, oldest first."""
        with self._store.read() as connection:
            row = version_row(connection, name, _number(version))
            rows = connection.execute(
                select_evaluations()
                .where(model_evaluations.c.version_id == row.id)
                .order_by(model_evaluations.c.id)
            ).all()
        return [evaluation_record(r) for r in rows]

    # -- private -----------------------------------------------------------------------------

    def _require_gates(
        self,
        connection: Connection,
        model: Row[Any],
        row: Row[Any],
        target: Stage,
        policy: ModelPolicy,
    ) -> None:
        if target is not Stage.PRODUCTION:
            return
        outcomes, known = _reg_stages.gate_outcomes(connection, model, row, policy)
        _gates.require_passed(outcomes, name=model.name, version=row.version, known=known)

    def _record_refusal(self, actor: str, failure: GateFailed) -> None:
        """Record a promotion its gates refused, after the refused transaction rolled back."""
        with self._store.write() as connection:
            row = version_row(connection, failure.details["name"], failure.details["version"])
            _reg_stages.record(
                connection, row.model_id, row.id, "gate_failed", actor,
                {"message": failure.message, "gates": failure.details.get("gates", [])},
            )  # fmt: skip

    def _pending_row(self, connection: Connection, version_id: int) -> int | None:
        return connection.scalar(
            select(transition_requests.c.id).where(
                transition_requests.c.version_id == version_id,
                transition_requests.c.status == RequestStatus.PENDING.value,
            )
        )

    def _request(self, connection: Connection, request_id: int) -> TransitionRequest:
        row = connection.execute(
            select_requests().where(transition_requests.c.id == request_id)
        ).first()
        if row is None:
            raise NotFound(
                f"transition request {request_id} does not exist",
                details={"request_id": request_id},
            )
        return request_record(row)

    def _pending_for_decision(
        self, connection: Connection, request_id: int
    ) -> tuple[TransitionRequest, Row[Any], Row[Any]]:
        request = self._request(connection, request_id)
        model = model_row(connection, request.name, for_update=True)
        row = version_row(connection, request.name, request.version)
        if request.status is not RequestStatus.PENDING:
            raise InvalidInput(
                f"transition request {request_id} is {request.status.value}, not pending",
                details={"request_id": request_id, "status": request.status.value},
            )
        if row.stage != request.from_stage.value:
            raise InvalidInput(
                f"model {request.name!r} version {request.version} moved to {row.stage!r} since "
                f"request {request_id} was made from {request.from_stage.value!r}; reject it "
                "and request again",
                details={"request_id": request_id, "stage": row.stage},
            )
        return request, model, row

    def _decide(
        self,
        connection: Connection,
        request_id: int,
        status: RequestStatus,
        actor: str,
        comment: str | None,
    ) -> None:
        connection.execute(
            update(transition_requests)
            .where(transition_requests.c.id == request_id)
            .values(
                status=status.value,
                decided_by=actor,
                decision_comment=comment,
                decided_at=now_ms(),
            )  # fmt: skip
        )


def _new_model(
    connection: Connection, name: str, description: str | None, actor: str | None
) -> int:
    now = now_ms()
    return int(
        connection.execute(
            insert(registered_models)
            .values(
                name=name,
                description=description,
                created_at=now,
                updated_at=now,
                created_by=actor,
                policy=None,
            )  # fmt: skip
            .returning(registered_models.c.id)
        ).scalar_one()
    )


def _write_tags(
    connection: Connection,
    table: Any,
    owner_column: str,
    owner_id: int,
    tags: Mapping[str, str] | None,
) -> None:
    if not tags:
        return
    for key in tags:
        if not isinstance(key, str) or not key or len(key) > KEY_LENGTH:
            raise InvalidInput(
                f"tag key {key!r} must be a non-empty string of at most {KEY_LENGTH} characters",
                details={"key": str(key)},
            )
    upsert_rows(
        connection, table, (owner_column, "key", "value"),
        [(owner_id, key, str(value)) for key, value in tags.items()],
        key_columns=[owner_column, "key"], update_columns=["value"],
    )  # fmt: skip


def _dataset_ids(
    connection: Connection, refs: Sequence[ModelDatasetRef]
) -> dict[tuple[str, str], int]:
    """(dataset, version as text) → dataset_versions.id, for the refs the data domain holds."""
    numbered = [(r.dataset, int(r.version)) for r in refs if r.version.isdigit()]
    if not numbered:
        return {}
    rows = connection.execute(
        select(datasets.c.name, dataset_versions.c.version, dataset_versions.c.id)
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .where(datasets.c.name.in_({n for n, _ in numbered}))
        .where(dataset_versions.c.version.in_({v for _, v in numbered}))
    ).all()
    return {(r.name, str(r.version)): r.id for r in rows}


def _plain(value: Any) -> Any:
    """A manifest's signature as JSON-ready data, whatever record type the format uses."""
    if value is None or isinstance(value, dict | list | str | int | float | bool):
        return value
    for method in ("to_dict", "model_dump"):
        if hasattr(value, method):
            return getattr(value, method)()
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise InvalidInput(
        f"cannot store a signature of type {type(value).__name__}",
        details={"type": type(value).__name__},
    )


def _number(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise InvalidInput(f"version {version!r} must be a positive integer")
    text = str(version)
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(
            f"version {version!r} must be a positive integer (1, 2, 3…)",
            details={"version": str(version)},
        )
    return int(text)


def _check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > ACTOR_LENGTH:
        raise InvalidInput(
            f"actor {actor!r} must be a user name of 1 to {ACTOR_LENGTH} characters",
            details={"actor": str(actor)},
        )
    return actor.strip()


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(
            f"limit must be an integer from 1 to {MAX_PAGE}, got {limit!r}",
            details={"limit": limit},
        )


def _check_status(status: RequestStatus | str) -> RequestStatus:
    try:
        return RequestStatus(status)
    except ValueError:
        known = [item.value for item in RequestStatus]
        raise InvalidInput(
            f"unknown request status {status!r}; the statuses are {', '.join(known)}",
            details={"status": str(status), "statuses": known},
        ) from None


def _finite_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Metrics as floats; a NaN or text value is refused here, as gates could not compare it and
    PostgreSQL's JSON could not store it."""
    import math
    import numbers

    flat = {}
    for key, value in metrics.items():
        # numbers.Real also admits NumPy scalars, which float() converts exactly.
        number = value if isinstance(value, numbers.Real) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number):
            raise InvalidInput(
                f"metric {key!r} is {value!r}; an evaluation's metrics must be finite numbers",
                details={"metric": str(key), "value": repr(value)},
            )
        flat[str(key)] = float(number)
    return flat


def _check_json_result(result: Mapping[str, Any]) -> None:
    """Refuse a result a JSON column cannot keep (NaN, arbitrary objects), before writing."""
    import json

    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the evaluation result is not plain JSON data: {exc}",
            details={"problem": "result"},
        ) from None
