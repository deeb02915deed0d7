"""Request bodies of the tracking endpoints.

Lengths mirror the store's columns, so an oversized value is a 422 naming the field rather than
a database error, and the OpenAPI schema tells clients the limits. Metric points travel as
columns (``keys``, ``values``, ``steps``, ``timestamps``): a batch of 100,000 points is four
JSON arrays, not 100,000 objects. A value that is NaN or ±inf is sent as the string ``"NaN"``,
``"Infinity"`` or ``"-Infinity"``, since JSON has no such numbers.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from modelcycle.tracking.entities import RunInput, RunStatus

KEY_LENGTH = 250
RUN_ID_LENGTH = 32
PARAM_VALUE_LENGTH = 6000
TAG_VALUE_LENGTH = 8000

NO_NUL = r"^[^\x00]*$"
"""PostgreSQL text cannot hold NUL: refused here, as a 422, rather than by the driver."""


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)
    ]


Key = _text(KEY_LENGTH, 1)
Name = _text(KEY_LENGTH, 1)
RunId = _text(RUN_ID_LENGTH, 1)
ParamValue = _text(PARAM_VALUE_LENGTH)
TagValue = _text(TAG_VALUE_LENGTH)
# A metric value: a JSON number, or one of the three strings for what JSON cannot write.
MetricValue = float
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExperimentCreate(_Body):
    name: Name
    tags: dict[Key, TagValue] = Field(default_factory=dict)


class ExperimentUpdate(_Body):
    """A rename: the experiment's new name."""

    name: Name


class RunCreate(_Body):
    experiment_id: Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
    name: Name | None = None
    params: dict[Key, ParamValue] = Field(default_factory=dict)
    tags: dict[Key, TagValue] = Field(default_factory=dict)
    parent_run_id: RunId | None = None
    environment: dict[str, Any] = Field(default_factory=dict)


class MetricsBatch(_Body):
    """Metric points as four columns of equal length."""

    keys: list[Key]
    values: list[MetricValue]
    steps: list[Int64]
    timestamps: list[Int64]

    @model_validator(mode="after")
    def _same_lengths(self) -> MetricsBatch:
        lengths = {len(self.keys), len(self.values), len(self.steps), len(self.timestamps)}
        if len(lengths) != 1:
            raise ValueError(
                "keys, values, steps and timestamps must have the same length, got "
                f"{len(self.keys)}, {len(self.values)}, {len(self.steps)}, {len(self.timestamps)}"
            )
        return self

    def points(self) -> list[tuple[str, float, int, int]]:
        return list(zip(self.keys, self.values, self.steps, self.timestamps, strict=True))

    def __len__(self) -> int:
        return len(self.keys)


class RunEnd(_Body):
    status: RunStatus = RunStatus.FINISHED
    metrics: MetricsBatch | None = None


class ParamsUpdate(_Body):
    params: dict[Key, ParamValue]


class TagsUpdate(_Body):
    tags: dict[Key, TagValue]


class RunInputBody(_Body):
    """A dataset version the run read (``RunInput``), with the store's length limits."""

    dataset: Name
    version: _text(64, 1)  # type: ignore[valid-type]
    role: _text(32, 1)  # type: ignore[valid-type]
    digest: _text(64) | None = None  # type: ignore[valid-type]

    def record(self) -> RunInput:
        return RunInput(
            dataset=self.dataset, version=self.version, role=self.role, digest=self.digest
        )


class InputsCreate(_Body):
    inputs: list[RunInputBody]


class PurgeResult(BaseModel):
    purged: int
    dry_run: bool
