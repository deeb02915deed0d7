"""Self-contained HTML for quality reports: one page, inline CSS and SVG, nothing fetched.

A report must open from a CI artifact or an e-mail with no network, so charts are SVG drawn
here from counts the report already computed (no plotting library, no JavaScript).
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.3rem .7rem;text-align:left;
border-bottom:1px solid #e4e7eb;font-variant-numeric:tabular-nums}th{background:#f5f7fa}
.bad{color:#b42318;font-weight:600}.good{color:#067647}.muted{color:#7b8794}
.chart{margin:.3rem 0 1.2rem}.legend span{display:inline-block;margin-right:1rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""
REFERENCE_COLOR = "#4c78a8"
CURRENT_COLOR = "#f58518"


def escape(value: object) -> str:
    """Text for HTML; every value from user data goes through here."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    """A whole HTML document around ``body`` (already-escaped HTML)."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    row_classes: Sequence[str] | None = None,
) -> str:
    """An HTML table; cells are escaped, a row may carry a CSS class (``bad``, ``good``)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f" class='{row_classes[index]}'" if row_classes and row_classes[index] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def bars_svg(
    labels: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float] | None = None,
    *,
    width: int = 560,
    height: int = 160,
) -> str:
    """Side-by-side bars of two distributions (shares per bin or category) as inline SVG.

    Args:
        labels: one per bin or category, shown under the bars when they fit.
        reference: the reference share (or count) per label.
        current: the current share per label; omitted for a single distribution.
    """
    series = [(reference, REFERENCE_COLOR)] + ([(current, CURRENT_COLOR)] if current else [])
    top = max((max(values, default=0.0) for values, _ in series), default=0.0) or 1.0
    plot_height = height - 24
    slot = width / max(len(labels), 1)
    bar = max(slot / (len(series) + 1), 1.0)
    shapes = []
    for offset, (values, color) in enumerate(series):
        for index, value in enumerate(values):
            bar_height = plot_height * float(value) / top
            x = index * slot + offset * bar + bar / 2
            shapes.append(
                f"<rect x='{x:.1f}' y='{plot_height - bar_height:.1f}' width='{bar:.1f}' "
                f"height='{bar_height:.1f}' fill='{color}'><title>{escape(labels[index])}: "
                f"{float(value):.4g}</title></rect>"
            )
    if len(labels) <= 12:
        for index, label in enumerate(labels):
            shapes.append(
                f"<text x='{index * slot + slot / 2:.1f}' y='{height - 6}' font-size='10' "
                f"text-anchor='middle'>{escape(str(label)[:14])}</text>"
            )
    return (
        f"<svg class='chart' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"xmlns='http://www.w3.org/2000/svg' role='img'>{''.join(shapes)}</svg>"
    )


def legend() -> str:
    """The colour key for :func:`bars_svg` with two series."""
    return (
        f"<div class='legend'><span><i class='swatch' style='background:{REFERENCE_COLOR}'></i>"
        f"reference</span><span><i class='swatch' style='background:{CURRENT_COLOR}'></i>"
        "current</span></div>"
    )


def write_page(path: str | os.PathLike[str], document: str) -> Path:
    """Write a report atomically: a temp file in the same folder, renamed over ``path``.

    A reader never sees half a page and a failed write leaves the old page in place. The folder
    is created, and the page gets the permissions any new file would (``mkstemp`` alone makes
    it private to its owner, which is wrong for a report meant to be shared).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(document)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
