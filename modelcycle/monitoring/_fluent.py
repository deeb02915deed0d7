"""The module-level SDK: ``mc.monitoring.log_labels``, ``predictions``, ``prediction_stats``.

Each call finds the platform from the settings in force (``MODELCYCLE_URI``, or a
``config_context`` override), as ``mc.data.add`` does, and keeps one service per location for the
life of the process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelcycle._internal.services import ServiceCache

if TYPE_CHECKING:
    import pandas as pd

    from modelcycle.monitoring._times import TimeBound
    from modelcycle.monitoring.service import MonitoringService


def _embedded() -> MonitoringService:
    from modelcycle.monitoring.service import MonitoringService
    from modelcycle.store import current_store

    return MonitoringService(current_store())


_services: ServiceCache[MonitoringService] = ServiceCache(_embedded)


def monitoring_service() -> MonitoringService:
    """The monitoring service of the platform the current settings point at (a store: the
    server has no monitoring API yet, and a server URI is refused with a message saying so)."""
    return _services.current()


def close_all() -> None:
    """Forget the services and close every store this process opened (tests, notebooks)."""
    from modelcycle.store import close_current_stores

    _services.clear()
    close_current_stores()


def log_labels(ids: Any, labels: Any, *, deployment: str | None = None) -> int:
    """Attach ground truth that arrived after the predictions.

    Args:
        ids: request ids (the ``X-Request-Id`` each answer carried) for one-row requests, or
            ``(request_id, row)`` pairs; a list, an array or a Series.
        labels: one label per id: a number, a string or a boolean.
        deployment: the deployment that served them; None matches the request id in any.

    Returns:
        The number of labels stored. Labelling a row again replaces its label.

    Raises:
        InvalidInput: empty or mismatched ``ids``/``labels``, a bad id, row or label (named by
            position); nothing is stored then.

    >>> import modelcycle as mc
    >>> mc.monitoring.log_labels(["7f3a", ("9c1e", 2)], [1, 0])  # doctest: +SKIP
    2
    """
    return monitoring_service().log_labels(ids, labels, deployment=deployment)


def predictions(
    deployment: str | None = None,
    since: TimeBound = None,
    until: TimeBound = None,
    with_labels: bool = True,
    limit: int | None = None,
) -> pd.DataFrame:
    """The logged predictions in [since, until), oldest first, with their labels.

    Args:
        deployment: one deployment, or None for all.
        since, until: datetimes (naive means UTC), dates, ISO 8601 strings or epoch ms.
        with_labels: add the ``label`` column (missing where no label arrived yet).
        limit: only the ``limit`` most recent rows.

    Returns:
        A DataFrame: ``request_id``, ``row``, ``time``, ``deployment``, ``model_name``,
        ``model_version``, ``latency_ms``, the input columns, ``prediction`` [, ``label``].

    Raises:
        InvalidInput: a bad deployment name, time bound or limit.

    >>> mc.monitoring.predictions("churn", since="2026-05-01", limit=1000)  # doctest: +SKIP
    """
    return monitoring_service().predictions(deployment, since, until, with_labels, limit)


def prediction_stats(
    deployment: str | None = None, since: TimeBound = None, until: TimeBound = None
) -> pd.DataFrame:
    """Per deployment and UTC day: files, requests, rows, labelled rows and labelled fraction."""
    return monitoring_service().prediction_stats(deployment, since, until)
