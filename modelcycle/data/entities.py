"""Frozen records the data service returns: dataset versions, their files, diffs and lineage.

Only pydantic and the standard library here, so a client can parse these without SQLAlchemy.
The convenience methods of :class:`DatasetVersion` (``to_pandas``, ``to_arrow``, ``checkout``)
import the SDK when called, and act on the platform of the current settings.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "ColumnChange",
    "Dataset",
    "DatasetDiff",
    "DatasetFile",
    "DatasetVersion",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "from_millis",
]


def from_millis(millis: int) -> datetime:
    """A stored time (integer milliseconds since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class DatasetFile(_Frozen):
    """One file of a version: its path inside the dataset, blake3 digest and size in bytes."""

    path: str
    digest: str
    size: int


# The public contract names the field ``schema``; pydantic warns that it shadows
# ``BaseModel.schema``, its deprecated v1 method, which no caller of these records needs.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class DatasetVersion(_Frozen):
        """One immutable version of a dataset.

        Attributes:
            name: the dataset's name.
            version: 1, 2, 3… in the order versions were added.
            hash: blake3 digest of the sorted manifest (``path\\tdigest\\tsize`` lines): the same
                content always has the same hash.
            schema: the inferred schema (``modelcycle.quality.infer_schema``) of a tabular version.
            statistics: per column summary statistics of a tabular version.
            row_count: rows of a tabular version, else ``None``.
            parents: ``name@version`` of the versions this one was derived from.
        """

        name: str
        version: int
        hash: str
        created_at: datetime
        file_count: int
        total_size: int
        row_count: int | None = None
        schema: dict[str, Any] | None = None
        statistics: dict[str, dict[str, Any]] | None = None
        description: str | None = None
        parents: tuple[str, ...] = ()

        @property
        def ref(self) -> str:
            """``name@version``, the form every command and SDK call accepts."""
            return f"{self.name}@{self.version}"

        def to_arrow(self) -> pa.Table:
            """The version's table, read from verified bytes (tabular versions only)."""
            from modelcycle.data._fluent import read_arrow

            return read_arrow(self.ref)

        def to_pandas(self) -> pd.DataFrame:
            """The version's table as a pandas DataFrame (tabular versions only)."""
            return self.to_arrow().to_pandas()

        def files(self) -> list[DatasetFile]:
            """The version's manifest: path, digest and size of each file, by path."""
            from modelcycle.data._fluent import files

            return files(self.ref)

        def checkout(self, dest: str | Path) -> Path:
            """Restore the version's files under ``dest``, every byte verified."""
            from modelcycle.data._fluent import checkout

            return checkout(self.ref, dest)


class Dataset(_Frozen):
    """A named dataset and its newest version number."""

    name: str
    created_at: datetime
    latest_version: int
    version_count: int


class ColumnChange(_Frozen):
    """How one column differs between two tabular versions.

    ``change`` is ``added``, ``removed``, ``type`` (the schema's entry changed) or ``statistics``;
    ``before``/``after`` hold the schema entries, or only the statistics that differ.
    """

    column: str
    change: Literal["added", "removed", "type", "statistics"]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class DatasetDiff(_Frozen):
    """What changed from version ``a`` to version ``b`` (paths are inside the dataset)."""

    a: str
    b: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged_count: int = 0
    row_count_before: int | None = None
    row_count_after: int | None = None
    columns: tuple[ColumnChange, ...] = ()

    @property
    def identical(self) -> bool:
        """True when the two versions hold the same files and tables."""
        return not (self.added or self.removed or self.changed or self.columns)


class LineageNode(_Frozen):
    """A dataset version (``id`` is ``name@version``), a run (``id`` is the run id) or a
    registered model version (``id`` is ``models:/name/version``, ``status`` its stage)."""

    id: str
    kind: Literal["dataset_version", "run", "model_version"]
    name: str
    version: int | None = None
    status: str | None = None


class LineageEdge(_Frozen):
    """``source`` flows into ``target``: a parent version into a derived one (``derived``), a
    version into the run that read it (``input``, with the run's ``role``), or a run into the
    model version it registered (``output``)."""

    source: str
    target: str
    kind: Literal["derived", "input", "output"]
    role: str | None = None


class LineageGraph(_Frozen):
    """The graph around ``root``: what it came from and what came from it."""

    root: str
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]

    def upstream(self, node_id: str | None = None) -> list[str]:
        """Ids of the nodes with an edge into ``node_id`` (the root by default)."""
        target = node_id or self.root
        return [edge.source for edge in self.edges if edge.target == target]

    def downstream(self, node_id: str | None = None) -> list[str]:
        """Ids of the nodes ``node_id`` (the root by default) has an edge into."""
        source = node_id or self.root
        return [edge.target for edge in self.edges if edge.source == source]
