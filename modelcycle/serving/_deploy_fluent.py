"""``mc.deployments``: route a deployment's traffic from Python, in-process or through a server.

    import modelcycle as mc

    mc.deployments.create("churn-prod", "models:/churn@champion")
    mc.deployments.split("churn-prod", "models:/churn/4", 10)       # A/B: 10 % to v4
    mc.deployments.rollback("churn-prod")                             # undo, as a new revision
    mc.deployments.status("churn-prod").traffic                       # live figures per version

Each call finds the platform from the settings in force, as ``mc.registry`` does: the HTTP client
(``HttpDeploymentService``, same methods) when ``MODELCYCLE_URI`` is ``http(s)://``, else the
service over the embedded store. Changes act as ``Settings.user`` (``MODELCYCLE_USER``), else the
operating-system user; a server records its token's user instead.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelcycle._internal.services import ServiceCache
from modelcycle.config import current_settings, is_server_uri
from modelcycle.registry._fluent import current_actor
from modelcycle.serving._deploy_spec import DEFAULT_MIN_REQUESTS

if TYPE_CHECKING:
    from modelcycle.serving._deploy_entities import (
        Deployment,
        DeploymentRevision,
        DeploymentStatus,
    )
    from modelcycle.serving.deployments import DeploymentService

__all__ = [
    "canary",
    "close_all",
    "create",
    "deployment_service",
    "get",
    "history",
    "list",
    "promote",
    "rollback",
    "shadow",
    "split",
    "status",
]

DEFAULT_WINDOW_S = 300.0


def _embedded() -> DeploymentService:
    from modelcycle.serving.deployments import deployment_service as over_current_store

    return over_current_store()


def _remote(url: str, token: str | None) -> DeploymentService:
    from modelcycle.client import HttpDeploymentService

    # The HTTP client has DeploymentService's methods, under the same names.
    return HttpDeploymentService(url, token=token)  # type: ignore[return-value]


_services: ServiceCache[DeploymentService] = ServiceCache(_embedded, _remote)


def deployment_service() -> DeploymentService:
    """The deployment service of the platform the current settings point at.

    Only server clients are kept here: the embedded service is asked of
    ``serving.deployments.deployment_service`` on every call, which rebuilds it when its store
    was closed and reopened (``close_all`` of another domain), where a cached one would hold a
    closed store.
    """
    if is_server_uri(current_settings().uri):
        return _services.current()
    return _embedded()


def close_all() -> None:
    """Close the server connections this module opened (tests, notebooks)."""
    _services.clear()


# -- reading ------------------------------------------------------------------------------------


def get(name: str) -> Deployment:
    """The deployment ``name`` and its routing now.

    Raises:
        NotFound: no such deployment.
    """
    return deployment_service().get(name)


def list(*, limit: int = 1000) -> builtins.list[Deployment]:
    """Deployments by name, at most ``limit`` (1 to 1000)."""
    return deployment_service().list_deployments(limit=limit)


def history(name: str, *, limit: int = 50) -> builtins.list[DeploymentRevision]:
    """The newest ``limit`` routing changes, newest first: who, when, what and why."""
    return deployment_service().history(name, limit=limit)


def status(name: str, *, window_s: float = DEFAULT_WINDOW_S) -> DeploymentStatus:
    """Routing, the version each target names now, live traffic per version over the last
    ``window_s`` seconds (every serving replica added), canary progress and recent history."""
    return deployment_service().status(name, window_s=window_s)


# -- changing the routing -----------------------------------------------------------------------


def create(name: str, model: str) -> Deployment:
    """Create deployment ``name`` sending all its traffic to ``model`` (revision 1).

    Args:
        name: lowercase letters, digits and '-', e.g. ``churn-prod``.
        model: ``models:/NAME@ALIAS`` (followed when the alias moves), ``models:/NAME/N`` or
            ``models:/NAME/STAGE``.

    Raises:
        InvalidInput: a malformed name or URI.
        NotFound: the model, version or alias does not exist.
        AlreadyExists: a deployment of that name exists.
    """
    return deployment_service().create(name, model, actor=current_actor())


def split(
    name: str, target: str, percent: float | str, *, sticky_header: str | None = None
) -> Deployment:
    """Send ``percent`` (0–100, or ``"10%"``) of the traffic to ``target``; 0 removes the split.

    With ``sticky_header``, a stable hash of that request header picks the target, so one user
    always meets the same version.

    Raises:
        InvalidInput: a bad percentage, the primary as target, splits over 100 %, or a canary
            in progress.
    """
    return deployment_service().split(
        name,
        target,
        percent,  # type: ignore[arg-type]  # the service parses "10%" as the CLI does
        sticky_header=sticky_header,
        actor=current_actor(),
    )


def shadow(name: str, target: str, *, remove: bool = False) -> Deployment:
    """Mirror every request to ``target`` too (answer discarded, never awaited); ``remove``
    stops mirroring."""
    return deployment_service().shadow(name, target, remove=remove, actor=current_actor())


def canary(
    name: str,
    target: str,
    *,
    steps: Sequence[float] | str = "5,25,50,100",
    interval_s: float = 300.0,
    max_error_rate: float | str | None = None,
    max_p99_ms: float | None = None,
    min_requests: int = DEFAULT_MIN_REQUESTS,
) -> Deployment:
    """Roll ``target`` out in steps of the traffic, each lasting ``interval_s`` while its gates
    hold (server-error rate at most ``max_error_rate``, p99 at most ``max_p99_ms``, judged once
    the step has ``min_requests``); promoted after the last step, rolled back by the serving
    processes the moment a gate fails.

    Raises:
        InvalidInput: bad steps, interval or gates; a canary or split in progress.
    """
    return deployment_service().canary(
        name,
        target,
        steps=steps,
        interval_s=interval_s,
        max_error_rate=max_error_rate,
        max_p99_ms=max_p99_ms,
        min_requests=min_requests,
        actor=current_actor(),
    )


def promote(name: str, *, target: str | None = None) -> Deployment:
    """Make the canary's or the split's target the primary (``target`` picks one of several
    splits)."""
    return deployment_service().promote(name, target=target, actor=current_actor())


def rollback(name: str, *, revision: int | None = None) -> Deployment:
    """Return to the routing before the current one (or ``revision``'s), as a new revision.

    Raises:
        InvalidInput: the deployment has no earlier routing.
        NotFound: no such deployment or revision.
    """
    return deployment_service().rollback(name, revision=revision, actor=current_actor())
