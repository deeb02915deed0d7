"""``HttpTrackingService``: the tracking contract over a modelcycle server's REST API.

Each method is one request (or one per page, per chunk of 50,000 metric points, per artifact
file) on a kept-alive connection. The SDK's ``ActiveRun`` buffers ``log_metric`` calls and hands
them to :meth:`log_metrics` in batches, exactly as in embedded mode, so a loop of ``log_metric``
costs no request per call. Every metric batch, run creation and run end carries a fresh
``Idempotency-Key``, which makes it safe to retry: a batch whose answer was lost is stored once.

>>> service = HttpTrackingService("http://127.0.0.1:5000", token="mct_…")  # doctest: +SKIP
>>> service.get_or_create_experiment("churn").id  # doctest: +SKIP
1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from modelcycle._internal.hashing import hash_file
from modelcycle.client import _points
from modelcycle.client._artifacts import (
    DIGEST_HEADER,
    download_target,
    fetch_verified,
    files_to_log,
    normalized,
    url_segment,
)
from modelcycle.client._http import HttpService, once, query, texts
from modelcycle.errors import NotFound
from modelcycle.tracking._base import BaseTrackingService, MetricPoint
from modelcycle.tracking.entities import (
    ArtifactInfo,
    Experiment,
    ExperimentPage,
    MetricHistory,
    Run,
    RunInput,
    RunPage,
    RunStatus,
)

_LIST_PAGE = 10_000


class HttpTrackingService(HttpService, BaseTrackingService):
    """Tracking through ``modelcycle server``."""

    # -- experiments -------------------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
        body = {"name": name, "tags": {k: str(v) for k, v in (tags or {}).items()}}
        return Experiment.model_validate_json(
            self._http.request("POST", "/experiments", json=body).content
        )

    def get_experiment(self, name_or_id: str | int) -> Experiment:
        if isinstance(name_or_id, int):
            path = f"/experiments/{name_or_id}"
        else:
            path = f"/experiments/by-name/{url_segment(name_or_id)}"
        return Experiment.model_validate_json(self._http.request("GET", path).content)

    def get_or_create_experiment(self, name: str) -> Experiment:
        path = f"/experiments/by-name/{url_segment(name)}"
        return Experiment.model_validate_json(self._http.request("PUT", path).content)

    def list_experiments(
        self, *, limit: int = 100, page_token: str | None = None, include_deleted: bool = False
    ) -> ExperimentPage:
        params = query(limit=limit, page_token=page_token, include_deleted=include_deleted or None)
        answer = self._http.request("GET", "/experiments", params=params)
        return ExperimentPage.model_validate_json(answer.content)

    # Rename, delete and restore address the experiment by id (a name is looked up first), so
    # each is safe to send again: a retry finds the work done and changes nothing.

    def rename_experiment(self, name_or_id: str | int, new_name: str) -> Experiment:
        path = f"/experiments/{self._experiment_id(name_or_id)}"
        answer = self._http.request("PATCH", path, json={"name": new_name})
        return Experiment.model_validate_json(answer.content)

    def delete_experiment(self, name_or_id: str | int) -> Experiment:
        path = f"/experiments/{self._experiment_id(name_or_id)}"
        return Experiment.model_validate_json(self._http.request("DELETE", path).content)

    def restore_experiment(self, name_or_id: str | int) -> Experiment:
        path = f"/experiments/{self._experiment_id(name_or_id)}/restore"
        answer = self._http.request("POST", path, headers=once())
        return Experiment.model_validate_json(answer.content)

    def _experiment_id(self, name_or_id: str | int) -> int:
        return name_or_id if isinstance(name_or_id, int) else self.get_experiment(name_or_id).id

    # -- runs --------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: int,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "params": texts(params),
            "tags": texts(tags),
            "parent_run_id": parent_run_id,
            "environment": dict(environment or {}),
        }
        answer = self._http.request("POST", "/runs", json=body, headers=once())
        return Run.model_validate_json(answer.content)

    def get_run(self, run_id: str) -> Run:
        answer = self._http.request("GET", f"/runs/{url_segment(run_id)}")
        return Run.model_validate_json(answer.content)

    def end_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        *,
        metrics: Sequence[MetricPoint] = (),
    ) -> None:
        # All but the last chunk go first; the last is written with the end, in its transaction.
        *leading, last = _points.chunks(metrics)
        for chunk in leading:
            self.log_metrics(run_id, chunk)
        body = {"status": str(status.value if isinstance(status, RunStatus) else status)}
        if last:
            body["metrics"] = _points.columns(last)  # type: ignore[assignment]
        self._http.request("POST", f"/runs/{url_segment(run_id)}/end", json=body, headers=once())

    def delete_run(self, run_id: str) -> None:
        self._http.request("DELETE", f"/runs/{url_segment(run_id)}")

    def purge_deleted_runs(self, *, dry_run: bool = False) -> int:
        answer = self._http.request("POST", "/runs/purge", params={"dry_run": dry_run})
        return int(answer.json()["purged"])

    # -- params and tags ---------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        if not params:
            return
        body = {"params": texts(params)}
        self._http.request("POST", f"/runs/{url_segment(run_id)}/params", json=body)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        body = {"tags": texts(tags)}
        self._http.request("PATCH", f"/runs/{url_segment(run_id)}/tags", json=body)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._http.request("DELETE", f"/runs/{url_segment(run_id)}/tags/{url_segment(key)}")

    # -- metrics -----------------------------------------------------------------------------

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        if not points:
            return
        path = f"/runs/{url_segment(run_id)}/metrics"
        for chunk in _points.chunks(points):
            # A fresh key per chunk: a retry of this request is answered, not stored again.
            self._http.request("POST", path, json=_points.columns(chunk), headers=once())

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        path = f"/runs/{url_segment(run_id)}/metrics"
        steps: list[int] = []
        values: list[float] = []
        stamps: list[int] = []
        token: str | None = None
        while True:
            page = self._http.request("GET", path, params=query(key=key, page_token=token))
            history = _HistoryPage.model_validate_json(page.content)
            steps.extend(history.steps)
            values.extend(history.values)
            stamps.extend(history.timestamps)
            token = history.next_page_token
            if token is None:
                return MetricHistory(
                    run_id=run_id, key=key, steps=steps, values=values, timestamps=stamps
                )

    # -- artifacts and inputs ----------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        files = files_to_log(local_path, artifact_path)
        if len(files) > 1:
            self.get_run(run_id)  # an unknown run fails before any upload
        return [self._upload(run_id, source, path) for source, path in files]

    def _upload(self, run_id: str, source: Path, path: str) -> ArtifactInfo:
        digest = hash_file(source)
        answer = self._http.request(
            "PUT",
            f"/runs/{url_segment(run_id)}/artifacts/{url_segment(path)}",
            headers={DIGEST_HEADER: digest, "Content-Type": "application/octet-stream"},
            content=lambda: open(source, "rb"),
        )
        return ArtifactInfo.model_validate_json(answer.content)

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        path = f"/runs/{url_segment(run_id)}/artifacts"
        found: list[ArtifactInfo] = []
        token: str | None = None
        while True:
            params = query(prefix=prefix or None, limit=_LIST_PAGE, page_token=token)
            page = _ArtifactPage.model_validate_json(
                self._http.request("GET", path, params=params).content
            )
            found.extend(page.artifacts)
            token = page.next_page_token
            if token is None:
                return found

    def download_artifacts(self, run_id: str, path: str, dest: str | Path) -> Path:
        requested = normalized(path)
        found = self.list_artifacts(run_id, requested or None)
        if not found:
            raise NotFound(
                f"run {run_id} has no artifact at {path!r}",
                details={"run_id": run_id, "path": path},
            )
        destination = Path(dest)
        single = len(found) == 1 and found[0].path == requested
        for item in found:
            target = download_target(requested, item.path, destination, single_file=single)
            self._download(run_id, item, target)
        return (
            destination / Path(requested).name if single and destination.is_dir() else destination
        )

    def _download(self, run_id: str, item: ArtifactInfo, target: Path) -> None:
        url = f"/runs/{url_segment(run_id)}/artifacts/{url_segment(item.path)}"
        source = f"artifact {item.path!r} of run {run_id}"
        fetch_verified(self._http, url, item.digest, target, source)

    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        body = {"inputs": [item.model_dump() for item in inputs]}
        self._http.request("POST", f"/runs/{url_segment(run_id)}/inputs", json=body)

    # -- search ------------------------------------------------------------------------------

    def search_runs(
        self,
        experiment_ids: Sequence[int] | None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        if experiment_ids is not None and not list(experiment_ids):
            return RunPage(runs=[])
        params = query(
            experiment_id=None if experiment_ids is None else [int(i) for i in experiment_ids],
            filter=filter,
            order_by=list(order_by) if order_by else None,
            limit=limit,
            page_token=page_token,
        )
        return RunPage.model_validate_json(
            self._http.request("GET", "/runs", params=params).content
        )


class _HistoryPage(MetricHistory):
    next_page_token: str | None = None


class _ArtifactPage(BaseModel):
    artifacts: list[ArtifactInfo]
    next_page_token: str | None = None
