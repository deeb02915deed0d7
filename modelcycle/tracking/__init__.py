"""Experiment tracking: experiments → runs → (params, metrics by step, tags, artifacts, inputs).

``BaseTrackingService`` (``_base.py``) is the contract; ``TrackingService`` (``service.py``)
implements it over the store; ``ActiveRun`` (``run.py``) is the handle training code logs
through; the module-level SDK (``mc.start_run`` …) lives in ``_fluent.py``. The records in
``entities.py`` import only pydantic, so they are re-exported here eagerly; the service, which
pulls in SQLAlchemy, loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr
from modelcycle.tracking.entities import (
    ArtifactInfo,
    Experiment,
    ExperimentPage,
    MetricHistory,
    Run,
    RunInput,
    RunPage,
    RunStatus,
)

if TYPE_CHECKING:
    from modelcycle.tracking.run import ActiveRun
    from modelcycle.tracking.service import TrackingService

__all__ = [
    "ActiveRun",
    "ArtifactInfo",
    "Experiment",
    "ExperimentPage",
    "MetricHistory",
    "Run",
    "RunInput",
    "RunPage",
    "RunStatus",
    "TrackingService",
]

_LAZY = {
    "ActiveRun": "modelcycle.tracking.run:ActiveRun",
    "TrackingService": "modelcycle.tracking.service:TrackingService",
}


__getattr__ = lazy_getattr(__name__, _LAZY)
