"""Ground truth that arrives after the prediction: checked, upserted, and looked up for a join.

A label names a prediction row by ``(request_id, row)``; a bare request id means row 0, which is
the whole of a one-row request. It is stored for one deployment, or for ``""``, meaning whichever
deployment served that request id; when both exist the deployment's own label wins.

Labels are JSON scalars (numbers, strings, booleans), so classes and regression targets share one
column. Writing a label again replaces it (a correction), and a whole call is one transaction,
sent to the database in batches of :data:`BATCH_ROWS`.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from modelcycle._internal.clock import now_ms
from modelcycle.errors import InvalidInput
from modelcycle.monitoring._predlog_files import check_deployment
from modelcycle.monitoring._predlog_records import MAX_REQUEST_ID_LENGTH
from modelcycle.store._bulk import upsert_rows
from modelcycle.store.tables.predictions import prediction_labels

if TYPE_CHECKING:
    import pandas as pd

    from modelcycle.store import Store

BATCH_ROWS = 10_000
LOOKUP_CHUNK = 2_000
"""Request ids per ``IN (…)`` lookup: well under every driver's parameter limit."""
ANY_DEPLOYMENT = ""

_COLUMNS = ("request_id", "row_index", "deployment", "label", "labelled_at")
Key = tuple[str, int]


def check_labels(ids: Any, labels: Any) -> dict[Key, str]:
    """The labels keyed by ``(request_id, row)``, each encoded as JSON; a key given twice keeps
    its last label.

    Raises:
        InvalidInput: empty, different lengths, a bad id or row, or a label that is not a
            number, string or boolean (naming the first offending position).
    """
    ids = _as_list(ids, "ids")
    labels = _as_list(labels, "labels")
    if not ids:
        raise InvalidInput("no labels given: ids is empty")
    if len(ids) != len(labels):
        raise InvalidInput(
            f"ids and labels have different lengths ({len(ids)} and {len(labels)})",
            details={"ids": len(ids), "labels": len(labels)},
        )
    checked: dict[Key, str] = {}
    for position, (key, label) in enumerate(zip(ids, labels, strict=True)):
        checked[_key(key, position)] = _encode(label, position)
    return checked


def upsert_labels(store: Store, checked: dict[Key, str], deployment: str | None) -> int:
    """Store ``checked`` in one transaction; returns how many labels were written."""
    scope = ANY_DEPLOYMENT if deployment is None else check_deployment(deployment)
    at = now_ms()
    with store.write() as connection:
        for chunk in _chunks(list(checked.items()), BATCH_ROWS):
            upsert_rows(
                connection,
                prediction_labels,
                _COLUMNS,
                [(rid, row, scope, label, at) for (rid, row), label in chunk],
                key_columns=("request_id", "row_index", "deployment"),
                update_columns=("label", "labelled_at"),
            )
    return len(checked)


def lookup_labels(
    store: Store, request_ids: Sequence[str], deployments: Sequence[str]
) -> pd.DataFrame:
    """The labels of ``request_ids`` scoped to ``deployments`` or to any deployment.

    Returns a frame with columns ``deployment``, ``request_id``, ``row``, ``label``. When the
    labels in scope are few compared with the ids asked for, they are read whole in one query;
    otherwise by chunks of ids through the primary key.
    """
    import pandas as pd

    table = prediction_labels
    scopes = [ANY_DEPLOYMENT, *deployments]
    columns = (table.c.deployment, table.c.request_id, table.c.row_index, table.c.label)
    records: list[tuple[Any, ...]] = []
    if request_ids:
        with store.read() as connection:
            in_scope = connection.execute(
                select(func.count()).select_from(table).where(table.c.deployment.in_(scopes))
            ).scalar_one()
            if in_scope <= 2 * len(request_ids):
                wanted = set(request_ids)
                result = connection.execute(select(*columns).where(table.c.deployment.in_(scopes)))
                records = [r for r in result if r.request_id in wanted]
            else:
                # By request id alone, so the planner walks the primary key: with a condition
                # on deployment too, SQLite prefers that index and reads every label in scope
                # once per chunk. Labels of other deployments are dropped here instead.
                wanted_scopes = set(scopes)
                for chunk in _chunks(list(request_ids), LOOKUP_CHUNK):
                    result = connection.execute(
                        select(*columns).where(table.c.request_id.in_(chunk))
                    )
                    records.extend(r for r in result if r.deployment in wanted_scopes)
    frame = pd.DataFrame.from_records(
        [tuple(record) for record in records],
        columns=["deployment", "request_id", "row", "label"],
    )
    return frame.astype({"row": "int32"})


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise InvalidInput(
            f"{name} must be a sequence (list, array, Series), not {type(values).__name__}"
        )
    tolist = getattr(values, "tolist", None)  # numpy arrays and pandas Series, in one C call
    return list(tolist()) if callable(tolist) else list(values)


def _key(value: Any, position: int) -> Key:
    if isinstance(value, str):
        rid, row = value, 0
    elif isinstance(value, tuple | list) and len(value) == 2:
        rid, row = value
        if isinstance(row, bool) or not isinstance(row, numbers.Integral) or row < 0:
            raise InvalidInput(
                f"ids[{position}]: the row of request {rid!r:.80} must be an integer ≥ 0, "
                f"got {row!r:.40}",
                details={"position": position},
            )
        row = int(row)
    else:
        raise InvalidInput(
            f"ids[{position}] must be a request id or a (request_id, row) pair, got {value!r:.80}",
            details={"position": position},
        )
    if not isinstance(rid, str) or not 0 < len(rid) <= MAX_REQUEST_ID_LENGTH:
        raise InvalidInput(
            f"ids[{position}]: a request id is a string of 1 to {MAX_REQUEST_ID_LENGTH} "
            f"characters, got {rid!r:.80}",
            details={"position": position},
        )
    return rid, row


def _encode(label: Any, position: int) -> str:
    """``label`` as JSON text, without ``json.dumps``'s generality on the common types."""
    kind = type(label)
    if kind is int:
        return str(label)
    if kind is float:
        if math.isfinite(label):
            return repr(label)
    elif kind is str:
        return json.dumps(label)
    elif kind is bool:
        return "true" if label else "false"
    elif getattr(label, "ndim", None) == 0 and hasattr(label, "item"):  # a numpy scalar
        return _encode(label.item(), position)
    raise InvalidInput(
        f"labels[{position}] must be a finite number, a string or a boolean, got {label!r:.80}",
        details={"position": position},
    )


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
