"""``HttpDeploymentService``: the deployment service's methods over a modelcycle server.

Same method names, arguments and return types as :class:`~modelcycle.serving.deployments.
DeploymentService` for what people do (create, split, shadow, canary, promote, rollback, get,
list_deployments, history, status), so ``mc.deployments.*`` and ``modelcycle deploy …`` run
unchanged when ``MODELCYCLE_URI`` is ``http(s)://``. What serving processes do (poll revisions,
report traffic, step canaries) needs the store itself and is not offered here.

``actor`` is sent as a hint only: the server records the user of the API token (a server run
with ``--no-auth`` honours the hint). Changes are POSTs without an idempotency key, so a change
whose answer is lost is never re-sent: a rollback applied twice would walk back two revisions.

>>> service = HttpDeploymentService("http://127.0.0.1:5000", token="mct_…")  # doctest: +SKIP
>>> service.split("churn-prod", "models:/churn/4", 10, actor="ana").revision  # doctest: +SKIP
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelcycle.client._artifacts import url_segment
from modelcycle.client._http import HttpService
from modelcycle.client.registry import _acting
from modelcycle.serving._deploy_entities import Deployment, DeploymentRevision, DeploymentStatus
from modelcycle.serving._deploy_spec import DEFAULT_MIN_REQUESTS, check_deployment_name

DEFAULT_WINDOW_S = 300.0
MAX_LIST = 1000


class HttpDeploymentService(HttpService):
    """Deployments through ``modelcycle server``."""

    # -- reading ---------------------------------------------------------------------------------

    def get(self, name: str) -> Deployment:
        return Deployment.model_validate_json(self._get(_path(name)))

    def list_deployments(self, *, limit: int = MAX_LIST) -> list[Deployment]:
        """Deployments by name, at most ``limit`` (the server refuses more than 1000)."""
        page = self._http.request("GET", "/deployments", params={"limit": limit}).json()
        return [Deployment.model_validate(item) for item in page["deployments"]]

    def history(self, name: str, *, limit: int = 50) -> list[DeploymentRevision]:
        answer = self._http.request("GET", f"{_path(name)}/history", params={"limit": limit})
        return [DeploymentRevision.model_validate(item) for item in answer.json()["revisions"]]

    def status(self, name: str, *, window_s: float = DEFAULT_WINDOW_S) -> DeploymentStatus:
        answer = self._get(f"{_path(name)}/status", {"window_s": window_s})
        return DeploymentStatus.model_validate_json(answer)

    # -- changing the routing --------------------------------------------------------------------

    def create(self, name: str, model: str, *, actor: str | None = None) -> Deployment:
        return self._post("/deployments", {"name": name, "model": model}, actor)

    def split(
        self,
        name: str,
        target: str,
        percent: float | str,
        *,
        sticky_header: str | None = None,
        actor: str | None = None,
    ) -> Deployment:
        body = {"target": target, "percent": percent, "sticky_header": sticky_header}
        return self._post(f"{_path(name)}/split", body, actor)

    def shadow(
        self, name: str, target: str, *, remove: bool = False, actor: str | None = None
    ) -> Deployment:
        return self._post(f"{_path(name)}/shadow", {"target": target, "remove": remove}, actor)

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
        actor: str | None = None,
    ) -> Deployment:
        body = {
            "target": target,
            "steps": steps if isinstance(steps, str) else [float(s) for s in steps],
            "interval_s": interval_s,
            "max_error_rate": max_error_rate,
            "max_p99_ms": max_p99_ms,
            "min_requests": min_requests,
        }
        return self._post(f"{_path(name)}/canary", body, actor)

    def promote(
        self, name: str, *, target: str | None = None, actor: str | None = None
    ) -> Deployment:
        return self._post(f"{_path(name)}/promote", {"target": target}, actor)

    def rollback(
        self, name: str, *, revision: int | None = None, actor: str | None = None
    ) -> Deployment:
        return self._post(f"{_path(name)}/rollback", {"revision": revision}, actor)

    def _post(self, path: str, body: Mapping[str, Any], actor: str | None) -> Deployment:
        answer = self._http.request("POST", path, json=dict(body), headers=_acting(actor))
        return Deployment.model_validate_json(answer.content)


def _path(name: str) -> str:
    """The deployment's URL; a malformed name is refused here, by the service's own rule, since
    an empty one would address the list instead."""
    check_deployment_name(name)
    return f"/deployments/{url_segment(name)}"
