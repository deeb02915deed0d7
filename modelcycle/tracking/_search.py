"""``search_runs`` compiled to one SQLAlchemy Core ``SELECT runs.id``, never evaluated in Python.

How each part of a search becomes SQL, and why:

- A metric comparison that is a top-level ``AND`` operand becomes an inner join to an alias of
  ``latest_metrics`` with the key and the comparison in its ``ON`` clause. The join leaves the
  planner free to start from the ``(key, value)`` index (a selective ``metrics.auc > 0.99``)
  or from ``runs`` (a loose one, when only the first page is wanted); the primary key
  ``(run_id, key)`` allows one row per run, so a join never duplicates a run.
- Every other comparison on a keyed value (params and tags, and metrics under ``OR``/``NOT``) is
  a correlated ``EXISTS``, answered by one probe of the ``(run_id, key)`` primary key per run.
  Params and tags have no ``(key, value)`` index, and a join would tempt SQLite, when it has no
  ``ANALYZE`` statistics, to drive the query from their ``(key)`` index, which names every run.
- ``order_by`` on a metric reuses the filter's inner join for the same key (one join filters and
  sorts, and the ``(key, value)`` index delivers the rows in order, so LIMIT stops early);
  otherwise an alias is ``LEFT OUTER JOIN`` ed with the key in ``ON``, so runs without the key
  stay in the result and sort last.
- ``NULLS LAST`` is written only where a sort value can be NULL, so a plain index scan still
  serves the common orders; SQLite (3.30+) and PostgreSQL both accept it, but put NULLs at
  opposite ends without it.
- ``runs.start_time DESC, runs.id ASC`` always end the order, so LIMIT/OFFSET pages are stable.
- A run without a key never matches a comparison on it, ``!=`` included, and NaN (NULL) never
  matches a metric comparison. Nullable attributes (``end_time``, ``parent_run_id``) are
  compared as ``col IS NOT NULL AND ...`` for the same reason, which also makes ``NOT`` the exact
  complement of its operand instead of SQL's three-valued "unknown".
- ``LIKE`` and ``ILIKE`` take ``\\`` as their escape character on every database (PostgreSQL's
  default, which SQLite lacks), so ``'a\\_b'`` means the same everywhere. Case-sensitivity of
  ``LIKE`` on SQLite relies on ``PRAGMA case_sensitive_like=ON``, which the engine sets.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    not_,
    or_,
    select,
)
from sqlalchemy.sql.expression import FromClause, UnaryExpression

from modelcycle.errors import InvalidInput
from modelcycle.store.tables import latest_metrics, params, runs, tags
from modelcycle.tracking._search_parser import (
    BoolOp,
    Comparison,
    Node,
    Not,
    OrderKey,
    parse_filter,
    parse_order_by,
)

__all__ = ["build_search_query", "compile_search"]

_VALUE_TABLES: dict[str, Table] = {"metric": latest_metrics, "param": params, "tag": tags}

_ATTRIBUTE_COLUMNS = {
    "status": runs.c.status,
    "run_name": runs.c.name,
    "run_id": runs.c.id,
    "parent_run_id": runs.c.parent_run_id,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
}

_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "LIKE": lambda column, pattern: column.like(pattern, escape="\\"),
    "ILIKE": lambda column, pattern: column.ilike(pattern, escape="\\"),
    "IN": lambda column, values: column.in_(values),
    "NOT IN": lambda column, values: column.not_in(values),
    "IS NULL": lambda column, _: column.is_(None),
    "IS NOT NULL": lambda column, _: column.is_not(None),
}


def build_search_query(
    experiment_ids: Sequence[int] | None,
    filter: str | None,
    order_by: Sequence[str] | None,
    limit: int,
    offset: int,
) -> Select[tuple[str]]:
    """``SELECT runs.id`` of the active runs that match a filter, ordered, one page of them.

    Args:
        experiment_ids: the experiments to search; ``None`` for every experiment (an empty
            sequence matches no run).
        filter: e.g. ``"metrics.auc > 0.8 and params.C = '1.0'"``; empty or ``None`` for all.
        order_by: e.g. ``["metrics.auc DESC", "params.C"]``; ``None`` for ``start_time DESC``.
        limit: the largest number of ids to return, at least 1.
        offset: how many matching runs to skip, for the following pages.

    Returns:
        A Select of one column, the run id, to execute on a Connection.

    Raises:
        InvalidInput: the filter or an order_by item is malformed (``details`` hold the
            ``position`` and ``token``), or limit/offset is out of range.

    Example:
        >>> query = build_search_query([1], "metrics.auc > 0.8", ["metrics.auc DESC"], 100, 0)
        >>> # run_ids = connection.execute(query).scalars().all()
    """
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {limit}", details={"limit": limit})
    if offset < 0:
        raise InvalidInput(f"offset may not be negative, got {offset}", details={"offset": offset})
    query = compile_search(experiment_ids, parse_filter(filter), parse_order_by(order_by))
    return query.limit(limit).offset(offset)


@dataclass
class _Join:
    """One alias of a keyed-value table joined to ``runs`` on ``(run_id, key)``."""

    table: FromClause
    key: str
    inner: bool
    conditions: list[ColumnElement[bool]] = field(default_factory=list)

    def on(self) -> ColumnElement[bool]:
        columns = self.table.c
        return and_(columns.run_id == runs.c.id, columns.key == self.key, *self.conditions)


def compile_search(
    experiment_ids: Sequence[int] | None, tree: Node | None, order: Sequence[OrderKey]
) -> Select[tuple[str]]:
    """The unpaginated ``SELECT runs.id`` for a parsed filter and order (see the module doc)."""
    joins: dict[tuple[str, str], _Join] = {}
    where = [runs.c.lifecycle_stage == "active"]
    if experiment_ids is not None:
        where.append(runs.c.experiment_id.in_(list(experiment_ids)))
    for node in _conjuncts(tree):
        if isinstance(node, Comparison) and node.identifier.kind == "metric":
            join = _join_for(joins, node.identifier.kind, node.identifier.key, inner=True)
            join.conditions.append(_OPERATORS[node.op](join.table.c.value, node.value))
        else:
            where.append(_condition(node))

    sort: list[UnaryExpression[Any]] = []
    for key in order:
        identifier = key.identifier
        if identifier.kind == "attribute":
            column = _ATTRIBUTE_COLUMNS[identifier.key]
            nullable = bool(column.nullable)
        else:
            join = _join_for(joins, identifier.kind, identifier.key, inner=False)
            # An inner join's value passed a metric comparison, so it is neither missing nor NaN.
            column, nullable = join.table.c.value, not join.inner
        term = column.asc() if key.ascending else column.desc()
        sort.append(term.nulls_last() if nullable else term)
    ordered = {key.identifier.key for key in order if key.identifier.kind == "attribute"}
    if "start_time" not in ordered:
        sort.append(runs.c.start_time.desc())
    if "run_id" not in ordered:
        sort.append(runs.c.id.asc())

    source: FromClause = runs
    for join in joins.values():
        source = source.join(join.table, join.on(), isouter=not join.inner)
    query = select(runs.c.id).select_from(source).where(*where).order_by(*sort)
    return cast("Select[tuple[str]]", query)


def _conjuncts(tree: Node | None) -> tuple[Node, ...]:
    if tree is None:
        return ()
    if isinstance(tree, BoolOp) and tree.op == "AND":
        return tree.operands
    return (tree,)


def _join_for(joins: dict[tuple[str, str], _Join], kind: str, key: str, *, inner: bool) -> _Join:
    """The join for ``(kind, key)``, created on first use; the filter's joins come first."""
    if (kind, key) not in joins:
        table = _VALUE_TABLES[kind].alias(f"{kind}_{len(joins)}")
        joins[kind, key] = _Join(table, key, inner)
    return joins[kind, key]


def _condition(node: Node) -> ColumnElement[bool]:
    """A boolean SQL expression that is TRUE or FALSE, never NULL, for every run."""
    if isinstance(node, BoolOp):
        combine = and_ if node.op == "AND" else or_
        return combine(*(_condition(operand) for operand in node.operands))
    if isinstance(node, Not):
        return not_(_condition(node.operand))
    compare = _OPERATORS[node.op]
    identifier = node.identifier
    if identifier.kind == "attribute":
        column = _ATTRIBUTE_COLUMNS[identifier.key]
        if column.nullable and node.op not in ("IS NULL", "IS NOT NULL"):
            return and_(column.is_not(None), compare(column, node.value))
        return compare(column, node.value)
    table = _VALUE_TABLES[identifier.kind]
    return exists().where(
        table.c.run_id == runs.c.id,
        table.c.key == identifier.key,
        compare(table.c.value, node.value),
    )
