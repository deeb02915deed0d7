"""``HttpRegistryService``: the registry service's methods over a modelcycle server's REST API.

Same method names, arguments and return types as :class:`~modelcycle.registry.service.
RegistryService`, so ``mc.registry.*`` runs unchanged when ``MODELCYCLE_URI`` is ``http(s)://``.
Two differences follow from the network:

* ``actor`` / ``created_by`` arguments are sent as a hint only: the server records the user of the
  API token (a server run with ``--no-auth`` honours the hint);
* a version's files travel one by one, streamed and blake3-verified both ways (see
  :meth:`register_model_version` and :meth:`file_source`), never whole in one body.

>>> service = HttpRegistryService("http://127.0.0.1:5000", token="mct_…")  # doctest: +SKIP
>>> service.resolve("models:/churn@champion").version  # doctest: +SKIP
3
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelcycle._internal.hashing import hash_file
from modelcycle.client._artifacts import DIGEST_HEADER, fetch_verified, url_segment
from modelcycle.client._http import HttpService, HttpSession, once, query, texts
from modelcycle.errors import IntegrityError, NotFound
from modelcycle.registry._uris import ModelUri, parse_model_uri
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

ACTOR_HEADER = "X-Modelcycle-User"
MANIFEST_FILE = "model.json"


class HttpRegistryService(HttpService):
    """The model registry through ``modelcycle server``."""

    # -- registered models -------------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        actor: str | None = None,
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": texts(tags)}
        answer = self._http.request("POST", "/models", json=body, headers=_acting(actor))
        return RegisteredModel.model_validate_json(answer.content)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.model_validate_json(self._get(_model(name)))

    def list_registered_models(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> RegisteredModelPage:
        params = query(limit=limit, page_token=page_token)
        return RegisteredModelPage.model_validate_json(self._get("/models", params))

    def update_registered_model(
        self, name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        body = {"description": description, "tags": texts(tags)}
        answer = self._http.request("PATCH", _model(name), json=body)
        return RegisteredModel.model_validate_json(answer.content)

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
        """Upload the directory's files the server lacks, then register them.

        The directory is verified against its manifest here first, each upload is re-hashed by
        the server, and the registered version's manifest digest must be the local
        ``model.json``'s: a byte changed anywhere on the way fails the registration.

        Raises:
            NotFound: ``model_dir`` does not exist.
            IntegrityError: a file does not match the manifest, here or on the server.
        """
        from modelcycle.registry.model_format import verify_model_dir

        directory = Path(model_dir)
        if not directory.is_dir():
            raise NotFound(
                f"no model directory at {str(directory)!r}; save one with "
                "modelcycle.registry.model_format.save_model or use run.log_model",
                details={"path": str(directory)},
            )
        manifest = verify_model_dir(directory)
        files = [(MANIFEST_FILE, hash_file(directory / MANIFEST_FILE))]
        files += [
            (item.path, item.blake3) for item in manifest.files if item.path != MANIFEST_FILE
        ]
        base = _model(name)
        wanted = self._http.request(
            "POST", f"{base}/blobs/missing", json={"digests": [d for _, d in files]}
        ).json()["missing"]
        by_digest = {digest: path for path, digest in files}
        for digest in wanted:
            self._upload(f"{base}/blobs/{digest}", directory / by_digest[digest], digest)
        body = {
            "files": [
                {"path": path, "digest": digest, "size": (directory / path).stat().st_size}
                for path, digest in files
            ],
            "run_id": run_id,
            "datasets": None if datasets is None else [d.model_dump() for d in datasets],
            "code_commit": code_commit,
            "description": description,
            "tags": texts(tags),
        }
        answer = self._http.request(
            "POST", f"{base}/versions", json=body, headers=once() | _acting(created_by)
        )
        version = ModelVersion.model_validate_json(answer.content)
        if version.manifest_digest != files[0][1]:
            raise IntegrityError(
                f"the server registered {name} version {version.version} with manifest "
                f"{version.manifest_digest}, not the {files[0][1]} sent",
                details={"expected": files[0][1], "actual": version.manifest_digest},
            )
        return version

    def _upload(self, url: str, source: Path, digest: str) -> None:
        self._http.request(
            "PUT",
            url,
            headers={DIGEST_HEADER: digest, "Content-Type": "application/octet-stream"},
            content=lambda: open(source, "rb"),
        )

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.model_validate_json(self._get(_version(name, version)))

    def list_model_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> ModelVersionPage:
        params = query(limit=limit, page_token=page_token)
        return ModelVersionPage.model_validate_json(self._get(f"{_model(name)}/versions", params))

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        body = {"description": description, "tags": texts(tags)}
        answer = self._http.request("PATCH", _version(name, version), json=body)
        return ModelVersion.model_validate_json(answer.content)

    def model_version_files(self, name: str, version: int) -> list[ModelFile]:
        answer = self._http.request("GET", f"{_version(name, version)}/files").json()
        return [ModelFile.model_validate(item) for item in answer["files"]]

    def file_source(self, name: str, version: int, files: Sequence[ModelFile]) -> VersionFiles:
        """What ``_reg_files.materialise`` copies ``files`` from: verified downloads."""
        return VersionFiles(self._http, _version(name, version), files)

    def resolve(self, uri: str | ModelUri) -> ModelVersion:
        """The version a ``models:/`` URI names, resolved by the server."""
        parsed = parse_model_uri(uri) if isinstance(uri, str) else uri
        if parsed.kind == "version":
            assert parsed.version is not None
            return self.get_model_version(parsed.name, parsed.version)
        if parsed.kind == "alias":
            path = f"{_model(parsed.name)}/aliases/{url_segment(parsed.alias or '')}"
        elif parsed.kind == "stage":
            path = f"{_model(parsed.name)}/stages/{url_segment(parsed.stage or '')}"
        else:
            from modelcycle.errors import InvalidInput

            raise InvalidInput(
                f"{uri!r} names a run's files, not a registered version",
                details={"uri": str(uri)},
            )
        return ModelVersion.model_validate_json(self._get(path))

    # -- aliases -----------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str) -> ModelVersion:
        answer = self._http.request(
            "PUT",
            f"{_model(name)}/aliases/{url_segment(alias)}",
            json={"version": int(version)},
            headers=_acting(actor),
        )
        return ModelVersion.model_validate_json(answer.content)

    def delete_alias(self, name: str, alias: str, *, actor: str) -> None:
        path = f"{_model(name)}/aliases/{url_segment(alias)}"
        self._http.request("DELETE", path, headers=_acting(actor))

    # -- policy, transitions, approvals ------------------------------------------------------

    def set_policy(self, name: str, policy: ModelPolicy, *, actor: str) -> RegisteredModel:
        body = policy.model_dump(mode="json")
        answer = self._http.request(
            "PUT", f"{_model(name)}/policy", json=body, headers=_acting(actor)
        )
        return RegisteredModel.model_validate_json(answer.content)

    def request_transition(
        self,
        name: str,
        version: int,
        stage: Stage | str,
        *,
        actor: str,
        comment: str | None = None,
    ) -> TransitionRequest:
        body = {"stage": str(stage.value if isinstance(stage, Stage) else stage).lower()}
        body["comment"] = comment  # type: ignore[assignment]
        answer = self._http.request(
            "POST",
            f"{_version(name, version)}/transitions",
            json=body,
            headers=_acting(actor),
        )
        return TransitionRequest.model_validate_json(answer.content)

    def approve(
        self, request_id: int, *, actor: str, comment: str | None = None
    ) -> TransitionRequest:
        return self._decide(request_id, "approve", actor, comment)

    def reject(
        self, request_id: int, *, actor: str, comment: str | None = None
    ) -> TransitionRequest:
        return self._decide(request_id, "reject", actor, comment)

    def _decide(
        self, request_id: int, decision: str, actor: str, comment: str | None
    ) -> TransitionRequest:
        answer = self._http.request(
            "POST",
            f"/transition-requests/{int(request_id)}/{decision}",
            json={"comment": comment},
            headers=_acting(actor),
        )
        return TransitionRequest.model_validate_json(answer.content)

    def get_request(self, request_id: int) -> TransitionRequest:
        return TransitionRequest.model_validate_json(
            self._get(f"/transition-requests/{int(request_id)}")
        )

    def pending_request(self, name: str, version: int) -> TransitionRequest:
        path = f"{_version(name, version)}/transitions/pending"
        return TransitionRequest.model_validate_json(self._get(path))

    def list_requests(
        self,
        name: str | None = None,
        *,
        status: RequestStatus | str | None = None,
        limit: int = 100,
    ) -> list[TransitionRequest]:
        params = query(status=None if status is None else str(status), limit=limit)
        path = "/transition-requests" if name is None else f"{_model(name)}/transitions"
        answer = self._http.request("GET", path, params=params).json()
        return [TransitionRequest.model_validate(item) for item in answer["requests"]]

    def list_events(
        self, name: str, *, version: int | None = None, limit: int = 1000
    ) -> list[RegistryEvent]:
        found: list[RegistryEvent] = []
        token: str | None = None
        while len(found) < limit:
            params = query(
                version=version, limit=min(limit - len(found), 10_000), page_token=token
            )
            page = self._http.request("GET", f"{_model(name)}/history", params=params).json()
            found.extend(RegistryEvent.model_validate(item) for item in page["events"])
            token = page["next_page_token"]
            if token is None:
                break
        return found

    def check_gates(self, name: str, version: int) -> list[dict[str, Any]]:
        answer = self._http.request("GET", f"{_version(name, version)}/gates").json()
        return list(answer["gates"])

    # -- evaluations and cards ---------------------------------------------------------------

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
        body = {
            "metrics": {str(k): float(v) for k, v in metrics.items()},
            "result": dict(result),
            "run_id": run_id,
            "dataset": dataset,
        }
        answer = self._http.request(
            "POST",
            f"{_version(name, version)}/evaluations",
            json=body,
            headers=once() | _acting(actor),
        )
        return ModelEvaluation.model_validate_json(answer.content)

    def list_evaluations(self, name: str, version: int) -> list[ModelEvaluation]:
        answer = self._http.request("GET", f"{_version(name, version)}/evaluations").json()
        return [ModelEvaluation.model_validate(item) for item in answer["evaluations"]]

    def card(self, name: str, version: int, format: str = "markdown") -> str:
        """The model card, rendered by the server (which reads the run and the history)."""
        path = f"{_version(name, version)}/card"
        return self._http.request("GET", path, params={"format": format}).text


class VersionFiles:
    """A version's files as an object source: ``copy_to(digest, dest)`` downloads the file with
    that digest, streamed into a temporary file and renamed into place only once its blake3 is
    the digest (and the server's header agrees)."""

    def __init__(self, http: HttpSession, version_path: str, files: Sequence[ModelFile]) -> None:
        self._http = http
        self._base = version_path
        self._paths = {item.digest: item.path for item in files}

    def copy_to(self, digest: str, dest_path: str | os.PathLike[str]) -> None:
        """Raises: IntegrityError: the bytes are not ``digest``; ``dest_path`` is untouched."""
        path = self._paths[digest]
        url = f"{self._base}/files/{'/'.join(url_segment(p) for p in path.split('/'))}"
        fetch_verified(self._http, url, digest, Path(dest_path), f"model file {path!r}")


def _model(name: str) -> str:
    return f"/models/{url_segment(name)}"


def _version(name: str, version: int) -> str:
    return f"{_model(name)}/versions/{url_segment(str(version))}"


def _acting(actor: str | None) -> dict[str, str]:
    """The SDK's user as a hint; only a server without auth uses it (HTTP headers are ASCII:
    another name is left out, and that server records ``anonymous``)."""
    return {ACTOR_HEADER: actor} if actor and actor.isascii() and actor.isprintable() else {}
