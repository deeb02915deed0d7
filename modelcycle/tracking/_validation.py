"""Checks on names and values before they reach the store, with messages that name the culprit.

They run on the caller's side of the metric buffer too, so a bad value fails at the
``log_metric`` call that passed it, not seconds later in a background flush.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from modelcycle.errors import InvalidInput
from modelcycle.store.tables.tracking import (
    KEY_LENGTH,
    PARAM_VALUE_LENGTH,
    TAG_VALUE_LENGTH,
)

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-./ :]+$")


def check_key(kind: str, key: object) -> str:
    """A metric, param or tag key: 1–250 of letters, digits, ``_ - . / : space``."""
    if not isinstance(key, str) or not key:
        raise InvalidInput(
            f"{kind} key must be a non-empty string, got {key!r}",
            details={"kind": kind, "key": repr(key)},
        )
    if len(key) > KEY_LENGTH:
        raise InvalidInput(
            f"{kind} key {key[:40]!r}… is {len(key)} characters; the limit is {KEY_LENGTH}",
            details={"kind": kind, "key": key[:KEY_LENGTH]},
        )
    if not _KEY_PATTERN.match(key):
        raise InvalidInput(
            f"{kind} key {key!r} has characters other than letters, digits, "
            "underscore, dash, dot, slash, colon and space",
            details={"kind": kind, "key": key},
        )
    return key


def check_name(kind: str, name: object) -> str:
    """An experiment or run name: any non-empty text up to 250 characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(
            f"{kind} name must be a non-empty string, got {name!r}", details={"kind": kind}
        )
    if len(name) > KEY_LENGTH:
        raise InvalidInput(
            f"{kind} name is {len(name)} characters; the limit is {KEY_LENGTH}",
            details={"kind": kind},
        )
    return name


def param_values(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as the strings they are stored as (MLflow's convention: params are text)."""
    checked: dict[str, str] = {}
    for key, value in params.items():
        check_key("param", key)
        text = str(value)
        if len(text) > PARAM_VALUE_LENGTH:
            raise InvalidInput(
                f"param {key!r} value is {len(text)} characters; the limit is "
                f"{PARAM_VALUE_LENGTH}. Log long values as an artifact instead.",
                details={"key": key},
            )
        checked[key] = text
    return checked


def tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in tags.items():
        check_key("tag", key)
        text = str(value)
        if len(text) > TAG_VALUE_LENGTH:
            raise InvalidInput(
                f"tag {key!r} value is {len(text)} characters; the limit is {TAG_VALUE_LENGTH}",
                details={"key": key},
            )
        checked[key] = text
    return checked


def metric_value(key: str, value: object) -> float:
    """A metric value as a float. Numbers of any kind (numpy too) pass; NaN and ±inf are kept."""
    if isinstance(value, numbers.Real):
        return float(value)
    raise InvalidInput(
        f"metric {key!r} must be a number, got {type(value).__name__} {value!r}",
        details={"key": key, "type": type(value).__name__},
    )


def metric_step(key: str, step: object) -> int:
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)
    raise InvalidInput(
        f"step of metric {key!r} must be an integer, got {step!r}", details={"key": key}
    )


def stored_metric_value(value: float) -> float | None:
    """NaN is stored as NULL: SQLite has no NaN, and NULL means nothing else in a value column."""
    return None if math.isnan(value) else value


def artifact_path(path: str) -> str:
    """A path inside a run's artifacts: relative, POSIX, never escaping the run."""
    if "\x00" in path or "\\" in path:
        raise InvalidInput(
            f"artifact path {path!r} contains a NUL or backslash", details={"path": path}
        )
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise InvalidInput(
            f"artifact path {path!r} must be relative and stay inside the run (no '..')",
            details={"path": path},
        )
    normalized = str(pure)
    return "" if normalized == "." else normalized
