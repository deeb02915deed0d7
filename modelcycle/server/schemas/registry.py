"""Request bodies of the model-registry endpoints (responses are the registry's records).

A version is registered in two steps so that no request ever carries a whole model: each file is
first uploaded on its own as a content-addressed blob (``PUT /models/{name}/blobs/{digest}``,
streamed and re-hashed), then :class:`VersionCreate` lists the files by path and digest. Lengths
mirror the store's columns, so an oversized value is a 422 naming the field.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from modelcycle.registry.entities import (
    ModelDatasetRef,
    ModelEvaluation,
    ModelFile,
    ModelPolicy,
    RegistryEvent,
    Stage,
    TransitionRequest,
)
from modelcycle.server.schemas.tracking import NO_NUL, Key, TagValue

MAX_FILES = 10_000
"""Files in one model directory: far above any flavor's few, low enough to bound a request."""


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)
    ]


Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Description = _text(20_000)
Comment = _text(2_000)
RunId = _text(32, 1)
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
MAX_JSON_DEPTH = 32


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelCreate(_Body):
    name: _text(250, 1)  # type: ignore[valid-type]
    description: Description | None = None  # type: ignore[valid-type]
    tags: dict[Key, TagValue] = Field(default_factory=dict)


class ModelUpdate(_Body):
    """What may change about a model or a version; fields left out stay as they are."""

    description: Description | None = None  # type: ignore[valid-type]
    tags: dict[Key, TagValue] = Field(default_factory=dict)


class VersionFile(_Body):
    """One file of the model directory, already uploaded as the blob ``digest``."""

    path: _text(1024, 1)  # type: ignore[valid-type]
    digest: Digest
    size: Annotated[int, Field(ge=0)]


class DatasetRefBody(_Body):
    dataset: _text(250, 1)  # type: ignore[valid-type]
    version: _text(64, 1)  # type: ignore[valid-type]
    role: _text(32, 1)  # type: ignore[valid-type]

    def record(self) -> ModelDatasetRef:
        return ModelDatasetRef(dataset=self.dataset, version=self.version, role=self.role)


class VersionCreate(_Body):
    """Register the uploaded files as the model's next version.

    ``datasets`` and ``code_commit`` default to the run's inputs and commit, as in the SDK.
    """

    files: Annotated[list[VersionFile], Field(min_length=1, max_length=MAX_FILES)]
    run_id: RunId | None = None  # type: ignore[valid-type]
    datasets: list[DatasetRefBody] | None = None
    code_commit: _text(64) | None = None  # type: ignore[valid-type]
    description: Description | None = None  # type: ignore[valid-type]
    tags: dict[Key, TagValue] = Field(default_factory=dict)


class DigestList(_Body):
    digests: Annotated[list[Digest], Field(max_length=MAX_FILES)]


class MissingBlobs(BaseModel):
    """The digests the server does not hold yet: only these need uploading."""

    missing: list[str]


class AliasSet(_Body):
    version: Version


class TransitionCreate(_Body):
    stage: Stage
    comment: Comment | None = None  # type: ignore[valid-type]


class Decision(_Body):
    comment: Comment | None = None  # type: ignore[valid-type]


class EvaluationCreate(_Body):
    """An evaluation computed by the client (``mc.evaluate``): flat finite metrics, which gates
    read, and the full result as JSON."""

    metrics: dict[Key, FiniteFloat]
    result: dict[str, Any] = Field(default_factory=dict)
    run_id: RunId | None = None  # type: ignore[valid-type]
    dataset: _text(250) | None = None  # type: ignore[valid-type]

    @field_validator("result")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_json(value, "result", 0)
        return value


class PolicySet(_Body):
    """A model's promotion rules (:class:`~modelcycle.registry.entities.ModelPolicy`)."""

    require_approval: bool = True
    gates: Annotated[list[_text(500, 1)], Field(max_length=100)] = Field(  # type: ignore[valid-type]
        default_factory=list
    )
    archive_previous: bool = True

    def record(self) -> ModelPolicy:
        return ModelPolicy(
            require_approval=self.require_approval,
            gates=tuple(self.gates),
            archive_previous=self.archive_previous,
        )


def _check_json(value: Any, where: str, depth: int) -> None:
    """Refuse what a JSON column cannot keep: PostgreSQL's jsonb holds no NUL character, and a
    nesting deeper than any evaluation result is a malformed body rather than data."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{where} is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where} holds a NUL character, which cannot be stored")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, where, depth + 1)
            _check_json(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]", depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} holds {value}, which JSON cannot carry")


class FileList(BaseModel):
    files: list[ModelFile]


class EventPage(BaseModel):
    events: list[RegistryEvent]
    next_page_token: str | None = None


class RequestList(BaseModel):
    requests: list[TransitionRequest]


class EvaluationList(BaseModel):
    evaluations: list[ModelEvaluation]


class GateList(BaseModel):
    gates: list[dict[str, Any]]
