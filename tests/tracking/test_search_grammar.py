"""The search_runs filter/order-by language, run as SQL on a real SQLite file.

The runs below are small on purpose: each filter's expected ids can be checked by hand against
this table (NaN is stored as NULL; "-" means the run has no such key).

    run exp status   name      start end  parent C   model  auc  loss team  other
    r1  1   FINISHED alpha-run 1000  2000 -      1.0 LogReg 0.9  0.3  Risk  tag `my key`=x,
                                                                             metric my-key=1
    r2  1   RUNNING  Beta      2000  -    r1     0.5 logreg 0.7  NaN  risk
    r3  1   FAILED   gamma     3000  3500 r1     1.0 -      0.8  -    -     tag note=it's
    r4  1   FINISHED del_ta    4000  5000 -      -   -      -    0.1  ops   param `a b`=y
    r5  1   deleted run, matches everything: never returned
    r6  2   FINISHED other-exp 500   600  -      1.0 -      0.99 -    -
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, event, insert

from modelcycle.errors import InvalidInput
from modelcycle.store.tables import experiments, latest_metrics, metadata, params, runs, tags
from modelcycle.tracking._search import build_search_query
from modelcycle.tracking._search_parser import BoolOp, Comparison, Not, parse_filter

ALL = ["r4", "r3", "r2", "r1"]  # the default order: start_time DESC

RUNS: list[dict[str, Any]] = [
    {"id": "r1", "experiment_id": 1, "status": "FINISHED", "name": "alpha-run",
     "start_time": 1000, "end_time": 2000, "parent_run_id": None,
     "params": {"C": "1.0", "model": "LogReg"},
     "metrics": {"auc": 0.9, "loss": 0.3, "my-key": 1.0}, "tags": {"team": "Risk", "my key": "x"}},
    {"id": "r2", "experiment_id": 1, "status": "RUNNING", "name": "Beta",
     "start_time": 2000, "end_time": None, "parent_run_id": "r1",
     "params": {"C": "0.5", "model": "logreg"}, "metrics": {"auc": 0.7, "loss": None},
     "tags": {"team": "risk"}},
    {"id": "r3", "experiment_id": 1, "status": "FAILED", "name": "gamma",
     "start_time": 3000, "end_time": 3500, "parent_run_id": "r1",
     "params": {"C": "1.0"}, "metrics": {"auc": 0.8}, "tags": {"note": "it's"}},
    {"id": "r4", "experiment_id": 1, "status": "FINISHED", "name": "del_ta",
     "start_time": 4000, "end_time": 5000, "parent_run_id": None,
     "params": {"a b": "y"}, "metrics": {"loss": 0.1}, "tags": {"team": "ops"}},
    {"id": "r5", "experiment_id": 1, "status": "FINISHED", "name": "deleted",
     "start_time": 4500, "end_time": 4600, "parent_run_id": None, "lifecycle_stage": "deleted",
     "params": {"C": "1.0", "model": "LogReg"}, "metrics": {"auc": 0.95, "loss": 0.2},
     "tags": {"team": "Risk"}},
    {"id": "r6", "experiment_id": 2, "status": "FINISHED", "name": "other-exp",
     "start_time": 500, "end_time": 600, "parent_run_id": None,
     "params": {"C": "1.0"}, "metrics": {"auc": 0.99}, "tags": {}},
]  # fmt: skip


def _enable_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The engine sets these on every SQLite connection; LIKE semantics depend on the last one.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def _insert_runs(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        run = {k: v for k, v in row.items() if k not in ("params", "metrics", "tags")}
        connection.execute(insert(runs), [{"lifecycle_stage": "active", "environment": {}, **run}])
        for table, values in ((params, row["params"]), (tags, row["tags"])):
            for key, value in values.items():
                connection.execute(
                    insert(table), [{"run_id": row["id"], "key": key, "value": value}]
                )
        for key, value in row["metrics"].items():
            connection.execute(
                insert(latest_metrics),
                [{"run_id": row["id"], "key": key, "value": value, "step": 0, "timestamp": 0}],
            )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    # One file for the module: the searches only read, and writing it once keeps the tests fast.
    path = tmp_path_factory.mktemp("search") / "search.db"
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _enable_pragmas)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(experiments),
            [{"id": i, "name": f"exp{i}", "created_at": 0, "tags": {}} for i in (1, 2, 3)],
        )
        _insert_runs(conn, RUNS)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose writes are rolled back, so a test may add runs of its own."""
    with engine.connect() as conn, conn.begin() as transaction:
        yield conn
        transaction.rollback()


def search(
    connection: Connection,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    *,
    experiment_ids: Sequence[int] = (1,),
    limit: int = 100,
    offset: int = 0,
) -> list[str]:
    query = build_search_query(experiment_ids, filter, order_by, limit, offset)
    return list(connection.execute(query).scalars())


# -- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        # empty filters
        (None, ALL),
        ("", ALL),
        ("   \n\t", ALL),
        # metrics: every comparator, latest value, missing and NaN never match
        ("metrics.auc = 0.8", ["r3"]),
        ("metrics.auc != 0.8", ["r2", "r1"]),
        ("metrics.auc < 0.8", ["r2"]),
        ("metrics.auc <= 0.8", ["r3", "r2"]),
        ("metrics.auc > 0.8", ["r1"]),
        ("metrics.auc >= 0.8", ["r3", "r1"]),
        ("metrics.auc > 8e-1", ["r1"]),
        ("metrics.auc > -1", ["r3", "r2", "r1"]),
        ("metrics.auc > .75", ["r3", "r1"]),
        ("metrics.auc >= 7E-1", ["r3", "r2", "r1"]),
        ("metrics.loss != 0.5", ["r4", "r1"]),
        ("metrics.loss < 1", ["r4", "r1"]),
        ("metrics.loss >= 0 or metrics.loss < 0", ["r4", "r1"]),
        ("metrics.auc=0.9", ["r1"]),
        # params: strings; missing keys never match, not even !=
        ("params.C = '1.0'", ["r3", "r1"]),
        ('params.C = "1.0"', ["r3", "r1"]),
        ("params.C != '0.5'", ["r3", "r1"]),
        ("params.model LIKE 'Log%'", ["r1"]),
        ("params.model like 'log%'", ["r2"]),
        ("params.model ILIKE 'LOG%'", ["r2", "r1"]),
        ("params.C IN ('0.5', '2.0')", ["r2"]),
        ("params.C in ('0.5', '1.0',)", ["r3", "r2", "r1"]),
        ("params.C NOT IN ('0.5')", ["r3", "r1"]),
        ("params.C not in ('0.5', '1.0')", []),
        ("params.C = '1'", []),
        # tags
        ("tags.team = 'risk'", ["r2"]),
        ("tags.team ILIKE 'RISK'", ["r2", "r1"]),
        ("tags.team LIKE 'R%'", ["r1"]),
        ("tags.team != 'ops'", ["r2", "r1"]),
        ("tags.note = 'it''s'", ["r3"]),
        ('tags.note = "it\'s"', ["r3"]),
        # quoted keys and every prefix spelling
        ("tags.`my key` = 'x'", ["r1"]),
        ('metrics."my-key" = 1', ["r1"]),
        ("metrics.my-key = 1", ["r1"]),
        ("params.'a b' = 'y'", ["r4"]),
        ("params.`a b` = 'y'", ["r4"]),
        ("metric.auc > 0.85", ["r1"]),
        ("METRICS.auc > 0.85", ["r1"]),
        ("param.C = '0.5'", ["r2"]),
        ("parameters.C = '0.5'", ["r2"]),
        ("tag.team = 'ops'", ["r4"]),
        ("attribute.status = 'FAILED'", ["r3"]),
        ("attr.status = 'FAILED'", ["r3"]),
        ("run.status = 'FAILED'", ["r3"]),
        # attributes, bare and prefixed
        ("status = 'RUNNING'", ["r2"]),
        ("attributes.status != 'FINISHED'", ["r3", "r2"]),
        ("attributes.status IN ('FAILED', 'RUNNING')", ["r3", "r2"]),
        ("attributes.run_name = 'gamma'", ["r3"]),
        ("name LIKE '%a'", ["r4", "r3", "r2"]),
        ("run_name ILIKE 'beta'", ["r2"]),
        ("run_name LIKE 'beta'", []),
        ("run_name LIKE '%\\_%'", ["r4"]),
        ("run_name LIKE '%_%'", ALL),
        ("attributes.run_id = 'r2'", ["r2"]),
        ("id IN ('r1', 'r5', 'r6')", ["r1"]),
        ("run_id NOT IN ('r1', 'r2')", ["r4", "r3"]),
        ("attributes.start_time >= 2000", ["r4", "r3", "r2"]),
        ("start_time < 2.5e3", ["r2", "r1"]),
        ("end_time > 2000", ["r4", "r3"]),
        ("end_time IS NULL", ["r2"]),
        ("end_time is not null", ["r4", "r3", "r1"]),
        ("parent_run_id = 'r1'", ["r3", "r2"]),
        ("parent_run_id != 'r1'", []),
        ("parent_run_id IS NULL", ["r4", "r1"]),
        # AND binds tighter than OR; parentheses override
        ("metrics.auc > 0.85 or metrics.auc < 0.75 and params.C = '1.0'", ["r1"]),
        ("(metrics.auc > 0.85 or metrics.auc < 0.75) and params.C = '0.5'", ["r2"]),
        ("params.C = '1.0' and metrics.auc > 0.85 or tags.team = 'ops'", ["r4", "r1"]),
        ("params.C = '1.0' and (metrics.auc > 0.85 or tags.team = 'ops')", ["r1"]),
        ("((status = 'FAILED'))", ["r3"]),
        ("params.C = '1.0' AnD status = 'FAILED' oR status = 'RUNNING'", ["r3", "r2"]),
        ("metrics.auc > 0.5 AND metrics.auc < 0.85 and params.C = '1.0'", ["r3"]),
        # NOT is the exact complement: it matches runs without the key or with a NULL
        ("not params.C = '1.0'", ["r4", "r2"]),
        ("NOT (metrics.loss < 1)", ["r3", "r2"]),
        ("not end_time > 2500", ["r2", "r1"]),
        ("not not status = 'FAILED'", ["r3"]),
        ("not status = 'FAILED' and not status = 'RUNNING'", ["r4", "r1"]),
    ],
)
def test_filter_matches(connection: Connection, filter: str | None, expected: list[str]) -> None:
    assert search(connection, filter) == expected


def test_experiment_ids_select_the_runs(connection: Connection) -> None:
    assert search(connection, "params.C = '1.0'", experiment_ids=[1, 2]) == ["r3", "r1", "r6"]
    assert search(connection, "metrics.auc > 0.9", experiment_ids=[2]) == ["r6"]
    assert search(connection, None, experiment_ids=[]) == []
    assert search(connection, None, experiment_ids=[3]) == []


def test_and_binds_tighter_than_or_in_the_tree() -> None:
    tree = parse_filter("status = 'a' or status = 'b' and not status = 'c'")
    assert isinstance(tree, BoolOp) and tree.op == "OR"
    first, second = tree.operands
    assert isinstance(first, Comparison) and first.value == "a"
    assert isinstance(second, BoolOp) and second.op == "AND"
    assert isinstance(second.operands[1], Not)


def test_identifiers_and_values_are_normalised() -> None:
    tree = parse_filter(
        "attr.ID in ('x',) AND metrics.`a``b` >= -2 and start_time = 1700000000123"
    )
    assert isinstance(tree, BoolOp)
    run_id, metric, start = tree.operands
    assert isinstance(run_id, Comparison) and isinstance(metric, Comparison)
    assert (run_id.identifier.kind, run_id.identifier.key, run_id.op) == (
        "attribute",
        "run_id",
        "IN",
    )
    assert run_id.value == ("x",)
    assert (metric.identifier.key, metric.value) == ("a`b", -2.0)
    assert isinstance(start, Comparison) and start.value == 1700000000123
    dotted = parse_filter("metrics.train.loss<1")
    assert isinstance(dotted, Comparison) and dotted.identifier.key == "train.loss"


# -- ordering and pages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "order_by", "expected"),
    [
        (None, ["metrics.auc DESC"], ["r1", "r3", "r2", "r4"]),
        (None, ["metrics.auc ASC"], ["r2", "r3", "r1", "r4"]),
        (None, ["metrics.auc"], ["r2", "r3", "r1", "r4"]),
        # NaN (r2) and missing (r3) both sort last, tied, then by start_time DESC
        (None, ["metrics.loss"], ["r4", "r1", "r3", "r2"]),
        (None, ["metrics.loss desc"], ["r1", "r4", "r3", "r2"]),
        # ties on the value fall back to start_time DESC; missing keys last in both directions
        (None, ["params.C"], ["r2", "r3", "r1", "r4"]),
        (None, ["params.C DESC"], ["r3", "r1", "r2", "r4"]),
        (None, ["params.C DESC", "start_time ASC"], ["r1", "r3", "r2", "r4"]),
        (None, ["tags.team"], ["r1", "r4", "r2", "r3"]),
        (None, ["tags.`my key` DESC"], ["r1", "r4", "r3", "r2"]),
        (None, ["attributes.end_time"], ["r1", "r3", "r4", "r2"]),
        (None, ["end_time DESC"], ["r4", "r3", "r1", "r2"]),
        (None, ["start_time"], ["r1", "r2", "r3", "r4"]),
        (None, ["attributes.start_time DESC"], ALL),
        (None, ["run_name"], ["r2", "r1", "r4", "r3"]),
        (None, ["status", "run_id DESC"], ["r3", "r4", "r1", "r2"]),
        (None, ["parent_run_id"], ["r3", "r2", "r4", "r1"]),
        (None, [], ALL),
        # the filter's join on the same metric also orders
        ("metrics.auc > 0.1", ["metrics.auc DESC"], ["r1", "r3", "r2"]),
        ("metrics.auc > 0.1 and params.C = '1.0'", ["metrics.auc"], ["r3", "r1"]),
        ("metrics.auc > 0.1", ["metrics.loss"], ["r1", "r3", "r2"]),
        ("metrics.auc > 0.75 or metrics.loss < 1", ["metrics.auc DESC"], ["r1", "r3", "r4"]),
        ("params.C = '1.0'", ["params.C DESC", "metrics.auc"], ["r3", "r1"]),
    ],
)
def test_order_by(
    connection: Connection, filter: str | None, order_by: list[str], expected: list[str]
) -> None:
    assert search(connection, filter, order_by) == expected


def test_one_join_filters_and_orders_the_same_metric() -> None:
    query = build_search_query([1], "metrics.auc > 0.5", ["metrics.auc DESC"], 10, 0)
    sql = str(query)
    assert sql.count("JOIN latest_metrics") == 1
    assert "LEFT OUTER" not in sql
    assert re.search(r"ORDER BY \w+\.value DESC, runs\.start_time DESC, runs\.id ASC", sql)


def test_equal_start_times_are_ordered_by_id(connection: Connection) -> None:
    base = {"experiment_id": 3, "status": "FINISHED", "start_time": 7, "end_time": None,
            "parent_run_id": None, "params": {}, "metrics": {}, "tags": {}}  # fmt: skip
    _insert_runs(connection, [{**base, "id": i, "name": i} for i in ("c", "a", "d", "b")])
    assert search(connection, experiment_ids=[3]) == ["a", "b", "c", "d"]
    assert search(connection, None, ["metrics.x DESC"], experiment_ids=[3]) == ["a", "b", "c", "d"]


def test_limit_and_offset_page_through_a_stable_order(connection: Connection) -> None:
    order = ["params.C DESC"]
    pages = [search(connection, None, order, limit=3, offset=offset) for offset in (0, 3, 6)]
    assert pages == [["r3", "r1", "r2"], ["r4"], []]
    assert search(connection, "params.C = '1.0'", limit=1, offset=1) == ["r1"]


@pytest.mark.parametrize(
    ("limit", "offset", "field"), [(0, 0, "limit"), (-1, 0, "limit"), (10, -1, "offset")]
)
def test_limit_and_offset_are_checked(limit: int, offset: int, field: str) -> None:
    with pytest.raises(InvalidInput, match=field) as caught:
        build_search_query([1], None, None, limit, offset)
    assert caught.value.details == {field: limit if field == "limit" else offset}


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "position", "token", "message"),
    [
        ("metrics.auc => 1", 12, "=>", "expected a comparator after 'metrics.auc'"),
        ("metrics.auc == 1", 12, "==", "expected a comparator"),
        ("params.C NOT LIKE 'a'", 9, "NOT", "expected a comparator"),
        ("metrics.auc", 11, "", "expected a comparator"),
        ("metricz.auc > 1", 0, "metricz.auc", "; did you mean 'metrics.auc'?"),
        ("parms.C = '1'", 0, "parms.C", "unknown prefix 'parms' at position 0"),
        ("parms.C = '1'", 0, "parms.C", "did you mean 'params.C'?"),
        ("tagz.`a b` = '1'", 0, "tagz.`a b`", "did you mean 'tags.a b'?"),
        ("atr.status = '1'", 0, "atr.status", "did you mean 'attributes.status'?"),
        ("foo.bar = '1'", 0, "foo.bar", "; use metrics., params., tags. or attributes."),
        ("attributes.colour = 'x'", 0, "attributes.colour", "; Attributes are status, run_name"),
        ("attributes.stauts = 'x'", 0, "attributes.stauts", "did you mean 'status'?"),
        ("auc > 0.5", 0, "auc", "unknown identifier at position 0, got 'auc'; write metrics.auc"),
        ("metrics. > 1", 0, "metrics.", "expected a key after 'metrics.'"),
        ("metrics.auc >", 13, "", "expected a value after '>'"),
        ("metrics.auc > and status = 'x'", 14, "and", "expected a value"),
        ("params.C = 'abc", 11, "'abc", "unclosed quote"),
        ("params.`C = 'abc'", 7, "`C = 'abc'", "unclosed quote"),
        ("(metrics.auc > 1", 0, "(", "unclosed parenthesis"),
        ("((metrics.auc > 1)", 0, "(", "unclosed parenthesis"),
        ("(metrics.auc > 1 status = 'x')", 17, "status", "expected AND, OR or ')'"),
        ("metrics.auc > 1 foo", 16, "foo", "expected AND, OR or the end of the filter"),
        ("metrics.auc > 1)", 15, ")", "expected AND, OR or the end"),
        ("metrics.auc > 1 && status = 'x'", 16, "&", "unexpected character"),
        ("status = 'x' and", 16, "", "expected an identifier"),
        ("and status = 'x'", 0, "and", "expected an identifier"),
        ("()", 1, ")", "expected an identifier"),
        ("metrics.auc = 'high'", 14, "'high'", "metrics.auc is a number; expected a number"),
        ("start_time > '2024'", 13, "'2024'", "start_time is a number"),
        (
            "metrics.auc LIKE '%'",
            12,
            "LIKE",
            "metrics.auc is a number; expected = != < <= > or >=",
        ),
        ("metrics.auc IN (1, 2)", 12, "IN", "is a number"),
        ("params.C > '1'", 9, ">", "params are strings; expected = != LIKE ILIKE IN or NOT IN"),
        ("params.C > '1'", 9, ">", "; log the value as a metric to compare it as a number"),
        ("tags.t <= 'a'", 7, "<=", "tags are strings"),
        ("status > 'a'", 7, ">", "status is a string"),
        ("params.C = 1.0", 11, "1.0", "params.C is a string; expected a quoted value"),
        ("params.C = 1.0", 11, "1.0", "got '1.0'; write '1.0'"),
        ("params.C IN ('a', 2)", 18, "2", "is a string; expected a quoted value"),
        ("params.C IN ()", 13, ")", "empty IN list"),
        ("params.C NOT IN ( )", 18, ")", "empty NOT IN list"),
        ("params.C IN 'a'", 12, "'a'", "expected '(' after IN"),
        ("params.C IN ('a' 'b')", 17, "'b'", "expected ',' or ')' in the list"),
        ("params.C IN ('a'", 12, "(", "unclosed parenthesis"),
        ("params.C IN ('a',", 17, "", "expected a value after 'IN'"),
        ("params.C IN ('a', ,)", 18, ",", "expected a value after 'IN'"),
        ("params.C = ('a')", 11, "(", "expected a value after '='"),
        ("tags.t IS NULL", 7, "IS", "tags.t cannot be NULL"),
        ("metrics.m is not null", 10, "is", "IS NULL and IS NOT NULL apply to attributes only"),
        ("end_time IS 5", 12, "5", "expected NULL after IS"),
        ("params.C LIKE 'a\\'", 14, "'a\\'", "may not end with a lone"),
        ("(" * 101 + "status = 'x'" + ")" * 101, 100, "(", "nesting deeper than 100"),
    ],
)
def test_filter_errors(filter: str, position: int, token: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_search_query([1], filter, None, 10, 0)
    error = caught.value
    assert error.details == {"position": position, "token": token}
    assert error.message.startswith("filter: ")
    assert message in error.message
    assert f"at position {position}, got " in error.message


def test_error_message_quotes_the_token_and_position() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filter("metrics.auc => 1")
    assert caught.value.message == (
        "filter: expected a comparator after 'metrics.auc' at position 12, got '=>'"
    )
    with pytest.raises(InvalidInput, match="at position 13, got the end of the input$"):
        parse_filter("metrics.auc >")


@pytest.mark.parametrize(
    ("order_by", "index", "position", "token", "message"),
    [
        (["metrics.auc DOWN"], 0, 12, "DOWN", "expected ASC or DESC after 'metrics.auc'"),
        (["start_time", "metrics.auc DESC extra"], 1, 17, "extra", "expected ASC or DESC"),
        (["metricz.auc"], 0, 0, "metricz.auc", "unknown prefix 'metricz'"),
        (["attributes.colour"], 0, 0, "attributes.colour", "unknown attribute"),
        (["auc DESC"], 0, 0, "auc", "unknown identifier"),
        (["  "], 0, 2, "", "expected an identifier"),
        (["DESC"], 0, 0, "DESC", "expected an identifier"),
        (["metrics.auc, params.C"], 0, 11, ",", "expected ASC or DESC"),
        (["params.`C DESC"], 0, 7, "`C DESC", "unclosed quote"),
    ],
)
def test_order_by_errors(
    order_by: list[str], index: int, position: int, token: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_search_query([1], None, order_by, 10, 0)
    error = caught.value
    assert error.details == {"position": position, "token": token, "index": index}
    assert error.message.startswith(f"order_by[{index}]: ")
    assert message in error.message
