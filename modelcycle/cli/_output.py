"""How the command line writes: rich for people, plain JSON for machines, progress on stderr.

Consoles are made per call rather than at import: rich resolves ``sys.stdout`` when it writes, but
detects colour support when it is built, and a test runner swaps the streams between commands.
Progress bars and spinners go to stderr, so ``--json`` output on stdout stays parseable while a
person still sees that work is happening.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress

SHORT_ID_LENGTH = 8
"""Characters of a run id shown in tables; every command taking a run id accepts this prefix."""

JsonFlag = Annotated[
    bool,
    typer.Option("--json", help="Print JSON on stdout instead of tables, and nothing else."),
]
"""The ``--json`` option every listing and show command takes."""

STATUS_STYLES: Mapping[str, str] = {
    "RUNNING": "cyan",
    "FINISHED": "green",
    "FAILED": "red",
    "KILLED": "yellow",
}


def console() -> Console:
    """The console for results (stdout)."""
    return Console()


def err_console() -> Console:
    """The console for errors, hints and progress (stderr)."""
    return Console(stderr=True)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout, unstyled and unwrapped, and nothing else."""
    text = json.dumps(jsonable(data), indent=2, allow_nan=False)
    console().out(text, highlight=False)


def jsonable(value: Any) -> Any:
    """``value`` with what JSON cannot hold made plain: times as ISO 8601 strings, NaN and
    infinities as ``null`` (strict parsers such as ``jq`` reject the bare ``NaN`` Python writes),
    tuples as lists."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        # "Z" for UTC, as pydantic writes the entities, so every command's times look alike.
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def short_id(run_id: str) -> str:
    return run_id[:SHORT_ID_LENGTH]


def status_text(status: str) -> Text:
    """A run status in its colour."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def plain(value: Any, style: str = "") -> Text:
    """A table cell holding user data (a name, a param, a tag), never parsed as rich markup:
    a tag value such as ``[red]`` must show as typed."""
    return Text(format_value(value), style=style)


def format_time(moment: datetime | None, *, seconds: bool = True) -> str:
    """A timestamp in the local time zone (people read logs in their own time), to the second
    or, where columns are scarce, to the minute."""
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_duration(seconds: float | None) -> str:
    """``1.2s``, ``3m05s``, ``2h01m``: short enough for a table column."""
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def run_duration(start: datetime, end: datetime | None) -> float:
    """Seconds a run took, or has taken so far when it is still running."""
    from datetime import UTC

    return ((end or datetime.now(UTC)) - start).total_seconds()


def format_bytes(size: int | None) -> str:
    """``512 B``, ``1.5 KiB``, ``3.2 GiB``."""
    if size is None:
        return "-"
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, unit = float(size), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def format_value(value: Any) -> str:
    """A param, metric or tag value for a table cell: floats to 6 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def progress(*, transient: bool = True) -> Progress:
    """A progress bar on stderr: spinner, description, bar, counts and elapsed time.

    Args:
        transient: erase the bar when the work is done, leaving only the command's result.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=transient,
    )
