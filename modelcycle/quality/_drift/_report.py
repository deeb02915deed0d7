"""The drift result: one :class:`ColumnDrift` per tested column and the dataset verdict.

Plain frozen value objects (no numpy types inside), so ``to_dict()`` is JSON as it stands and
a report can be stored, sent over HTTP or compared in a test.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: they become ``None`` (null)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class ColumnDrift:
    """How one column moved between the reference and the current frame.

    Attributes:
        column: the column name.
        kind: ``"numeric"`` or ``"categorical"`` (how the column was compared).
        test: the registry name of the test (``"ks"``, ``"wasserstein"``, ...).
        statistic: the test's statistic; for distance tests, the distance itself.
        p_value: the p-value of a statistical test, ``None`` for a distance.
        distance: the distance of a distance test, ``None`` for a statistical test.
        threshold: p-value below which, or distance from which, the column drifted.
        drifted: the verdict.
        reference_rows / current_rows: non-null values compared in each frame.
        reference_null_share / current_null_share: share of nulls left out of the test.
        bins, reference_shares, current_shares: the distributions the HTML page draws.
        notes: how the column was handled when it was not plain (mixed types, binning).
    """

    column: str
    kind: str
    test: str
    statistic: float
    p_value: float | None
    distance: float | None
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    reference_null_share: float
    current_null_share: float
    bins: tuple[str, ...] = field(default=(), repr=False)
    reference_shares: tuple[float, ...] = field(default=(), repr=False)
    current_shares: tuple[float, ...] = field(default=(), repr=False)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; non-finite numbers are ``None``."""
        return {
            "column": self.column,
            "kind": self.kind,
            "test": self.test,
            "statistic": _number(self.statistic),
            "p_value": _number(self.p_value),
            "distance": _number(self.distance),
            "threshold": _number(self.threshold),
            "drifted": self.drifted,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "reference_null_share": _number(self.reference_null_share),
            "current_null_share": _number(self.current_null_share),
            "bins": list(self.bins),
            "reference_shares": [_number(v) for v in self.reference_shares],
            "current_shares": [_number(v) for v in self.current_shares],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class DriftReport:
    """Per-column drift and the dataset verdict.

    Attributes:
        columns: one entry per tested column, in the reference frame's order.
        dataset_drift: the share of drifted columns reached ``dataset_threshold``.
        drift_share: drifted columns / tested columns (0 when none could be tested).
        dataset_threshold: the share from which the dataset counts as drifted.
        reference_rows / current_rows: rows in each frame.
        skipped: column → why it was not tested (all null, unsupported type).
        only_in_reference / only_in_current: columns the other frame lacks.

    Example:
        >>> report = drift(reference_df, current_df)  # doctest: +SKIP
        >>> report.drifted_columns, report.dataset_drift  # doctest: +SKIP
        (['age'], False)
    """

    columns: tuple[ColumnDrift, ...]
    dataset_drift: bool
    drift_share: float
    dataset_threshold: float
    reference_rows: int
    current_rows: int
    skipped: dict[str, str] = field(default_factory=dict)
    only_in_reference: tuple[str, ...] = ()
    only_in_current: tuple[str, ...] = ()

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the columns whose test says they drifted."""
        return [c.column for c in self.columns if c.drifted]

    def __getitem__(self, column: str) -> ColumnDrift:
        """The result for one column (``KeyError`` when it was not tested)."""
        for result in self.columns:
            if result.column == column:
                return result
        raise KeyError(column)

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-serialisable builtins (no numpy types, NaN → None)."""
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": _number(self.drift_share),
            "dataset_threshold": _number(self.dataset_threshold),
            "drifted_columns": self.drifted_columns,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "columns": [c.to_dict() for c in self.columns],
            "skipped": dict(self.skipped),
            "only_in_reference": list(self.only_in_reference),
            "only_in_current": list(self.only_in_current),
        }

    def to_html(self) -> str:
        """A self-contained HTML page: summary, per-column table and distribution plots."""
        from modelcycle.quality._drift._html import render

        return render(self)

    def save_html(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_html` to ``path`` atomically (temp file in the same folder, renamed).

        A reader never sees half a page, and a failed write leaves the old page in place.
        """
        from modelcycle.quality._html import write_page

        return write_page(path, self.to_html())
