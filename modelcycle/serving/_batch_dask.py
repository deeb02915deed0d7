"""Batch scoring on a Dask distributed cluster: one task per input file.

The driver resolves the model once (a ``models:/`` alias is pinned to one version for the whole
job), verifies it, checks every input's columns against its signature, and then sends each task
the model *directory* and the blake3 digest of its ``model.json``. A worker loads the model once
per process, after checking every file against that digest, and reuses it for every task it
runs. A task scores its file into a ``.part`` name inside the job's staging directory and renames
it when complete; the driver renames the staging directory into place only when every task has
succeeded, and removes it when one fails.

Limits: workers must see the model directory, the inputs and the output at the same paths as
the driver: the same machine, or a shared file system mounted alike. Progress advances one file
at a time.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle.errors import InvalidInput, StoreUnavailable
from modelcycle.serving._batch_io import Format, InputFile, read_schema
from modelcycle.serving._batch_plan import Plan

if TYPE_CHECKING:
    from modelcycle.registry.model_format import LoadedModel
    from modelcycle.serving.batch import ScoreOptions

CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class ModelRef:
    """What a worker needs to load the model: its directory and the digest of its manifest."""

    directory: str
    manifest_digest: str
    trusted: bool
    runtime: str = "native"


def run_on_dask(
    address: str,
    model: LoadedModel | str | os.PathLike[str],
    plan: Plan,
    options: ScoreOptions,
    *,
    trusted: bool,
    runtime: str = "native",
    on_rows: Callable[[int], None],
) -> list[int]:
    """Score the plan's files on the cluster at ``address``; return rows per file.

    Raises:
        InvalidInput: ``model`` is an object rather than a URI or a directory, or a file does
            not fit the model.
        StoreUnavailable: the scheduler cannot be reached.
    """
    from distributed import as_completed

    ref = resolve_model(model, trusted=trusted, runtime=runtime)
    scorer = options.scorer(load_verified(ref))
    for item in plan.inputs:
        scorer.check_schema(read_schema(item, scorer.column_types()), item.path)
    job = uuid.uuid4().hex[:12]
    with connect(address) as client:
        futures = {
            client.submit(
                score_task, ref, options, replace(item, path=item.path.resolve()),
                staged.resolve(), plan.output_format,
                key=f"modelcycle-predict-{job}-{index}", pure=False,
            ): index
            for index, (item, staged) in enumerate(zip(plan.inputs, plan.staged, strict=True))
        }  # fmt: skip
        counts = [0] * len(futures)
        try:
            for future in as_completed(futures, loop=client.loop):
                counts[futures[future]] = future.result()
                on_rows(counts[futures[future]])
        except BaseException:
            client.cancel(list(futures))
            raise
    return counts


def resolve_model(
    model: LoadedModel | str | os.PathLike[str], *, trusted: bool, runtime: str = "native"
) -> ModelRef:
    """The model's directory on this machine and its manifest's digest. A registry URI is
    resolved here, once, so every task scores with the same version."""
    from modelcycle._internal.hashing import hash_file
    from modelcycle.registry.model_format import MANIFEST_FILE, LoadedModel
    from modelcycle.serving.batch import is_model_uri

    if isinstance(model, LoadedModel):
        raise InvalidInput(
            "scoring on Dask needs the model's URI or directory, so that each worker loads "
            "and verifies it; a loaded model object cannot be sent",
            details={"problem": "model"},
        )
    if isinstance(model, str) and is_model_uri(model):
        from modelcycle import registry

        directory = registry.local_path(model)
    else:
        directory = Path(model)
    directory = directory.resolve()
    manifest = directory / MANIFEST_FILE
    digest = hash_file(manifest) if manifest.is_file() else ""
    return ModelRef(str(directory), digest, trusted, runtime)


def load_verified(ref: ModelRef) -> LoadedModel:
    """Load the model after checking every file, ``model.json`` against ``ref``'s digest."""
    from modelcycle.registry.model_format import load_model

    return load_model(
        ref.directory,
        trusted=ref.trusted,
        manifest_digest=ref.manifest_digest or None,
        runtime=ref.runtime,
    )


_KEPT_MODELS = 4
"""Models a worker process keeps loaded; a long-lived worker serving many jobs drops the
oldest beyond this."""
_models: dict[ModelRef, LoadedModel] = {}
_models_lock = threading.Lock()


def worker_model(ref: ModelRef) -> LoadedModel:
    """The model, loaded once per worker process and kept for the next tasks."""
    with _models_lock:
        model = _models.get(ref)
        if model is None:
            model = load_verified(ref)
            while len(_models) >= _KEPT_MODELS:
                del _models[next(iter(_models))]
            _models[ref] = model
        return model


def score_task(
    ref: ModelRef, options: ScoreOptions, item: InputFile, staged: Path, output_format: Format
) -> int:
    """One task, run on a worker: score ``item`` to ``staged`` through a ``.part`` name."""
    from modelcycle.serving._batch_run import score_file

    scorer = options.scorer(worker_model(ref))
    part = staged.with_name(f".{staged.name}.part-{uuid.uuid4().hex[:12]}")
    try:
        rows = score_file(scorer, item, part, output_format, chunk_rows=options.chunk_rows)
        os.replace(part, staged)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return rows


def connect(address: str) -> Any:
    """A client of the scheduler at ``address`` (``tcp://host:8786``, ``host:8786`` or
    ``dask://host:8786``).

    Raises:
        StoreUnavailable: no scheduler answers there.
    """
    from distributed import Client

    target = (
        "tcp://" + address.removeprefix("dask://") if address.startswith("dask://") else address
    )
    try:
        return Client(target, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise StoreUnavailable(
            f"cannot reach the Dask scheduler at {address!r}: {exc}",
            details={"address": address},
        ) from exc
