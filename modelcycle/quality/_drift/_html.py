"""The drift report as one self-contained HTML page (inline CSS and SVG, no script)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle.quality._html import bars_svg, escape, legend, page, table

if TYPE_CHECKING:
    from modelcycle.quality._drift._report import DriftReport


def _format(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def render(report: DriftReport) -> str:
    """Summary, the per-column table, one plot per column, then what was not compared."""
    verdict = "drift detected" if report.dataset_drift else "no dataset drift"
    css = "bad" if report.dataset_drift else "good"
    parts = [
        f"<p class='{css}'>{escape(verdict)}: {len(report.drifted_columns)} of "
        f"{len(report.columns)} columns drifted (share {report.drift_share:.2f}, dataset "
        f"threshold {report.dataset_threshold:.2f}).</p>",
        f"<p class='muted'>reference rows {report.reference_rows}, current rows "
        f"{report.current_rows}</p>",
        table(
            ["column", "kind", "test", "statistic", "p-value", "distance", "threshold",
             "drifted", "null share (ref / cur)"],
            [
                [c.column, c.kind, c.test, _format(c.statistic), _format(c.p_value),
                 _format(c.distance), _format(c.threshold), "yes" if c.drifted else "no",
                 f"{c.reference_null_share:.2%} / {c.current_null_share:.2%}"]
                for c in report.columns
            ],
            ["bad" if c.drifted else "" for c in report.columns],
        ),
    ]  # fmt: skip
    if report.columns:
        parts.append("<h2>Distributions</h2>" + legend())
    for column in report.columns:
        parts.append(f"<h3>{escape(column.column)}</h3>")
        for note in column.notes:
            parts.append(f"<p class='muted'>{escape(note)}</p>")
        parts.append(
            bars_svg(list(column.bins), list(column.reference_shares),
                     list(column.current_shares))
        )  # fmt: skip
    not_compared = [
        *([name, reason] for name, reason in report.skipped.items()),
        *([name, "only in the reference frame"] for name in report.only_in_reference),
        *([name, "only in the current frame"] for name in report.only_in_current),
    ]
    if not_compared:
        parts.append("<h2>Not compared</h2>" + table(["column", "reason"], not_compared))
    return page("Drift report", "".join(parts))
