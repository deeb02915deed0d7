"""The module-level SDK: ``mc.data.add``, ``get``, ``list``, ``checkout``, ``diff``, ``lineage``.

Each call finds the platform from the settings in force (``MODELCYCLE_URI``, or a
``config_context`` override), as ``mc.start_run`` does, and keeps one service per location for
the life of the process.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle._internal.services import ServiceCache

if TYPE_CHECKING:
    import pyarrow as pa

    from modelcycle.data._ingest import Progress
    from modelcycle.data.entities import (
        Dataset,
        DatasetDiff,
        DatasetFile,
        DatasetVersion,
        LineageGraph,
    )
    from modelcycle.data.service import DataService


def _embedded() -> DataService:
    from modelcycle.data.service import DataService
    from modelcycle.store import current_store

    return DataService(current_store())


def _remote(url: str, token: str | None) -> DataService:
    from modelcycle.client import HttpDataService

    # The HTTP client has the reads of DataService, under the same names.
    return HttpDataService(url, token=token)  # type: ignore[return-value]


_services: ServiceCache[DataService] = ServiceCache(_embedded, _remote)


def data_service() -> DataService:
    """The data service of the platform the current settings point at: the HTTP client (its
    reads) for an ``http(s)://`` URI, else the service over the embedded store."""
    return _services.current()


def close_all() -> None:
    """Close every store and server connection this module opened (tests, notebooks)."""
    from modelcycle.store import close_current_stores

    _services.clear()
    close_current_stores()


def add(
    source: str | os.PathLike[str] | Any,
    name: str,
    *,
    parents: builtins.list[str] | tuple[str, ...] = (),
    description: str | None = None,
    progress: Progress | None = None,
) -> DatasetVersion:
    """Add a version of dataset ``name`` from a file, a directory, a DataFrame or an Arrow table.

    Only content no version holds yet is stored; adding identical content again returns the
    existing version.

    Args:
        source: a path (file or directory tree), a pandas DataFrame or a pyarrow Table.
        name: the dataset's name; created on first use.
        parents: ``name@version`` of the versions this one was derived from.
        description: free text.
        progress: called with (bytes just stored, total bytes), possibly from worker threads.

    Raises:
        NotFound: ``source`` or a parent does not exist.
        InvalidInput: a bad name, or a tabular file that cannot be read (named in the message).

    >>> import modelcycle as mc
    >>> ds = mc.data.add("data/train.parquet", name="churn-train")  # doctest: +SKIP
    >>> ds.version, ds.row_count                                     # doctest: +SKIP
    (1, 7043)
    """
    return data_service().add(
        source, name, parents=parents, description=description, progress=progress
    )


def get(ref: str) -> DatasetVersion:
    """The version ``"name@3"``, or the latest of ``"name"``.

    Raises:
        NotFound: no such dataset or version.
    """
    return data_service().get(ref)


def list(name: str | None = None) -> builtins.list[Dataset] | builtins.list[DatasetVersion]:
    """Every dataset (``Dataset`` records), or, given a name, its versions oldest first."""
    service = data_service()
    return service.list_datasets() if name is None else service.list_versions(name)


def checkout(ref: str, dest: str | Path, *, progress: Callable[[int], None] | None = None) -> Path:
    """Restore a version's files under ``dest`` (new or empty), every byte verified.

    Args:
        progress: called with the number of files just restored, possibly from worker threads.

    Raises:
        IntegrityError: a stored object is corrupted; ``dest`` is left as it was.
        AlreadyExists: ``dest`` is a file or a directory that is not empty.
    """
    return data_service().checkout(ref, dest, progress=progress)


def diff(a: str, b: str) -> DatasetDiff:
    """Files added, removed and changed from ``a`` to ``b``; for tables, the row-count change
    and the columns whose schema or statistics changed."""
    return data_service().diff(a, b)


def lineage(target: Any) -> LineageGraph:
    """The lineage graph around a dataset version or a run, walked both ways.

    Args:
        target: a ``DatasetVersion``, ``"name@version"``, a run id or a run (anything with
            ``.id``).
    """
    if hasattr(target, "ref"):
        target = target.ref
    elif not isinstance(target, str) and hasattr(target, "id"):
        target = target.id
    return data_service().lineage(str(target))


def files(ref: str) -> builtins.list[DatasetFile]:
    """A version's manifest (what ``DatasetVersion.files`` returns)."""
    return data_service().files(ref)


def read_arrow(ref: str) -> pa.Table:
    """A tabular version's table (what ``DatasetVersion.to_arrow`` returns)."""
    return data_service().read_arrow(ref)
