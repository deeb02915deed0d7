"""SQLAlchemy 2 tables, one module per domain, all on one ``metadata``.

A column that holds the blake3 digest of an object in the object store is marked with
``info={"object_ref": True}``: ``modelcycle gc`` keeps every object such a column names, so a new
domain that stores objects only marks its column and gc learns of it.
"""

from __future__ import annotations

# Importing a domain's module registers its tables on ``metadata``; its names are reached through
# it (``tables.auth.users``), so a new domain adds one line here.
from modelcycle.store.tables import auth, deployments, predictions, registry, server
from modelcycle.store.tables._metadata import metadata, object_ref_columns
from modelcycle.store.tables.data import dataset_files, dataset_parents, dataset_versions, datasets
from modelcycle.store.tables.tracking import (
    artifacts,
    experiments,
    latest_metrics,
    metrics,
    params,
    run_inputs,
    runs,
    tags,
)

__all__ = [
    "artifacts",
    "auth",
    "dataset_files",
    "dataset_parents",
    "dataset_versions",
    "datasets",
    "deployments",
    "experiments",
    "latest_metrics",
    "metadata",
    "metrics",
    "object_ref_columns",
    "params",
    "predictions",
    "registry",
    "run_inputs",
    "runs",
    "server",
    "tags",
]
