"""Walk the lineage graph from a dataset version or a run, in both directions.

From a version: its ancestors (``dataset_parents``, transitively), its descendants, and the runs
that read it or any descendant (``run_inputs``, written by ``run.log_input``). From a run: the
versions it read and their ancestors. Either way, the registered model versions a run produced
(``model_versions.run_id``) hang below it: data → run → model. Each step is one indexed query
per level of the graph, so the cost grows with the size of the answer, never with the size of
the store. Parents exist before their children, so the graph has no cycles and every walk ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeVar

from sqlalchemy import Connection, and_, or_, select, tuple_

from modelcycle.data.entities import LineageEdge, LineageGraph, LineageNode
from modelcycle.errors import NotFound
from modelcycle.store.tables import dataset_parents, dataset_versions, datasets, run_inputs, runs
from modelcycle.store.tables.registry import model_versions, registered_models

_CHUNK = 500
_T = TypeVar("_T")


class LineageWalk:
    """Collects nodes and edges of one answer."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._nodes: dict[str, LineageNode] = {}
        self._edges: dict[tuple[str, str, str, str | None], LineageEdge] = {}
        self._refs: dict[int, str] = {}

    def graph(self, root: str) -> LineageGraph:
        return LineageGraph(
            root=root, nodes=tuple(self._nodes.values()), edges=tuple(self._edges.values())
        )

    def from_version(self, version_id: int) -> str:
        """Walk up and down from a version and add the runs downstream; returns its node id."""
        self._add_versions([version_id])
        self._walk(version_id, upwards=True)
        downstream = self._walk(version_id, upwards=False)
        self._add_runs_of(downstream | {version_id})
        self._add_models_of([n.id for n in self._nodes.values() if n.kind == "run"])
        return self._refs[version_id]

    def from_run(self, run_id: str) -> str:
        """Add a run, the versions it read and their ancestors; returns its node id.

        Raises:
            NotFound: no run has this id.
        """
        row = self._connection.execute(
            select(runs.c.id, runs.c.name, runs.c.status).where(runs.c.id == run_id)
        ).first()
        if row is None:
            raise NotFound(f"no dataset or run named {run_id!r}", details={"ref": run_id})
        self._nodes[row.id] = LineageNode(id=row.id, kind="run", name=row.name, status=row.status)
        inputs = self._connection.execute(
            select(run_inputs.c.dataset, run_inputs.c.version, run_inputs.c.role).where(
                run_inputs.c.run_id == run_id
            )
        ).all()
        known = self._version_ids([(i.dataset, i.version) for i in inputs])
        self._add_versions(known.values())
        for version_id in known.values():
            self._walk(version_id, upwards=True)
        for item in inputs:
            source = f"{item.dataset}@{item.version}"
            if (item.dataset, item.version) not in known:  # logged by name, never added here
                self._nodes.setdefault(
                    source, LineageNode(id=source, kind="dataset_version", name=item.dataset)
                )
            self._edge(source, run_id, "input", item.role)
        self._add_models_of([run_id])
        return run_id

    def _walk(self, start: int, *, upwards: bool) -> set[int]:
        near, far = (
            (dataset_parents.c.child_id, dataset_parents.c.parent_id)
            if upwards
            else (dataset_parents.c.parent_id, dataset_parents.c.child_id)
        )
        seen: set[int] = set()
        frontier = [start]
        while frontier:
            found: list[tuple[int, int]] = []
            for chunk in _chunks(frontier):
                found += self._connection.execute(select(near, far).where(near.in_(chunk))).all()
            self._add_versions([other for _, other in found])
            frontier = []
            for here, other in found:
                parent, child = (other, here) if upwards else (here, other)
                self._edge(self._refs[parent], self._refs[child], "derived", None)
                if other not in seen:
                    seen.add(other)
                    frontier.append(other)
        return seen

    def _add_runs_of(self, version_ids: Iterable[int]) -> None:
        pairs = [self._refs[v].rsplit("@", 1) for v in version_ids]
        for chunk in _chunks(pairs):
            rows = self._connection.execute(
                select(
                    run_inputs.c.dataset,
                    run_inputs.c.version,
                    run_inputs.c.role,
                    runs.c.id,
                    runs.c.name,
                    runs.c.status,
                )  # fmt: skip
                .join(runs, runs.c.id == run_inputs.c.run_id)
                .where(
                    or_(
                        *(
                            and_(run_inputs.c.dataset == n, run_inputs.c.version == v)
                            for n, v in chunk
                        )
                    )
                )  # fmt: skip
            ).all()
            for row in rows:
                self._nodes.setdefault(
                    row.id, LineageNode(id=row.id, kind="run", name=row.name, status=row.status)
                )
                self._edge(f"{row.dataset}@{row.version}", row.id, "input", row.role)

    def _add_models_of(self, run_ids: list[str]) -> None:
        """Add the registered model versions the runs produced, each below its run."""
        for chunk in _chunks(run_ids):
            rows = self._connection.execute(
                select(
                    model_versions.c.run_id,
                    model_versions.c.version,
                    model_versions.c.stage,
                    registered_models.c.name,
                )  # fmt: skip
                .join(registered_models, registered_models.c.id == model_versions.c.model_id)
                .where(model_versions.c.run_id.in_(chunk))
            ).all()
            for row in rows:
                node_id = f"models:/{row.name}/{row.version}"
                self._nodes.setdefault(
                    node_id,
                    LineageNode(
                        id=node_id,
                        kind="model_version",
                        name=row.name,
                        version=row.version,
                        status=row.stage,
                    ),
                )
                self._edge(row.run_id, node_id, "output", None)

    def _add_versions(self, version_ids: Iterable[int]) -> None:
        missing = [v for v in dict.fromkeys(version_ids) if v not in self._refs]
        for chunk in _chunks(missing):
            rows = self._connection.execute(
                select(dataset_versions.c.id, datasets.c.name, dataset_versions.c.version)
                .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                .where(dataset_versions.c.id.in_(chunk))
            ).all()
            for row in rows:
                ref = self._refs[row.id] = f"{row.name}@{row.version}"
                self._nodes[ref] = LineageNode(
                    id=ref, kind="dataset_version", name=row.name, version=row.version
                )

    def _version_ids(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """(name, version as text, as run_inputs stores it) → version id, for those that exist."""
        numbered = [(n, int(v)) for n, v in pairs if v.isdigit()]
        found: dict[tuple[str, str], int] = {}
        for chunk in _chunks(numbered):
            rows = self._connection.execute(
                select(datasets.c.name, dataset_versions.c.version, dataset_versions.c.id)
                .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                .where(tuple_(datasets.c.name, dataset_versions.c.version).in_(chunk))
            ).all()
            found.update({(r.name, str(r.version)): r.id for r in rows})
        return found

    def _edge(
        self,
        source: str,
        target: str,
        kind: Literal["derived", "input", "output"],
        role: str | None,
    ) -> None:
        key = (source, target, kind, role)
        if key not in self._edges:
            self._edges[key] = LineageEdge(source=source, target=target, kind=kind, role=role)


def _chunks(items: list[_T]) -> Iterable[list[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
