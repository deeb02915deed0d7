"""The metric buffer: ``log_metric`` appends to memory, a background thread writes batches.

``log_metric`` must not cost a database round trip, so each run keeps its points in a list and
one daemon thread per process (the :class:`Flusher`) writes every run's points each
``flush_interval`` seconds, or sooner when a run holds ``flush_size`` points. The run's end
writes what is left in the same transaction that ends it, and an ``atexit`` hook ends runs a
script left open, so nothing is lost when the process ends normally.

A failed background write keeps its points and is retried at the next flush; if the final
write fails, the error is raised to the code that ended the run.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Sequence

from modelcycle.tracking._base import MetricPoint

logger = logging.getLogger(__name__)

Sink = Callable[[str, Sequence[MetricPoint]], None]


class MetricBuffer:
    """The pending points of one run. ``add`` is the hot path: one lock, one append."""

    __slots__ = (
        "_lock",
        "_points",
        "_sink",
        "_write_lock",
        "flush_size",
        "last_error",
        "run_id",
        "__weakref__",
    )

    def __init__(self, run_id: str, sink: Sink, flush_size: int) -> None:
        self.run_id = run_id
        self.flush_size = flush_size
        self._sink = sink
        self._points: list[MetricPoint] = []
        self._lock = threading.Lock()
        # Held while points are being written, so the run's end waits for a background write.
        self._write_lock = threading.Lock()
        self.last_error: BaseException | None = None

    def add(self, point: MetricPoint) -> bool:
        """Queue one point; true when the buffer has reached ``flush_size``."""
        with self._lock:
            self._points.append(point)
            return len(self._points) >= self.flush_size

    def extend(self, points: Sequence[MetricPoint]) -> bool:
        with self._lock:
            self._points.extend(points)
            return len(self._points) >= self.flush_size

    def flush(self) -> None:
        """Write every queued point now. On failure the points stay queued and the error raises."""
        with self._write_lock:
            points = self._take()
            if not points:
                return
            try:
                self._sink(self.run_id, points)
            except BaseException as exc:
                self._restore(points)
                self.last_error = exc
                raise
            self.last_error = None

    def drain(self, finish: Callable[[Sequence[MetricPoint]], None]) -> None:
        """Hand every queued point to ``finish`` (the run's end), with no write in flight."""
        with self._write_lock:
            points = self._take()
            try:
                finish(points)
            except BaseException:
                self._restore(points)
                raise

    def _take(self) -> list[MetricPoint]:
        with self._lock:
            points, self._points = self._points, []
        return points

    def _restore(self, points: list[MetricPoint]) -> None:
        with self._lock:
            self._points[:0] = points


class Flusher:
    """One daemon thread per process that writes every registered buffer periodically."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._buffers: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def register(self, buffer: MetricBuffer) -> None:
        with self._lock:
            self._buffers.add(buffer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="modelcycle-metric-flusher", daemon=True
                )
                self._thread.start()

    def unregister(self, buffer: MetricBuffer) -> None:
        with self._lock:
            self._buffers.discard(buffer)

    def wake(self) -> None:
        """Flush soon: a buffer is full."""
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with self._lock:
                buffers = list(self._buffers)
            for buffer in buffers:
                try:
                    buffer.flush()
                except Exception as exc:  # kept in the buffer, retried, raised at the run's end
                    logger.warning(
                        "metric flush for run %s failed, will retry: %s", buffer.run_id, exc
                    )


_flusher: Flusher | None = None
_flusher_lock = threading.Lock()


def process_flusher(interval: float) -> Flusher:
    """The process's flusher, started on first use."""
    global _flusher
    with _flusher_lock:
        if _flusher is None:
            _flusher = Flusher(interval)
        return _flusher


_open_runs: list[Callable[[], None]] = []
_open_runs_lock = threading.Lock()
_exit_hook_registered = threading.Event()


def end_at_exit(end: Callable[[], None]) -> Callable[[], None]:
    """Call ``end`` at interpreter exit unless the returned cancel function is called first."""
    with _open_runs_lock:
        if not _exit_hook_registered.is_set():
            atexit.register(_end_open_runs)
            _exit_hook_registered.set()
        _open_runs.append(end)

    def cancel() -> None:
        with _open_runs_lock:
            if end in _open_runs:
                _open_runs.remove(end)

    return cancel


def _end_open_runs() -> None:
    with _open_runs_lock:
        pending = list(reversed(_open_runs))
    for end in pending:  # innermost (latest) runs first, like nested context managers
        try:
            end()
        except Exception as exc:
            logger.error("could not end a run at exit: %s", exc)
