"""``MonitoringService``: read the prediction log, attach labels, summarise it.

Reading never lists a directory: the ``prediction_files`` index names the files whose time span
meets the range, and only those are opened. Labels are joined in memory after the rows are read,
so a label that arrives a month late shows up on the next read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelcycle.errors import InvalidInput
from modelcycle.monitoring import _predlog_index, labels
from modelcycle.monitoring._predlog_files import PredictionFiles, check_deployment
from modelcycle.monitoring._times import TimeBound, check_range, to_ms

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modelcycle.store import Store

__all__ = ["MonitoringService"]

LOG_COLUMNS = (
    "request_id", "row", "time", "deployment", "model_name", "model_version", "latency_ms",
)  # fmt: skip
STATS_COLUMNS = (
    "deployment", "day", "files", "requests", "rows", "labelled_rows", "labelled_fraction",
    "first_time", "last_time", "model_versions",
)  # fmt: skip


class MonitoringService:
    """Monitoring over a :class:`~modelcycle.store.Store`.

    >>> service = MonitoringService(store)                                      # doctest: +SKIP
    >>> service.log_labels(["a1f3", "b2c4"], [1, 0], deployment="churn")        # doctest: +SKIP
    2
    >>> service.predictions("churn", since="2026-05-01").label.mean()           # doctest: +SKIP
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._files: PredictionFiles | None = None

    @property
    def store(self) -> Store:
        return self._store

    # -- labels -------------------------------------------------------------------------------

    def log_labels(self, ids: Any, values: Any, *, deployment: str | None = None) -> int:
        """Attach ground truth to logged predictions; a label given again replaces the old one.

        Args:
            ids: request ids (row 0, a one-row request), or ``(request_id, row)`` pairs.
            values: one label per id: a number, a string or a boolean.
            deployment: the deployment that served the requests; None labels the request id
                in whichever deployment served it.

        Returns:
            The number of labels stored (a pair given twice counts once, its last label kept).

        Raises:
            InvalidInput: empty or mismatched sequences, a bad id, row or label (named by its
                position), or a bad deployment name. Nothing is stored then.
        """
        checked = labels.check_labels(ids, values)
        return labels.upsert_labels(self._store, checked, deployment)

    # -- reading ------------------------------------------------------------------------------

    def predictions(
        self,
        deployment: str | None = None,
        since: TimeBound = None,
        until: TimeBound = None,
        with_labels: bool = True,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The logged prediction rows of ``deployment`` (all when None) in [since, until).

        Returns:
            One row per predicted row, oldest first: ``request_id``, ``row``, ``time`` (UTC),
            ``deployment``, ``model_name``, ``model_version``, ``latency_ms``, the input
            columns, ``prediction``, and ``label`` (missing: NaN/None) when ``with_labels``.

        Args:
            limit: keep the ``limit`` most recent rows (still returned oldest first); files
                wholly older than them are not read.

        Raises:
            InvalidInput: a bad deployment name, time bound or limit.
            NotFound: an indexed file is missing from the artifact root.
        """
        if deployment is not None:
            check_deployment(deployment)
        since_ms, until_ms = to_ms(since, "since"), to_ms(until, "until")
        check_range(since_ms, until_ms)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidInput(f"limit must be a positive integer, got {limit!r}")
        indexed = _predlog_index.load_files(
            self._store, deployment, since_ms, until_ms, newest_first=limit is not None
        )
        tables: list[pa.Table] = []
        newest = None if limit is None else _NewestTimes(limit)
        for entry in indexed:
            if newest is not None and newest.full and entry.max_time < newest.oldest:
                break  # this file and every later one is older than the rows kept
            table = _in_range(self.files.read(entry.path), since_ms, until_ms)
            tables.append(table)
            if newest is not None:
                newest.add(table)
        frame = _concat(tables)
        if frame is None or frame.empty:
            return _empty_frame(with_labels)
        frame = frame.sort_values(["time", "request_id", "row"], kind="stable", ignore_index=True)
        if limit is not None and len(frame) > limit:
            frame = frame.iloc[len(frame) - limit :].reset_index(drop=True)
        return self._join_labels(frame) if with_labels else frame

    def prediction_stats(
        self, deployment: str | None = None, since: TimeBound = None, until: TimeBound = None
    ) -> pd.DataFrame:
        """Per deployment and UTC day: files, requests, rows, labelled rows and fraction.

        Counts cover the indexed files whose time span meets [since, until); a day is counted
        whole unless a bound cuts through one of its files.

        Raises:
            InvalidInput: a bad deployment name or time bound.
        """
        import pandas as pd

        if deployment is not None:
            check_deployment(deployment)
        since_ms, until_ms = to_ms(since, "since"), to_ms(until, "until")
        check_range(since_ms, until_ms)
        indexed = _predlog_index.load_files(self._store, deployment, since_ms, until_ms)
        if not indexed:
            return pd.DataFrame({name: [] for name in STATS_COLUMNS})
        keys = [
            self.files.read(entry.path, ["request_id", "row", "deployment"]).to_pandas()
            for entry in indexed
        ]
        for frame, entry in zip(keys, indexed, strict=True):
            frame["day"] = entry.day
        labelled = self._join_labels(pd.concat(keys, ignore_index=True))
        labelled_rows = (
            labelled.assign(has=labelled["label"].notna())
            .groupby(["deployment", "day"])["has"]
            .sum()
        )
        summary = pd.DataFrame(
            {
                "deployment": [e.deployment for e in indexed],
                "day": [e.day for e in indexed],
                "requests": [e.requests for e in indexed],
                "rows": [e.rows for e in indexed],
                "first_time": [e.min_time for e in indexed],
                "last_time": [e.max_time for e in indexed],
                "model_versions": [
                    {f"{v['name']}:{v['version']}" for v in e.model_versions} for e in indexed
                ],
            }
        )
        grouped = summary.groupby(["deployment", "day"], sort=True).agg(
            files=("rows", "size"),
            requests=("requests", "sum"),
            rows=("rows", "sum"),
            first_time=("first_time", "min"),
            last_time=("last_time", "max"),
            model_versions=("model_versions", lambda sets: ",".join(sorted(set().union(*sets)))),
        )
        grouped["labelled_rows"] = labelled_rows.reindex(grouped.index, fill_value=0).astype(
            "int64"
        )
        grouped["labelled_fraction"] = grouped["labelled_rows"] / grouped["rows"]
        for column in ("first_time", "last_time"):
            grouped[column] = pd.to_datetime(grouped[column], unit="ms", utc=True)
        return grouped.reset_index()[list(STATS_COLUMNS)]

    # -- internals ----------------------------------------------------------------------------

    @property
    def files(self) -> PredictionFiles:
        if self._files is None:
            root = self._store.location.artifact_root
            if root is None:
                raise InvalidInput(
                    f"the store at {self._store.location.url} has no artifact root, so it holds "
                    "no prediction log; set MODELCYCLE_ARTIFACTS"
                )
            self._files = PredictionFiles(root)
        return self._files

    def _join_labels(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with a ``label`` column: the deployment's own label, else the label given
        for any deployment, else missing."""
        found = labels.lookup_labels(
            self._store,
            frame["request_id"].unique().tolist(),
            frame["deployment"].unique().tolist(),
        )
        if found.empty:
            return frame.assign(label=None)
        scoped = found["deployment"] != labels.ANY_DEPLOYMENT
        own = found[scoped].rename(columns={"label": "_own"})
        anywhere = found[~scoped].drop(columns="deployment").rename(columns={"label": "_any"})
        joined = frame.merge(own, on=["deployment", "request_id", "row"], how="left").merge(
            anywhere, on=["request_id", "row"], how="left"
        )
        joined["label"] = joined["_own"].combine_first(joined["_any"])
        return joined.drop(columns=["_own", "_any"])


def _in_range(table: pa.Table, since_ms: int | None, until_ms: int | None) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    stamp = pa.timestamp("ms", tz="UTC")
    if since_ms is not None:
        table = table.filter(pc.greater_equal(table["time"], pa.scalar(since_ms, stamp)))
    if until_ms is not None:
        table = table.filter(pc.less(table["time"], pa.scalar(until_ms, stamp)))
    return table


class _NewestTimes:
    """The times (ms) of the ``k`` most recent rows read so far. Each file's times are merged in
    once and only ``k`` are kept, so deciding where to stop costs O(rows read), not a pass over
    every row already read for each further file."""

    def __init__(self, k: int) -> None:
        import numpy as np

        self._k = k
        self._kept = np.empty(0, dtype=np.int64)

    def add(self, table: pa.Table) -> None:
        import numpy as np

        merged = np.concatenate([self._kept, table["time"].cast("int64").to_numpy()])
        if len(merged) > self._k:
            merged = np.partition(merged, len(merged) - self._k)[len(merged) - self._k :]
        self._kept = merged

    @property
    def full(self) -> bool:
        return len(self._kept) >= self._k

    @property
    def oldest(self) -> int:
        """The ``k``-th most recent time: a file wholly older adds nothing to the result."""
        return int(self._kept.min())


def _concat(tables: list[pa.Table]) -> pd.DataFrame | None:
    """One frame from files whose schemas may differ: Arrow's permissive promotion (a column a
    file lacks is null there, integers meeting floats become floats); when a column's types
    cannot be reconciled (a number in one file, a string or a list in another), pandas keeps
    each file's values as Python objects in that column."""
    import pyarrow as pa

    if not tables:
        return None
    try:
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        import pandas as pd

        return pd.concat([table.to_pandas() for table in tables], ignore_index=True)


def _empty_frame(with_labels: bool) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "request_id": pd.Series([], dtype="str"),
            "row": pd.Series([], dtype="int32"),
            "time": pd.Series([], dtype="datetime64[ms, UTC]"),
            "deployment": pd.Series([], dtype="str"),
            "model_name": pd.Series([], dtype="str"),
            "model_version": pd.Series([], dtype="str"),
            "latency_ms": pd.Series([], dtype="float64"),
            "prediction": pd.Series([], dtype="object"),
        }
    )
    return frame.assign(label=pd.Series([], dtype="object")) if with_labels else frame
