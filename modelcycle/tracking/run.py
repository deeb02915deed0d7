"""``ActiveRun``: the handle a training script logs through, usually as a context manager.

>>> import modelcycle as mc
>>> with mc.start_run(experiment="doctest") as run:  # doctest: +SKIP
...     run.log_metric("loss", 0.3)

Leaving the block ends the run FINISHED, FAILED when the block raised, KILLED on Ctrl-C.
A run left open is ended FINISHED at interpreter exit.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from modelcycle._internal.clock import now_ms
from modelcycle.config import TrackingSettings
from modelcycle.errors import InvalidInput
from modelcycle.tracking._base import BaseTrackingService, MetricPoint
from modelcycle.tracking._buffer import MetricBuffer, end_at_exit, process_flusher
from modelcycle.tracking._validation import check_key, metric_step, metric_value
from modelcycle.tracking.entities import ArtifactInfo, Run, RunInput, RunStatus

if TYPE_CHECKING:
    # Through the registry's SDK module, the one registry import tracking is allowed.
    from modelcycle.registry._fluent import ModelVersion

logger = logging.getLogger(__name__)


class DatasetReference(Protocol):
    """Anything naming a dataset version: a ``DatasetVersion`` has these three attributes."""

    name: str
    version: int | str
    hash: str


class ActiveRun:
    """A RUNNING run in this process. Metrics are buffered; everything else is written at once."""

    def __init__(
        self,
        service: BaseTrackingService,
        record: Run,
        settings: TrackingSettings,
        on_end: Callable[[ActiveRun], None] | None = None,
    ) -> None:
        self._service = service
        self._record = record
        self._on_end = on_end
        self._buffer = MetricBuffer(record.id, service.log_metrics, settings.flush_size)
        self._flusher = process_flusher(settings.flush_interval)
        self._flusher.register(self._buffer)
        self._next_step: dict[str, int] = {}
        self._checked_keys: set[str] = set()
        self._ended = False
        self._cancel_exit_hook = end_at_exit(self._end_at_exit)

    # -- identity ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def experiment(self) -> str:
        return self._record.experiment

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def ended(self) -> bool:
        return self._ended

    def to_record(self) -> Run:
        """The run as stored now, its buffered metrics written first."""
        if not self._ended:
            self.flush()
        return self._service.get_run(self.id)

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} experiment={self.experiment!r} name={self.name!r}>"

    # -- logging -----------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._require_open()
        self._service.log_params(self.id, params)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._service.set_tags(self.id, {k: str(v) for k, v in tags.items()})

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Queue one point. ``step`` defaults to one past this key's last step (0 first).

        Raises:
            InvalidInput: the run has ended, the key is malformed or the value is not a number.
        """
        if self._ended:
            raise self._ended_error()
        if key not in self._checked_keys:
            check_key("metric", key)
            self._checked_keys.add(key)
        if type(value) is not float:
            value = metric_value(key, value)
        if step is None:
            step = self._next_step.get(key, 0)
        elif type(step) is not int:
            step = metric_step(key, step)
        self._next_step[key] = step + 1
        stamp = now_ms() if timestamp is None else metric_step(key, timestamp)
        if self._buffer.add((key, value, step, stamp)):
            self._flusher.wake()

    def log_metrics(
        self,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Queue several metrics at one step (each key's own next step when ``step`` is None)."""
        if self._ended:
            raise self._ended_error()
        stamp = now_ms() if timestamp is None else metric_step("timestamp", timestamp)
        at = None if step is None else metric_step("step", step)
        next_step = self._next_step
        points: list[MetricPoint] = []
        for key, value in metrics.items():
            if key not in self._checked_keys:
                check_key("metric", key)
                self._checked_keys.add(key)
            if type(value) is not float:
                value = metric_value(key, value)
            points.append((key, value, next_step.get(key, 0) if at is None else at, stamp))
        # Steps advance only once every value passed: a bad value leaves the run as it was.
        for key, _, key_step, _ in points:
            next_step[key] = key_step + 1
        if self._buffer.extend(points):
            self._flusher.wake()

    def log_artifact(
        self, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Store a file, or every file of a directory, under the run (see ``log_artifacts``)."""
        return self._service.log_artifact(self.id, local_path, artifact_path)

    def log_artifacts(
        self, local_dir: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Store a directory's files under ``artifact_path`` (the run's root by default)."""
        return self._service.log_artifact(self.id, local_dir, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> ArtifactInfo:
        """Store a string as a UTF-8 text artifact at ``artifact_file``."""
        return self._log_bytes(text.encode(), artifact_file)

    def log_dict(self, data: Mapping[str, Any], artifact_file: str) -> ArtifactInfo:
        """Store a dictionary as a JSON artifact at ``artifact_file``."""
        return self._log_bytes(json.dumps(data, indent=2, default=str).encode(), artifact_file)

    def log_input(self, dataset: DatasetReference | str, role: str = "train") -> None:
        """Record that this run read a dataset version: an object with ``name``, ``version``
        and ``hash`` (a ``DatasetVersion``), or a reference string ``"name@version"``."""
        self._service.log_inputs(self.id, [_run_input(dataset, role)])

    def log_model(
        self,
        model: Any,
        name: str,
        *,
        input_example: Any = None,
        flavor: str | None = None,
        signature: Any = None,
        requirements: Sequence[str] | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        onnx: bool = False,
    ) -> ModelVersion:
        """Save ``model``, log it under this run's ``NAME/`` artifacts and register it as the next
        version of registered model ``name``, linked to this run, its commit and its inputs.

        Args:
            input_example: a few input rows; the signature is inferred from them.
            flavor: ``sklearn``, ``onnx`` or ``pyfunc``; inferred when omitted.
            onnx: also store an ONNX twin of a scikit-learn model, checked against
                ``input_example``; ``modelcycle serve --runtime onnx`` runs it.

        Returns:
            The new version (``.name``, ``.version``).

        >>> mv = run.log_model(model, name="churn", input_example=X[:5])  # doctest: +SKIP
        """
        from modelcycle.registry._fluent import log_model

        return log_model(
            self,
            model,
            name,
            input_example=input_example,
            flavor=flavor,
            signature=signature,
            requirements=requirements,
            description=description,
            tags=tags,
            onnx=onnx,
        )

    def flush(self) -> None:
        """Write buffered metrics now (they are written in the background anyway)."""
        self._buffer.flush()

    # -- end ---------------------------------------------------------------------------------

    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """Write what is buffered and end the run. Ending twice does nothing.

        If the final write fails, the run stays open (buffered points kept, still ended at
        interpreter exit) and ``end`` may be called again.
        """
        if self._ended:
            return
        self._ended = True  # from here on, log calls are refused
        try:
            self._buffer.drain(
                lambda points: self._service.end_run(self.id, status, metrics=points)
            )
        except BaseException:
            self._ended = False
            raise
        self._flusher.unregister(self._buffer)
        self._cancel_exit_hook()
        if self._on_end is not None:
            self._on_end(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end(RunStatus.FINISHED)
            return
        status = RunStatus.KILLED if issubclass(exc_type, KeyboardInterrupt) else RunStatus.FAILED
        try:
            self.end(status)
        except Exception as end_error:  # the block's own exception matters more
            logger.error("could not end run %s as %s: %s", self.id, status, end_error)

    def _end_at_exit(self) -> None:
        self.end(RunStatus.FINISHED)

    def _require_open(self) -> None:
        if self._ended:
            raise self._ended_error()

    def _ended_error(self) -> InvalidInput:
        return InvalidInput(
            f"run {self.id} has ended; it accepts no more params or metrics. Start a new run.",
            details={"run_id": self.id},
        )

    def _log_bytes(self, data: bytes, artifact_file: str) -> ArtifactInfo:
        directory, _, file_name = artifact_file.rpartition("/")
        if not file_name:
            raise InvalidInput(
                f"artifact file {artifact_file!r} names no file", details={"path": artifact_file}
            )
        with tempfile.TemporaryDirectory(prefix="modelcycle-") as scratch:
            local = Path(scratch) / file_name
            local.write_bytes(data)
            return self._service.log_artifact(self.id, local, directory or None)[0]


def _run_input(dataset: DatasetReference | str, role: str) -> RunInput:
    if isinstance(dataset, str):
        name, at, version = dataset.rpartition("@")
        if not at or not name or not version:
            raise InvalidInput(
                f"dataset reference {dataset!r} must be 'name@version', e.g. 'churn-train@3'",
                details={"dataset": dataset},
            )
        return RunInput(dataset=name, version=version, role=role)
    try:
        return RunInput(
            dataset=dataset.name, version=str(dataset.version), role=role, digest=dataset.hash
        )
    except AttributeError as exc:
        raise InvalidInput(
            f"log_input takes a dataset version (with name, version and hash) or "
            f"'name@version', got {type(dataset).__name__}",
            details={"type": type(dataset).__name__},
        ) from exc
