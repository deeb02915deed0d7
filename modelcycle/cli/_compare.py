"""``runs compare``: params and metrics of several runs side by side.

A row whose values differ is what a person comparing runs looks for, so it is highlighted; in a
metric row the best value is starred. Whether higher or lower is better is guessed from the name
(``loss``, ``error``, ``mse`` … are minimized, everything else maximized) unless the user says.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from modelcycle.cli._output import format_duration, plain, run_duration, short_id, status_text

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from modelcycle.tracking.entities import Run

Goal = Literal["min", "max"]

LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "mape", "rmse", "perplexity", "latency")
"""Substrings of metric names for which a smaller value is better."""

BEST_MARK = " ★"
DIFFERS_STYLE = "bold yellow"
BEST_STYLE = "bold green"


@dataclass(frozen=True)
class Row:
    """One param or metric across the compared runs."""

    key: str
    values: dict[str, Any]
    """Run id → value; a run without the key is absent."""
    differs: bool
    goal: Goal | None = None
    """For metrics: whether the best value is the smallest or the largest."""
    best: tuple[str, ...] = ()
    """Run ids holding the best value (several on a tie); empty when there is no contest."""


def metric_goal(key: str, minimize: Collection[str], maximize: Collection[str]) -> Goal:
    """Whether a smaller or a larger value of metric ``key`` is better."""
    if key in minimize:
        return "min"
    if key in maximize:
        return "max"
    lowered = key.lower()
    return "min" if any(word in lowered for word in LOWER_IS_BETTER) else "max"


def compare_rows(
    runs: Sequence[Run], minimize: Collection[str] = (), maximize: Collection[str] = ()
) -> tuple[list[Row], list[Row]]:
    """The param rows and the metric rows, each sorted by key."""
    param_rows = [
        Row(key, values, _differs(values, len(runs)))
        for key, values in _by_key(runs, "params").items()
    ]
    metric_rows = []
    for key, values in _by_key(runs, "metrics").items():
        goal = metric_goal(key, minimize, maximize)
        differs = _differs(values, len(runs))
        metric_rows.append(Row(key, values, differs, goal, _best(values, goal)))
    return param_rows, metric_rows


def comparison_document(
    runs: Sequence[Run], params: Sequence[Row], metrics: Sequence[Row]
) -> dict[str, Any]:
    """The ``--json`` form: the runs compared, then one object per param and per metric."""
    return {
        "runs": [
            {"id": run.id, "name": run.name, "experiment": run.experiment,
             "status": run.status.value} for run in runs
        ],
        "params": [
            {"key": row.key, "values": row.values, "differs": row.differs} for row in params
        ],
        "metrics": [
            {"key": row.key, "values": row.values, "differs": row.differs, "goal": row.goal,
             "best": list(row.best)} for row in metrics
        ],
    }  # fmt: skip


def comparison_table(runs: Sequence[Run], params: Sequence[Row], metrics: Sequence[Row]) -> Table:
    """One column per run; run attributes, then params, then metrics, in sections."""
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold", caption=_caption(params, metrics), caption_justify="left")
    table.add_column("")
    for run in runs:
        table.add_column(Text(f"{short_id(run.id)}\n{run.name}"), overflow="fold")
    table.add_row("experiment", *(plain(run.experiment) for run in runs))
    table.add_row("status", *(status_text(run.status.value) for run in runs))
    table.add_row(
        "duration", *(format_duration(run_duration(r.start_time, r.end_time)) for r in runs)
    )
    for prefix, rows in (("params", params), ("metrics", metrics)):
        table.add_section()
        for row in rows:
            cells = [_cell(row, run.id) for run in runs]
            style = DIFFERS_STYLE if row.differs else ""
            table.add_row(Text(f"{prefix}.{row.key}", style=style), *cells)
    return table


def _cell(row: Row, run_id: str) -> Text:
    from rich.text import Text

    if run_id not in row.values:
        return Text("-", style="dim")
    if run_id in row.best:
        return plain(row.values[run_id], BEST_STYLE).append(BEST_MARK, BEST_STYLE)
    return plain(row.values[run_id], DIFFERS_STYLE if row.differs else "")


def _caption(params: Sequence[Row], metrics: Sequence[Row]) -> str:
    differing = sum(row.differs for row in (*params, *metrics))
    return (
        f"{differing} of {len(params) + len(metrics)} params and metrics differ (highlighted); "
        f"{BEST_MARK.strip()} marks the best value of a metric"
    )


def _by_key(runs: Sequence[Run], section: str) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        for key, value in getattr(run, section).items():
            rows.setdefault(key, {})[run.id] = value
    return dict(sorted(rows.items()))


def _differs(values: dict[str, Any], run_count: int) -> bool:
    """A row differs when some run lacks the key or two values are unequal (NaN equals NaN)."""
    if len(values) < run_count:
        return True
    normalized = {"NaN" if isinstance(v, float) and math.isnan(v) else v for v in values.values()}
    return len(normalized) > 1


def _best(values: dict[str, Any], goal: Goal) -> tuple[str, ...]:
    """The runs with the best value; none when fewer than two distinct numbers compete."""
    numbers = {run_id: v for run_id, v in values.items() if not math.isnan(v)}
    if len(set(numbers.values())) < 2:
        return ()
    target = min(numbers.values()) if goal == "min" else max(numbers.values())
    return tuple(run_id for run_id, value in numbers.items() if value == target)
