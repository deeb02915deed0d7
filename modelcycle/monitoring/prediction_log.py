"""``PredictionLogger``: every served prediction, written in batches off the request path.

The map::

    log(request_id, model, version, inputs, outputs, latency_ms)      request path: no I/O
        │  checks row counts, appends a reference to a bounded queue (full → False, counted)
        ▼
    writer thread ── every ``batch_rows`` rows or ``flush_interval_s`` seconds, or on flush()
        │  groups by UTC day and input shape → Arrow tables (one call per column)
        ├─ Parquet: <root>/predictions/deployment=D/day=YYYY-MM-DD/part-<uuid>.parquet
        └─ store: one ``prediction_files`` row per file, one transaction per batch
           a failed write or index is retried once, then its rows are counted as failed

Nothing is dropped silently: ``stats()`` counts rows accepted, written, dropped (queue full,
logger closed) and failed (write or index failed twice, or values Arrow cannot type), and every
accepted row ends written or failed.
"""

from __future__ import annotations

import atexit
import collections
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from modelcycle._internal.clock import now_ms
from modelcycle.config import current_settings
from modelcycle.errors import InvalidInput
from modelcycle.monitoring import _predlog_index
from modelcycle.monitoring._predlog_files import PredictionFiles, check_deployment, relative_path
from modelcycle.monitoring._predlog_records import (
    Record,
    Unit,
    build_units,
    check_request,
    input_rows,
)
from modelcycle.monitoring.entities import PredictionLogStats

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from modelcycle.store import Store

__all__ = ["PredictionLogger"]

_log = logging.getLogger("modelcycle.monitoring")
_T = TypeVar("_T")

RETRY_DELAY_S = 0.2
"""Pause before the one retry of a failed write: long enough for a brief hiccup (a database
failover, a throttled bucket) to pass, short enough not to hold a shutdown."""
DROP_WARNING_INTERVAL_S = 60.0
EXIT_TIMEOUT_S = 30.0
"""How long interpreter exit waits for a logger nobody closed to drain its queue."""


class PredictionLogger:
    """Logs predictions of one deployment to Parquet files indexed in the store.

    Args:
        store: where the files are indexed; they go under its artifact root.
        deployment: the deployment's name (a path segment: letters, digits, ``.``, ``_``, ``-``).
        max_queue_rows: rows that may wait for the writer; beyond them ``log`` refuses (and
            counts) a request rather than grow memory or block the server.
        batch_rows: the writer starts a batch as soon as this many rows wait.
        flush_interval_s: ... or when the oldest waiting row has waited this long.

    Raises:
        InvalidInput: a bad deployment name or size, or a store without an artifact root.

    >>> logger = PredictionLogger(store, deployment="churn")                    # doctest: +SKIP
    >>> logger.log(rid, "churn", 3, {"age": [31]}, [0], latency_ms=1.2)         # doctest: +SKIP
    True
    >>> logger.close()  # drains the queue; also runs at exit               # doctest: +SKIP
    """

    def __init__(
        self,
        store: Store,
        *,
        deployment: str,
        max_queue_rows: int = 100_000,
        batch_rows: int = 10_000,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.deployment = check_deployment(deployment)
        for name, value in (("max_queue_rows", max_queue_rows), ("batch_rows", batch_rows)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"{name} must be a positive integer, got {value!r}")
        if not flush_interval_s > 0:
            raise InvalidInput(f"flush_interval_s must be positive, got {flush_interval_s!r}")
        root = store.location.artifact_root
        if root is None:
            raise InvalidInput(
                f"the store at {store.location.url} has no artifact root for the prediction log; "
                "set MODELCYCLE_ARTIFACTS to a directory or an fsspec URL",
                details={"uri": store.location.url},
            )
        _import_writer_modules()
        self._store = store
        self._files = PredictionFiles(root, fsync=current_settings().objects.fsync)
        self._max_queue_rows = max_queue_rows
        self._batch_rows = batch_rows
        self._flush_interval_s = float(flush_interval_s)

        self._wakeup = threading.Condition(threading.Lock())
        self._queue: collections.deque[Record] = collections.deque()
        self._closed = False
        self._next_seq = 0  # sequence number of the next accepted request
        self._done_seq = 0  # every request numbered below this is written or failed
        self._flush_seq = 0  # a flush() waits for the requests numbered below this
        self._oldest_at = 0.0  # monotonic time the head of the queue arrived
        self._last_drop_warning = -DROP_WARNING_INTERVAL_S
        self._counts = dict.fromkeys(
            (
                "accepted_rows", "accepted_requests", "written_rows", "written_files",
                "dropped_rows", "dropped_requests", "failed_rows", "write_errors",
                "queued_rows", "in_flight_rows",
            ),
            0,
        )  # fmt: skip
        self._last_error: str | None = None

        self._thread = threading.Thread(
            target=self._run, name=f"modelcycle-prediction-log-{deployment}", daemon=True
        )
        self._thread.start()
        # Bounded, so a writer stuck on an unreachable bucket cannot hold the process at exit.
        self._close_at_exit = functools.partial(self.close, timeout=EXIT_TIMEOUT_S)
        atexit.register(self._close_at_exit)

    # -- the request path ---------------------------------------------------------------------

    def log(
        self,
        request_id: str,
        model_name: str,
        model_version: str | int,
        inputs: pd.DataFrame | dict[str, Sequence[Any]] | pa.Table,
        outputs: Sequence[Any] | np.ndarray,
        latency_ms: float,
        time_ms: int | None = None,
    ) -> bool:
        """Queue one answered request for the log, without waiting for any I/O.

        The logger keeps references to ``inputs`` and ``outputs`` until they are written: do
        not change them after the call.

        Args:
            request_id: the id returned to the client (``X-Request-Id``), 1–128 characters.
            model_name, model_version: the version that answered.
            inputs: the request's rows: a dict of equal-length columns (lists or 1-D arrays),
                a DataFrame or an Arrow table.
            outputs: one prediction per row: a 1-D array or list, or a 2-D array (e.g. class
                probabilities, logged as a list per row).
            latency_ms: time taken to answer.
            time_ms: when the request arrived, in milliseconds since the epoch (now if None).

        Returns:
            True when queued; False when refused because the queue is full or the logger is
            closed. A refused request is counted in ``stats().dropped_rows``, never lost
            silently.

        Raises:
            InvalidInput: the arguments do not describe a request (no rows, a different number
                of predictions than rows, an unsupported type, a bad id).
        """
        rows = input_rows(inputs)
        check_request(request_id, model_name, rows, outputs)
        when = now_ms() if time_ms is None else int(time_ms)
        with self._wakeup:
            counts = self._counts
            if self._closed or counts["queued_rows"] + rows > self._max_queue_rows:
                counts["dropped_rows"] += rows
                counts["dropped_requests"] += 1
                self._warn_drop()
                return False
            was_empty = not self._queue
            self._queue.append(
                Record(
                    self._next_seq, request_id, model_name, str(model_version), inputs, outputs,
                    float(latency_ms), when, rows,
                )
            )  # fmt: skip
            self._next_seq += 1
            counts["accepted_rows"] += rows
            counts["accepted_requests"] += 1
            before = counts["queued_rows"]
            counts["queued_rows"] = before + rows
            if was_empty:
                self._oldest_at = time.monotonic()
            # Wake the writer only when it has something new to decide: a first record to time,
            # or a full batch. Notifying on every call would cost each request a context switch.
            if was_empty or (before < self._batch_rows <= before + rows):
                self._wakeup.notify()
        return True

    # -- control --------------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything queued so far and wait until it is written or counted as failed.

        Returns:
            False if ``timeout`` seconds passed first.
        """
        with self._wakeup:
            target = self._next_seq
            self._flush_seq = max(self._flush_seq, target)
            self._wakeup.notify_all()
            return self._wakeup.wait_for(lambda: self._done_seq >= target, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting requests, write everything queued, and stop the writer.

        Called at server shutdown, and at interpreter exit for a logger still open (waiting at
        most :data:`EXIT_TIMEOUT_S` there). Requests logged after close are counted as dropped.

        Args:
            timeout: seconds to wait for the writer; None waits until the queue is written.
        """
        with self._wakeup:
            already = self._closed
            self._closed = True
            self._wakeup.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if not already:
            atexit.unregister(self._close_at_exit)

    def stats(self) -> PredictionLogStats:
        """The logger's counters (see :class:`PredictionLogStats`)."""
        with self._wakeup:
            return PredictionLogStats(
                deployment=self.deployment, last_error=self._last_error, **self._counts
            )

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> PredictionLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                written, failed = self._write(batch)
            except Exception as exc:  # a bug must not kill the writer and stall every flush
                _log.exception("the prediction log writer failed on a batch")
                written, failed = [], sum(r.rows for r in batch)
                self._note_error(exc)
            with self._wakeup:
                counts = self._counts
                counts["in_flight_rows"] = 0
                counts["written_rows"] += sum(unit.rows for unit in written)
                counts["written_files"] += len(written)
                counts["failed_rows"] += failed
                self._done_seq = batch[-1].seq + 1
                self._wakeup.notify_all()

    def _next_batch(self) -> list[Record] | None:
        """Wait for a batch to be due and take it off the queue; None once closed and drained."""
        with self._wakeup:
            while True:
                if self._queue:
                    wanted = self._closed or self._flush_seq > self._queue[0].seq
                    if wanted or self._counts["queued_rows"] >= self._batch_rows:
                        break
                    due = self._oldest_at + self._flush_interval_s - time.monotonic()
                    if due <= 0:
                        break
                    self._wakeup.wait(due)
                elif self._closed:
                    return None
                else:
                    self._wakeup.wait()
            batch: list[Record] = []
            rows = 0
            while self._queue and (not batch or rows + self._queue[0].rows <= self._batch_rows):
                record = self._queue.popleft()
                batch.append(record)
                rows += record.rows
            self._counts["queued_rows"] -= rows
            self._counts["in_flight_rows"] = rows
            self._oldest_at = time.monotonic()
            return batch

    def _write(self, batch: list[Record]) -> tuple[list[Unit], int]:
        """Write and index one batch: the units written, and the rows that failed."""
        units, failures = build_units(batch, self.deployment)
        failed = 0
        for rows, exc in failures:
            failed += rows
            _log.error("prediction log: %d rows could not be converted: %s", rows, exc)
            self._note_error(exc)
        written: list[tuple[Unit, str]] = []
        for unit in units:
            path = relative_path(self.deployment, unit.day)
            if self._twice(lambda u=unit, p=path: self._files.write(u.table, p), "write"):
                written.append((unit, path))
            else:
                failed += unit.rows
        if written and not self._twice(
            lambda: _predlog_index.insert_files(self._store, self.deployment, written), "index"
        ):
            written, lost = self._settle_unindexed(written)
            failed += lost
        return [unit for unit, _ in written], failed

    def _settle_unindexed(
        self, written: list[tuple[Unit, str]]
    ) -> tuple[list[tuple[Unit, str]], int]:
        """After indexing failed twice: the files the index names anyway (a commit whose answer
        was lost) stay written; the others are removed, as nothing will ever read them, and
        their rows count as failed. When the index cannot even be asked, every file stays on
        disk (an unindexed file is an orphan at worst; removing an indexed one would lose rows
        the index promises) and every row counts as failed."""
        try:
            indexed = _predlog_index.indexed_paths(self._store, [path for _, path in written])
        except Exception as exc:
            self._note_error(exc)
            _log.warning("prediction log: cannot tell which files were indexed: %s", exc)
            return [], sum(unit.rows for unit, _ in written)
        kept = [(unit, path) for unit, path in written if path in indexed]
        lost = [(unit, path) for unit, path in written if path not in indexed]
        for _, path in lost:
            self._remove_quietly(path)
        return kept, sum(unit.rows for unit, _ in lost)

    def _twice(self, action: Callable[[], object], what: str) -> bool:
        """Run ``action``, retrying once after a pause; count each failure."""
        for attempt in (1, 2):
            try:
                action()
                return True
            except Exception as exc:
                self._note_error(exc)
                _log.warning("prediction log: %s failed (attempt %d of 2): %s", what, attempt, exc)
                if attempt == 1:
                    time.sleep(RETRY_DELAY_S)
        return False

    def _remove_quietly(self, path: str) -> None:
        try:
            self._files.remove(path)
        except Exception as exc:  # the file is unindexed, so never read: an orphan at worst
            _log.warning("prediction log: could not remove unindexed file %s: %s", path, exc)

    def _note_error(self, exc: BaseException) -> None:
        with self._wakeup:
            self._counts["write_errors"] += 1
            self._last_error = f"{type(exc).__name__}: {exc}"[:500]

    def _warn_drop(self) -> None:
        """Say so in the log when requests start being dropped (at most once a minute)."""
        moment = time.monotonic()
        if moment - self._last_drop_warning >= DROP_WARNING_INTERVAL_S:
            self._last_drop_warning = moment
            reason = "closed" if self._closed else f"full ({self._max_queue_rows} rows)"
            _log.warning(
                "prediction log of %s: dropping requests, the queue is %s; %d rows dropped so far",
                self.deployment,
                reason,
                self._counts["dropped_rows"],
            )


def _import_writer_modules() -> None:
    """Import what the writer needs now, at start-up: a first import inside the writer thread
    while the interpreter exits (draining at exit) fails when the module registers an exit
    handler of its own, as ``concurrent.futures.thread`` does ("can't register atexit after
    shutdown").

    pandas is not imported here: numpy and Arrow inputs are converted without it (see
    :mod:`~modelcycle.monitoring._predlog_records`), so a server answering from numpy arrays
    never loads it. It is still imported when needed: a DataFrame input means pandas is loaded
    already, and pyarrow imports it on its first ``pa.array`` of Python lists, which then works at
    exit too, as ``concurrent.futures.thread`` (the module pandas brings that registers an exit
    handler) is imported here.
    """
    import concurrent.futures.thread  # noqa: F401

    import numpy  # noqa: F401
    import pyarrow  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401
