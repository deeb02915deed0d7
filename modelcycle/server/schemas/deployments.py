"""Request bodies of the deployment endpoints (responses are the deployment service's records).

The bodies only bound what may travel (lengths, no NUL, no unknown field: a typo such as
``percnt`` is a 422 naming it). Whether a value makes sense — a percentage from 0 to 100,
increasing canary steps, an existing model version — is decided by ``DeploymentService``, the
one place those rules live, and answered as 400 (``InvalidInput``) or 404 (``NotFound``).
Percentages and rates take a number or the text the CLI accepts (``"10%"``, ``"1%"``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from modelcycle.server.schemas.tracking import NO_NUL
from modelcycle.serving._deploy_entities import Deployment, DeploymentRevision


def _text(max_length: int, min_length: int = 1) -> Any:
    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)
    ]


Target = _text(600)
"""A model URI: a model name (250) with an alias, a version or a stage."""
Number = float | _text(32)  # type: ignore[valid-type]
"""``10``, ``2.5`` or ``"10%"``: checked by the service's parsers."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeploymentCreate(_Body):
    name: _text(100)  # type: ignore[valid-type]
    model: Target  # type: ignore[valid-type]


class SplitBody(_Body):
    target: Target  # type: ignore[valid-type]
    percent: Number  # type: ignore[valid-type]
    sticky_header: _text(200) | None = None  # type: ignore[valid-type]


class ShadowBody(_Body):
    target: Target  # type: ignore[valid-type]
    remove: bool = False


class CanaryBody(_Body):
    target: Target  # type: ignore[valid-type]
    steps: Annotated[list[float], Field(max_length=100)] | _text(500) = "5,25,50,100"  # type: ignore[valid-type]
    interval_s: float = 300.0
    max_error_rate: Number | None = None  # type: ignore[valid-type]
    max_p99_ms: float | None = None
    min_requests: int = 100


class PromoteBody(_Body):
    target: Target | None = None  # type: ignore[valid-type]


class RollbackBody(_Body):
    revision: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class DeploymentPage(BaseModel):
    deployments: list[Deployment]
    next_page_token: str | None = None


class RevisionList(BaseModel):
    revisions: list[DeploymentRevision]
