"""A deployment's routing as data, and the checks every value passes before it is stored.

The routing document (``deployments.routing``)::

    {"primary": "models:/churn@champion",
     "splits": [{"target": "models:/churn/4", "percent": 10.0}],
     "sticky_header": "X-User-Id",
     "shadows": ["models:/churn/5"],
     "canary": {"target": "models:/churn/5", "steps": [5, 25, 50, 100], "step": 0,
                "step_started_at": 1764000000000, "interval_s": 300, "max_error_rate": 0.01,
                "max_p99_ms": 50, "min_requests": 100}}

Targets stay as written: an alias URI is resolved again by every serving process, so moving the
alias changes what is served. Percentages are kept to two decimals (basis points), the
granularity of the router's buckets.

The parsers (``parse_percent``, ``parse_steps``, ``parse_duration``, ``parse_rate``) turn what a
person types on the command line into these values, with an ``InvalidInput`` that names the
option and shows a valid example.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from modelcycle.errors import InvalidInput
from modelcycle.registry import parse_model_uri

__all__ = [
    "Canary",
    "Routing",
    "Split",
    "check_deployment_name",
    "check_target",
    "parse_duration",
    "parse_percent",
    "parse_rate",
    "parse_steps",
]

NAME_LENGTH: Final = 63
HEADER_LENGTH: Final = 128
MAX_SHADOWS: Final = 4
"""Each shadow scores every request again; more than a few would slow the server down."""
DEFAULT_MIN_REQUESTS: Final = 100

_NAME_RE: Final = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_HEADER_RE: Final = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_DURATION_RE: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class Split(BaseModel):
    """A share of the traffic sent to another target (A/B)."""

    model_config = ConfigDict(frozen=True)

    target: str
    percent: float


class Canary(BaseModel):
    """A rollout in steps: ``steps[step]`` percent of the traffic goes to ``target`` until the
    step's interval has passed with its gates holding on that step's traffic."""

    model_config = ConfigDict(frozen=True)

    target: str
    steps: tuple[float, ...]
    step: int = 0
    step_started_at: int
    """Milliseconds since the epoch when the current step began."""
    interval_s: float
    max_error_rate: float | None = None
    """Highest share of server errors (HTTP 5xx) among the step's requests, 0–1."""
    max_p99_ms: float | None = None
    min_requests: int = DEFAULT_MIN_REQUESTS
    """Requests the canary must answer in a step before its gates are judged."""

    @property
    def percent(self) -> float:
        return self.steps[self.step]


class Routing(BaseModel):
    """Where a deployment's traffic goes."""

    model_config = ConfigDict(frozen=True)

    primary: str
    splits: tuple[Split, ...] = ()
    sticky_header: str | None = None
    shadows: tuple[str, ...] = ()
    canary: Canary | None = None

    def shares(self) -> list[tuple[str, str, float]]:
        """``(role, target, percent)`` of every routed target but the primary, in bucket
        order: a canary first, so a sticky key inside 5 % stays inside 25 %."""
        found: list[tuple[str, str, float]] = []
        if self.canary is not None:
            found.append(("canary", self.canary.target, self.canary.percent))
        found.extend(("split", s.target, s.percent) for s in self.splits)
        return found

    def primary_percent(self) -> float:
        return round(100.0 - sum(p for _, _, p in self.shares()), 2)

    def targets(self) -> list[str]:
        """Every target this routing needs loaded, primary first, without repeats."""
        every = [self.primary, *(t for _, t, _ in self.shares()), *self.shadows]
        return list(dict.fromkeys(every))

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def check_deployment_name(name: str) -> str:
    """Return ``name`` if it can name a deployment: lowercase, DNS-label-like (a Kubernetes
    service can carry it), at most 63 characters."""
    if not isinstance(name, str) or len(name) > NAME_LENGTH or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid deployment name {name!r}: use 1 to {NAME_LENGTH} lowercase letters, "
            "digits or '-' (not first or last), e.g. 'churn-prod'",
            details={"name": name},
        )
    return name


def check_target(uri: str) -> str:
    """Return ``uri`` if a deployment can route to it: a registered version, alias or stage.

    Raises:
        InvalidInput: a malformed URI or a ``runs:/`` URI (a deployment serves registered
            versions, whose digests the registry keeps).
    """
    parsed = parse_model_uri(uri)
    if parsed.kind == "run":
        raise InvalidInput(
            f"{uri!r} names a run's files; a deployment routes to registered versions: "
            "models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/STAGE",
            details={"uri": uri},
        )
    return uri


def check_header(header: str) -> str:
    if (
        not isinstance(header, str)
        or len(header) > HEADER_LENGTH
        or not _HEADER_RE.fullmatch(header)
    ):
        raise InvalidInput(
            f"invalid sticky header {header!r}: an HTTP header name such as 'X-User-Id'",
            details={"header": header},
        )
    return header


def parse_percent(value: str | float, option: str = "--percent") -> float:
    """``10``, ``10%``, ``2.5`` → a percentage in [0, 100], rounded to two decimals."""
    text = str(value).strip().removesuffix("%").strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= number <= 100:
        raise InvalidInput(
            f"{option} must be a percentage from 0 to 100 (e.g. 10 or 2.5%), got {value!r}",
            details={"option": option, "value": str(value)},
        )
    return round(number, 2)


def parse_steps(value: str | list[float] | tuple[float, ...]) -> tuple[float, ...]:
    """``"5,25,50,100"`` → ``(5.0, 25.0, 50.0, 100.0)``: increasing percentages above 0."""
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        steps = tuple(parse_percent(item, "--steps") for item in items)
    except InvalidInput:
        steps = ()
    if (
        not steps
        or steps[0] <= 0
        or any(b <= a for a, b in zip(steps, steps[1:], strict=False))
        or len(steps) > 20
    ):
        raise InvalidInput(
            f"--steps must be 1 to 20 increasing percentages above 0 and at most 100, "
            f"e.g. 5,25,50,100; got {value!r}",
            details={"option": "--steps", "value": str(value)},
        )
    return steps


def parse_duration(value: str | float, option: str = "--interval") -> float:
    """``"5m"``, ``"30s"``, ``"1h"``, ``"250ms"``, ``"90"`` (seconds) → seconds, above 0."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION_RE.fullmatch(str(value))
        seconds = (
            float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"] if match else math.nan
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInput(
            f"{option} must be a positive duration such as 30s, 5m, 1h or 250ms; got {value!r}",
            details={"option": option, "value": str(value)},
        )
    return seconds


def parse_rate(value: str | float, option: str = "--max-error-rate") -> float:
    """``"1%"`` → 0.01; a bare number is a fraction from 0 to 1 (``0.01``)."""
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= number <= 1:
        raise InvalidInput(
            f"{option} must be a percentage (1%) or a fraction from 0 to 1 (0.01); got {value!r}",
            details={"option": option, "value": str(value)},
        )
    return number


def parse_positive(value: float, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{option} must be a number, got {value!r}", details={"option": option})
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{option} must be above 0, got {value!r}", details={"option": option})
    return float(value)
