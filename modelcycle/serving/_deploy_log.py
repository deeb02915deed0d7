"""The prediction log of a deployment: the app's listener writing to ``PredictionLogger``.

Answers the client received go to the deployment's own log (``deployment=NAME``); shadow
answers, which nobody received, to ``NAME.shadow`` (a name no deployment can take, since
deployment names have no dot), so the rows of ``NAME`` are exactly the requests served and a
shadow can be compared with the primary by request id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelcycle.serving._deploy_spec import NAME_LENGTH

if TYPE_CHECKING:
    from modelcycle.monitoring.entities import PredictionLogStats
    from modelcycle.monitoring.prediction_log import PredictionLogger
    from modelcycle.serving.app import PredictionEvent
    from modelcycle.store import Store

__all__ = ["DeploymentLog", "shadow_log_name"]

SHADOW_SUFFIX = ".shadow"


def shadow_log_name(deployment: str) -> str:
    """Where a deployment's shadow answers are logged."""
    return deployment[: NAME_LENGTH - len(SHADOW_SUFFIX)] + SHADOW_SUFFIX


class DeploymentLog:
    """A :class:`~modelcycle.serving.app.PredictionListener` for one deployment.

    ``log`` never blocks: the logger queues the event's arrays by reference; a full queue is
    counted by the logger, not raised.
    """

    def __init__(self, store: Store, deployment: str) -> None:
        from modelcycle.monitoring.prediction_log import PredictionLogger

        self._store = store
        self._deployment = deployment
        self.primary: PredictionLogger = PredictionLogger(store, deployment=deployment)
        self.shadow: PredictionLogger | None = None

    def __call__(self, event: PredictionEvent) -> None:
        logger = self.primary
        if event.shadow:
            if self.shadow is None:
                from modelcycle.monitoring.prediction_log import PredictionLogger

                self.shadow = PredictionLogger(
                    self._store, deployment=shadow_log_name(self._deployment)
                )
            logger = self.shadow
        logger.log(
            event.request_id,
            event.handle.name,
            event.handle.version,
            _inputs(event),
            event.predictions,
            latency_ms=event.latency_s * 1000.0,
            time_ms=int(event.timestamp * 1000),
        )

    def stats(self) -> list[PredictionLogStats]:
        """The counters of the deployment's log, and of its shadow log once one was needed;
        the app shows them on ``/metrics``."""
        loggers = [self.primary] if self.shadow is None else [self.primary, self.shadow]
        return [logger.stats() for logger in loggers]

    def close(self) -> None:
        """Write what is queued and stop the writers."""
        self.primary.close()
        if self.shadow is not None:
            self.shadow.close()


def _inputs(event: PredictionEvent) -> Any:
    """The request's rows as columns: the float array's columns by the signature's names (views,
    no copy), or the DataFrame the slow path built."""
    batch = event.batch
    if batch.array is None:
        return batch.frame
    names = event.handle.plan.names
    if len(names) != batch.array.shape[1]:
        names = [f"input_{i}" for i in range(batch.array.shape[1])]
    return {name: batch.array[:, i] for i, name in enumerate(names)}
