"""The results table every benchmark prints: one row per workload, modelcycle beside its peer."""

from __future__ import annotations

from typing import Any

_STATUS_STYLE = {"PASS": "bold green", "MISS": "bold yellow", "ERROR": "bold red", "INFO": "dim"}


def results_table(title: str, rows: list[dict[str, Any]], peer_column: str, peer_key: str) -> Any:
    """A rich ``Table`` of workload, modelcycle, peer, ratio, target and result.

    Args:
        peer_column: the peer column's heading (``"MLflow 3.17.2"``, ``"peer"``).
        peer_key: the key of each row that holds the peer's figure as text.
    """
    from rich.table import Table

    table = Table(title=title, show_lines=True)
    for name, justify in (
        ("workload", "left"),
        ("modelcycle", "right"),
        (peer_column, "right"),
        ("ratio", "right"),
        ("target", "left"),
        ("result", "center"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        status = row["status"]
        table.add_row(
            row["title"],
            row["modelcycle_text"],
            row[peer_key],
            row["ratio_text"],
            row["target"],
            f"[{_STATUS_STYLE[status]}]{status}[/]",
        )
    return table
