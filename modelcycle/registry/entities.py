"""Frozen records the registry service returns, the server sends and the client parses.

Only pydantic and the standard library here, so ``modelcycle.client`` can import these without
SQLAlchemy. Times are timezone-aware UTC datetimes; the store keeps integer milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ModelDatasetRef",
    "ModelEvaluation",
    "ModelFile",
    "ModelPolicy",
    "ModelVersion",
    "ModelVersionPage",
    "RegisteredModel",
    "RegisteredModelPage",
    "RegistryEvent",
    "RequestStatus",
    "Stage",
    "TransitionRequest",
]


class Stage(StrEnum):
    """Where a version is in its life: ``none → staging → production → archived``."""

    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


class RequestStatus(StrEnum):
    """A transition request waits (``pending``) until it is ``approved`` and ``applied`` in one
    step, or ``rejected``; a request that needs no approval is ``applied`` at once."""

    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelPolicy(_Record):
    """The rules a version must meet to enter production.

    Attributes:
        require_approval: a promotion to production waits for someone other than the requester.
        gates: conditions on the version's metrics, ``"auc >= 0.85"`` or ``"auc >= champion"``
            (no worse than the current champion), checked at request and again at approval.
        archive_previous: entering production archives the version that was there.
    """

    require_approval: bool = True
    gates: tuple[str, ...] = ()
    archive_previous: bool = True


class ModelDatasetRef(_Record):
    """A dataset version a model version was trained or validated on (``name@version``)."""

    dataset: str
    version: str
    role: str

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"


class ModelFile(_Record):
    """One file of a version's model directory: its path, blake3 digest and size in bytes."""

    path: str
    digest: str
    size: int


class ModelVersion(_Record):
    """One immutable, numbered version of a registered model, and where it came from."""

    name: str
    version: int
    stage: Stage = Stage.NONE
    status: str = "READY"
    flavor: str
    manifest_digest: str
    """blake3 of the version's ``model.json``, which names the digest of every other file."""
    run_id: str | None = None
    code_commit: str | None = None
    signature: dict[str, Any] | None = None
    description: str | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    datasets: tuple[ModelDatasetRef, ...] = ()

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``, which ``load`` and ``modelcycle serve`` accept."""
        return f"models:/{self.name}/{self.version}"


class RegisteredModel(_Record):
    """A named model: its versions' summary, aliases, tags and promotion policy."""

    name: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    latest_version: int | None = None
    production_version: int | None = None
    aliases: dict[str, int] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    policy: ModelPolicy | None = None


class TransitionRequest(_Record):
    """A request to move a version to another stage, and its outcome."""

    id: int
    name: str
    version: int
    from_stage: Stage
    to_stage: Stage
    status: RequestStatus
    requested_by: str
    comment: str | None = None
    created_at: datetime
    decided_by: str | None = None
    decision_comment: str | None = None
    decided_at: datetime | None = None


class RegistryEvent(_Record):
    """One entry of a model's history: who did what, when, to which version.

    ``kind`` is one of ``version_registered``, ``alias_set``, ``alias_deleted``,
    ``transition_requested``, ``transition_approved``, ``transition_rejected``,
    ``stage_changed``, ``policy_set``, ``evaluation_attached``.
    """

    id: int
    name: str
    version: int | None = None
    kind: str
    actor: str
    at: datetime
    details: dict[str, Any] = Field(default_factory=dict)


class ModelEvaluation(_Record):
    """An evaluation attached to a version: flat metrics (what gates read) and the full result."""

    id: int
    name: str
    version: int
    run_id: str | None = None
    dataset: str | None = None
    metrics: dict[str, float]
    result: dict[str, Any]
    created_by: str | None = None
    created_at: datetime


class RegisteredModelPage(_Record):
    models: list[RegisteredModel]
    next_page_token: str | None = None


class ModelVersionPage(_Record):
    versions: list[ModelVersion]
    next_page_token: str | None = None
