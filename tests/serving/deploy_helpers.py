"""Shared pieces of the deployment tests: registered versions, a fake clock, stub models."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelcycle.registry.service import RegistryService
from modelcycle.serving.deployments import DeploymentService
from modelcycle.store import Store
from tests.serving.conftest import Saved

ACTOR = "tester"
ROW = [40.0, 3.1, 2.0]
BODY = {"instances": [ROW]}


class Clock:
    """Milliseconds that move only when a test says so."""

    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


def register_versions(store: Store, saved: Saved, name: str = "churn", count: int = 3) -> None:
    """``count`` versions of ``name`` (the same files), alias ``champion`` → 1."""
    registry = RegistryService(store)
    for _ in range(count):
        registry.register_model_version(name, saved.path, created_by=ACTOR)
    registry.set_alias(name, "champion", 1, actor=ACTOR)


def service_for(store: Store, clock: Clock | None = None) -> DeploymentService:
    return DeploymentService(store, clock=clock or Clock())


class Answers:
    """A model answering its version number on the numeric path; ``fail`` makes it raise
    (an HTTP 500), as a broken canary would."""

    def __init__(self, saved: Saved, version: int, *, fail: bool = False) -> None:
        self.signature = saved.model.signature
        self.has_proba = False
        self.flavor = "test"
        self.version = version
        self.fail = fail

    def predict(self, data: Any) -> np.ndarray:
        raise AssertionError("the numeric path must be used")

    def predict_array(self, array: np.ndarray) -> np.ndarray:
        if self.fail:
            raise RuntimeError(f"version {self.version} is broken")
        return np.full(len(array), float(self.version))


def stub_loader(saved: Saved, failing: set[int] | None = None) -> Any:
    """A loader giving ``Answers`` models, recording what it loaded."""
    loaded: list[tuple[str, int]] = []

    def load(model: str, version: int) -> Answers:
        loaded.append((model, version))
        return Answers(saved, version, fail=version in (failing or set()))

    load.loaded = loaded  # type: ignore[attr-defined]
    return load
