"""``runs list`` output: the search-results frame as a table for people or as JSON records.

A search may return runs with dozens of params and metrics; a terminal holds a handful of
columns. The table keeps the keys the user asked about (named in ``--filter`` or ``--order-by``)
first, then metrics before params, then those most runs have, as many as fit the terminal's
width, and says how many it left out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelcycle.cli._output import (
    format_duration,
    format_time,
    format_value,
    plain,
    run_duration,
    short_id,
    status_text,
)

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table
    from rich.text import Text

MAX_METRIC_COLUMNS = 5
MAX_PARAM_COLUMNS = 4
_KEYED_PREFIXES = ("params.", "metrics.", "tags.")
_ATTRIBUTE_HEADERS = ("run", "name", "experiment", "status", "started", "duration")
_COLUMN_PADDING = 3
"""A rich table cell's padding on both sides and its right border."""
_MAX_VALUE_WIDTH = 12
"""Widest a value column is counted when deciding what fits; rich truncates longer values."""


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON-ready record per run, shaped like the ``Run`` entity (``id``, ``params`` …).

    The frame has a column per key across all runs; a run's own keys are its non-missing cells.
    """
    records = []
    for row in frame.to_dict("records"):
        record: dict[str, Any] = {
            "id": row["run_id"],
            "name": row["name"],
            "experiment": row["experiment"],
            "status": row["status"],
            "start_time": _cell(row["start_time"]),
            "end_time": _cell(row["end_time"]),
            "parent_run_id": _cell(row["parent_run_id"]),
            "params": {},
            "metrics": {},
            "tags": {},
        }
        for column, value in row.items():
            prefix, dot, key = str(column).partition(".")
            if dot and f"{prefix}." in _KEYED_PREFIXES and _cell(value) is not None:
                record[prefix][key] = value
        records.append(record)
    return records


def runs_table(
    records: Sequence[dict[str, Any]], mentioned: str, width: int
) -> tuple[Table, list[str]]:
    """The table of runs, and notes on the columns it left out.

    Args:
        records: from :func:`frame_records`.
        mentioned: the filter and order-by text; keys it names get their columns first.
        width: the console's width; value columns are added while they fit in it.
    """
    from rich.table import Table
    from rich.text import Text

    # One experiment in the whole page (the usual `-e NAME`): say it once, in the title.
    experiments = {record["experiment"] for record in records}
    headers = [h for h in _ATTRIBUTE_HEADERS if h != "experiment" or len(experiments) > 1]
    rows = [_attribute_cells(record, headers) for record in records]
    used = 1 + sum(
        max(len(header), *(len(row[index].plain) for row in rows)) + _COLUMN_PADDING
        for index, header in enumerate(headers)
    )
    chosen = _pick_columns(records, mentioned, width - used)
    title = Text(f"experiment {next(iter(experiments))}") if len(experiments) == 1 else None
    table = Table(header_style="bold", title=title, title_justify="left")
    for header in headers:
        table.add_column(header, no_wrap=True)
    for section, key in chosen:
        kind, style = ("param", "magenta") if section == "params" else ("metric", "cyan")
        header = Text(key).append(f"\n{kind}", style="dim")
        table.add_column(header, style=style, justify="left" if kind == "param" else "right")
    for record, cells in zip(records, rows, strict=True):
        table.add_row(*cells, *(plain(record[section].get(key)) for section, key in chosen))
    notes = []
    for section in ("params", "metrics"):
        shown = sum(chosen_section == section for chosen_section, _ in chosen)
        hidden = len({key for record in records for key in record[section]}) - shown
        if hidden:
            noun = section.removesuffix("s")
            notes.append(f"{hidden} {noun} column{'s' if hidden > 1 else ''} hidden")
    return table, notes


def _attribute_cells(record: dict[str, Any], headers: Sequence[str]) -> list[Text]:
    from rich.text import Text

    cells = {
        "run": Text(short_id(record["id"])),
        "name": plain(record["name"]),
        "experiment": plain(record["experiment"]),
        "status": status_text(record["status"]),
        "started": Text(format_time(record["start_time"], seconds=False)),
        "duration": Text(format_duration(run_duration(record["start_time"], record["end_time"]))),
    }
    return [cells[header] for header in headers]


def _pick_columns(
    records: Sequence[dict[str, Any]], mentioned: str, budget: int
) -> list[tuple[str, str]]:
    """``(section, key)`` of the param and metric columns to show, in display order.

    Keys named in the filter or order come first, then metrics before params, each by how many
    runs have them. A column is taken while it fits in ``budget`` characters, and at most
    :data:`MAX_PARAM_COLUMNS` params and :data:`MAX_METRIC_COLUMNS` metrics; the first one is
    always taken, since a listing without a single value says little.
    """
    counts = Counter((section, key) for r in records for section in ("params", "metrics")
                     for key in r[section])  # fmt: skip

    def rank(column: tuple[str, str]) -> tuple[bool, bool, int, str]:
        section, key = column
        return (not _names(mentioned, *column), section == "params", -counts[column], key)

    limits = {"params": MAX_PARAM_COLUMNS, "metrics": MAX_METRIC_COLUMNS}
    chosen: list[tuple[str, str]] = []
    for section, key in sorted(counts, key=rank):
        values = (len(format_value(r[section].get(key))) for r in records)
        cost = max(len(key), min(max(values), _MAX_VALUE_WIDTH)) + _COLUMN_PADDING
        if limits[section] and (cost <= budget or not chosen):
            chosen.append((section, key))
            limits[section] -= 1
            budget -= cost
    return sorted(chosen, key=lambda column: (column[0] == "metrics", chosen.index(column)))


def _names(text: str, section: str, key: str) -> bool:
    """Whether a filter or order text names ``section.key`` (``metrics.auc``, ``metric.`auc```),
    as a whole name: ``params.C`` does not name ``params.C2``."""
    prefixes = f"{section}|{section.removesuffix('s')}"
    quoted = re.escape(key)
    pattern = rf"(?<![\w.])(?:{prefixes})\.(?:`{quoted}`|\"{quoted}\"|{quoted}(?![\w.\-/:]))"
    return re.search(pattern, text) is not None


def _cell(value: Any) -> Any:
    """``None`` for a missing cell (NaN, NaT, None); a plain ``datetime`` for a timestamp (a
    pandas ``Timestamp`` refuses ``astimezone()`` without an argument); else the value."""
    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
