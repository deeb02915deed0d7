"""What a request is scored by: a :class:`ModelHandle`, chosen by a :class:`ModelRouter`.

A handle is one loaded model version with everything the request path needs precomputed (its
input plan, its metric recorders), and is never changed after it is built. The app asks its
router for a handle once per request and keeps that object until the answer is sent, so a router
that swaps in another version (a deployment's split, canary step or rollback) does so by
replacing one reference: requests already in flight finish on the handle they started with, and
no request ever sees half of a change.

:class:`StaticRouter` serves one version; deployment strategies implement the same protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from modelcycle.errors import InvalidInput, ModelcycleError
from modelcycle.serving._schema import InputPlan
from modelcycle.serving._tabular import Batch
from modelcycle.serving.metrics import ServingMetrics, VersionMetrics

__all__ = [
    "ModelHandle",
    "ModelRouter",
    "ServedModel",
    "StaticRouter",
    "TrafficRecorder",
    "UNVERSIONED",
]

UNVERSIONED = "unversioned"
"""The version label of a model served from a directory rather than from the registry."""

_log = logging.getLogger("modelcycle.serving")


@runtime_checkable
class ServedModel(Protocol):
    """What the server needs of a loaded model: ``registry.model_format.LoadedModel``."""

    @property
    def signature(self) -> Any: ...

    @property
    def has_proba(self) -> bool: ...

    @property
    def flavor(self) -> str: ...

    def predict(self, data: Any) -> np.ndarray: ...

    def predict_array(self, array: np.ndarray) -> np.ndarray: ...


class TrafficRecorder(Protocol):
    """Counts the requests a handle answers for a deployment (its canary gates and ``status``);
    called on the event loop, so it must only add to counters."""

    def record(self, status: int, seconds: float) -> None: ...


@dataclass(frozen=True, eq=False)
class ModelHandle:
    """One loaded model version, ready to score batches. Immutable: swap handles, not fields."""

    model: ServedModel
    name: str
    version: str
    plan: InputPlan
    metrics: VersionMetrics
    classification: bool
    extra: dict[str, Any] = field(default_factory=dict)
    """Room for a deployment's own per-version state (e.g. its traffic share)."""
    traffic: TrafficRecorder | None = None
    """A deployment's counter of this version's requests under one routing revision."""
    shadows: tuple[ModelHandle, ...] = ()
    """Handles every request answered by this one is mirrored to, in the background; their
    answers are discarded. A deployment builds a new handle per routing revision, so a request
    keeps the shadows of the routing that chose its handle."""

    @classmethod
    def build(
        cls, model: ServedModel, *, name: str, version: str | None, metrics: ServingMetrics
    ) -> ModelHandle:
        """Read the signature once and bind the metric recorders of this name and version."""
        label = version or UNVERSIONED
        return cls(
            model=model,
            name=name,
            version=label,
            plan=InputPlan.from_signature(model.signature),
            metrics=metrics.for_version(name, label),
            classification=bool(model.has_proba),
        )

    def record(self, endpoint: str, status: int, seconds: float, code: str | None = None) -> None:
        """Count one answered request: in the Prometheus metrics and, for a deployment, in
        this version's traffic (``code`` is the error class name when it failed)."""
        self.metrics.request(endpoint, status, seconds, code)
        if self.traffic is not None:
            self.traffic.record(status, seconds)

    def predict(self, batch: Batch) -> np.ndarray:
        """Score ``batch``: the float array through ``predict_array``, a frame through ``predict``.

        Raises:
            InvalidInput: the model or its signature refused the input (sklearn's ``ValueError``
                on NaN, a wrong type found by the signature, ...).
            ModelcycleError: the model failed for another reason (HTTP 500); logged with its
                traceback, since that is a bug in the model or the server, not in the request.
        """
        try:
            if batch.array is not None:
                result = self.model.predict_array(batch.array)
            else:
                result = self.model.predict(batch.frame)
        except ModelcycleError:
            raise
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"the model refused the input: {exc}") from exc
        except Exception as exc:
            _log.exception("model %s version %s failed to predict", self.name, self.version)
            raise ModelcycleError(
                f"model {self.name!r} version {self.version} failed to predict: "
                f"{type(exc).__name__}: {exc}",
                details={"model": self.name, "version": self.version},
            ) from exc
        return np.asarray(result)


class ModelRouter(Protocol):
    """Chooses the handle that scores a request.

    The app calls :meth:`route` once per request and keeps the handle to the end of it. An
    implementation must make every change of routing a single reference swap (or take a lock it
    never holds across an ``await``), so concurrent requests see the old routing or the new one,
    never a mix.
    """

    @property
    def name(self) -> str:
        """The model name clients address (``/v2/models/{name}``)."""
        ...

    def route(self, request: Any) -> ModelHandle:
        """The handle for ``request`` (a Starlette ``Request``; its headers carry a sticky key)."""
        ...

    def handles(self) -> Sequence[ModelHandle]:
        """Every handle that may currently be routed to, primary first."""
        ...


class StaticRouter:
    """Every request goes to one handle; :meth:`swap` replaces it atomically."""

    def __init__(self, handle: ModelHandle) -> None:
        self._handle = handle

    @property
    def name(self) -> str:
        return self._handle.name

    def route(self, request: Any) -> ModelHandle:
        return self._handle

    def handles(self) -> Sequence[ModelHandle]:
        return (self._handle,)

    def swap(self, handle: ModelHandle) -> ModelHandle:
        """Serve ``handle`` from the next request on and return the one it replaces; requests
        in flight finish on the old one."""
        previous, self._handle = self._handle, handle
        return previous
