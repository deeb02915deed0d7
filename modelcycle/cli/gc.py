"""``modelcycle gc``: remove stored objects that no run, dataset or model refers to any more.

Such objects are left behind by writes that stored their bytes but never recorded them (an
interrupted ``log_artifact``, a crashed process). The grace period (``--min-age``) protects objects
a writer has stored but not recorded *yet*.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, format_bytes, print_json, progress

_DURATION = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhd]?)", re.IGNORECASE)
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"30m"``, ``"1h"``, ``"2d"`` or ``"1.5h"``.

    Raises:
        typer.BadParameter: the text is none of these (the command then exits 2).
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not a duration; use a number of seconds or e.g. 3600s, 30m, 1h, 2d",
            param_hint="'--min-age'",
        )
    return float(match["amount"]) * _SECONDS_PER_UNIT[match["unit"].lower()]


def collect_garbage(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be removed; remove nothing.")
    ] = False,
    min_age: Annotated[
        str,
        typer.Option(
            "--min-age",
            metavar="DURATION",
            help="Keep objects younger than this, e.g. 3600s, 30m, 1h, 2d (a bare number is "
            "seconds). Writes in progress are protected by it; 0 sweeps everything "
            "unreferenced, which is safe only when nothing is writing.",
        ),
    ] = "1h",
    keep_deleted_runs: Annotated[
        bool,
        typer.Option(
            "--keep-deleted-runs",
            help="Do not purge deleted runs (`runs delete`, and every run of an experiment "
            "deleted with `experiments delete`); by default they and everything they logged "
            "are removed for good first, so their artifacts can be swept.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Purge deleted runs (and the runs of deleted experiments), then remove stored objects
    nothing refers to any more. A deleted experiment itself stays: restored, it comes back empty.

    Objects left by interrupted writes are removed once older than --min-age.

    JSON: {"dry_run", "min_age_seconds", "purged_runs", "removed", "freed_bytes", "kept",
    "temp_removed"}.
    """
    from modelcycle.config import current_settings, resolve_uri
    from modelcycle.store import opened
    from modelcycle.tracking.service import TrackingService

    min_age_seconds = parse_duration(min_age)
    settings = current_settings()
    with opened(resolve_uri(settings.uri, settings.artifacts)) as store, progress() as bar:
        purged = 0
        if not keep_deleted_runs:
            purged = TrackingService(store).purge_deleted_runs(dry_run=dry_run)
        task = bar.add_task("Examining objects", total=None)
        result = store.collect_garbage(
            min_age_seconds=min_age_seconds,
            dry_run=dry_run,
            progress=lambda count: bar.advance(task, count),
        )
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "min_age_seconds": min_age_seconds,
                "purged_runs": purged,
                **asdict(result),
            }
        )
        return
    runs = _count(purged, "deleted run")
    temp = _count(result.temp_removed, "abandoned temp file")
    kept = _count(result.kept, "object")
    if dry_run:
        summary = (
            f"Would purge {runs}, remove {_count(result.removed, 'object')} and free "
            f"{format_bytes(result.freed_bytes)}, and {temp}; would keep {kept}. "
            "Nothing was removed (dry run)."
        )
    else:
        summary = (
            f"Purged {runs}, removed {_count(result.removed, 'object')} and freed "
            f"{format_bytes(result.freed_bytes)}, and {temp}; kept {kept}."
        )
    console().print(summary, highlight=False)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
