"""Frozen records the deployment service returns and ``modelcycle deploy --json`` prints.

Only pydantic here. Times are timezone-aware UTC datetimes; the store keeps milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelcycle.serving._deploy_spec import Routing

__all__ = [
    "CanaryProgress",
    "Deployment",
    "DeploymentRevision",
    "DeploymentStatus",
    "StepTraffic",
    "VersionTraffic",
]


class Deployment(BaseModel):
    """A deployment and its routing now."""

    model_config = ConfigDict(frozen=True)

    name: str
    revision: int
    routing: Routing
    created_by: str
    created_at: datetime
    updated_at: datetime


class DeploymentRevision(BaseModel):
    """One change of routing: what it became, what it replaced, who did it and why."""

    model_config = ConfigDict(frozen=True)

    revision: int
    previous: int | None
    """The revision whose routing this one replaced; a rollback returns to it."""
    action: str
    """create, split, shadow, canary, canary_step, canary_promote, canary_rollback, promote,
    rollback."""
    routing: Routing
    actor: str
    at: datetime
    details: dict[str, Any]


class StepTraffic(BaseModel):
    """What one version answered, added over every replica: a canary step's gate input."""

    model_config = ConfigDict(frozen=True)

    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    p99_ms: float | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


class VersionTraffic(BaseModel):
    """Live figures of one model version in one role, over ``status``'s window."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    role: str
    requests: int
    errors: int
    client_errors: int
    error_rate: float | None
    requests_per_s: float
    mean_ms: float | None
    p50_ms: float | None
    p99_ms: float | None


class CanaryProgress(BaseModel):
    """Where a running canary stands, judged on its current step's traffic."""

    model_config = ConfigDict(frozen=True)

    target: str
    step: int
    """From 1, as people count."""
    steps: tuple[float, ...]
    percent: float
    step_started_at: datetime
    step_ends_at: datetime
    traffic: StepTraffic
    min_requests: int
    max_error_rate: float | None
    max_p99_ms: float | None
    failing: list[str]
    """Gates the step's traffic breaks now (judged once it has ``min_requests``)."""


class DeploymentStatus(BaseModel):
    """A deployment's routing, the versions its targets resolve to, live traffic, history."""

    model_config = ConfigDict(frozen=True)

    deployment: Deployment
    resolved: dict[str, int]
    """Target URI → the version it names now (an alias may have moved)."""
    shares: list[dict[str, Any]]
    """``{"role", "target", "version", "percent"}`` per routed target, primary first."""
    window_s: float
    traffic: list[VersionTraffic]
    replicas: int
    """Serving processes that reported traffic in the window."""
    canary: CanaryProgress | None
    history: list[DeploymentRevision]
    """The newest revisions, newest first."""
