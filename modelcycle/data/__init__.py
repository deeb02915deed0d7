"""Dataset versions and lineage: content-addressed, verified, linked to the runs that read them.

The map::

    mc.data.add(path | DataFrame | Table, name=…) ─► DatasetVersion  .name .version .hash .schema
        │   files ─► object store (blake3; files < 1 MiB packed)         .row_count .statistics
        │   manifest, schema, statistics ─► datasets, dataset_versions, dataset_files
        ├─ get("name@3") / list() / checkout(ref, dest) / diff(a, b)
        └─ lineage(version | run) ─► LineageGraph: parents ⇄ children, versions ⇄ runs
                                      (run.log_input(ds, role="train") writes the run edges)

Names load on first use, so ``import modelcycle.data`` imports neither SQLAlchemy nor pandas.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr

__all__ = [
    "ColumnChange",
    "DataService",
    "Dataset",
    "DatasetDiff",
    "DatasetFile",
    "DatasetVersion",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "add",
    "checkout",
    "diff",
    "get",
    "lineage",
    "list",
]

_LAZY: dict[str, str] = {
    "add": "modelcycle.data._fluent:add",
    "get": "modelcycle.data._fluent:get",
    "list": "modelcycle.data._fluent:list",
    "checkout": "modelcycle.data._fluent:checkout",
    "diff": "modelcycle.data._fluent:diff",
    "lineage": "modelcycle.data._fluent:lineage",
    "DataService": "modelcycle.data.service:DataService",
    **{
        name: f"modelcycle.data.entities:{name}"
        for name in (
            "ColumnChange",
            "Dataset",
            "DatasetDiff",
            "DatasetFile",
            "DatasetVersion",
            "LineageEdge",
            "LineageGraph",
            "LineageNode",
        )  # fmt: skip
    },
}

if TYPE_CHECKING:
    from modelcycle.data._fluent import add, checkout, diff, get, lineage, list
    from modelcycle.data.entities import (
        ColumnChange,
        Dataset,
        DatasetDiff,
        DatasetFile,
        DatasetVersion,
        LineageEdge,
        LineageGraph,
        LineageNode,
    )
    from modelcycle.data.service import DataService


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> builtins.list[str]:  # `list` here is mc.data.list
    return sorted(__all__)
