"""Population Stability Index: selectable for any column (``tests="psi"``).

PSI is the credit-scoring industry's drift measure: Σ (cur − ref) · ln(cur / ref) over bins.
Numeric bins are the reference's quantiles (deciles by default), so each holds about the same
reference mass and the index does not depend on the scale; categorical bins are the categories.
Empty bins get a share of 0.0001, as Evidently does, so the logarithm stays finite.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from modelcycle.quality._drift._base import (
    DriftTest,
    TestResult,
    category_counts,
    top_categories,
)

EMPTY_SHARE = 1e-4


def _kind_or_none(value: Any) -> bool:
    return value in (None, "numeric", "categorical")


def _bins(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 2


def psi(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """The index from two share vectors over the same bins."""
    ref = np.where(reference_shares == 0, EMPTY_SHARE, reference_shares)
    cur = np.where(current_shares == 0, EMPTY_SHARE, current_shares)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


class PSITest(DriftTest):
    """PSI between the reference and current shares; drifted when >= ``threshold`` (0.1).

    Args:
        threshold: 0.1 is the usual "moderate shift" line; 0.25 is "major shift".
        kind: ``"numeric"`` (quantile bins) or ``"categorical"`` (one bin per category);
            ``None`` reads it from the reference's dtype.
        bins: the number of quantile bins for numeric columns (fewer when quantiles tie).
    """

    name = "psi"
    kinds = frozenset({"numeric", "categorical"})
    measure = "distance"
    default_threshold = 0.1
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **DriftTest._parameter_constraints,
        "kind": (_kind_or_none, "'numeric', 'categorical' or None"),
        "bins": (_bins, "an integer >= 2"),
    }

    def __init__(
        self,
        *,
        threshold: float | None = None,
        kind: Literal["numeric", "categorical"] | None = None,
        bins: int = 10,
    ) -> None:
        super().__init__(threshold=threshold)
        self.kind = kind
        self.bins = bins

    def _fit(self, reference: Any) -> None:
        kind = self.kind
        if kind is None:
            numeric = pd.api.types.is_numeric_dtype(getattr(reference, "dtype", None))
            kind = (
                "numeric"
                if numeric and not pd.api.types.is_bool_dtype(reference)
                else ("categorical")
            )
        self.kind_ = kind
        if kind == "numeric":
            values = np.asarray(reference, dtype=np.float64)
            quantiles = np.quantile(values, np.linspace(0, 1, self.bins + 1))
            # Inner edges only: the outer bins are open, so current values outside the
            # reference range still land in a bin.
            self.edges_ = np.unique(quantiles[1:-1])
            self.reference_shares_ = self._numeric_shares(values)
            self.labels_ = _open_bin_labels(self.edges_)
        else:
            self.reference_counts_ = category_counts(reference)

    def _numeric_shares(self, values: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self.edges_, values, side="left")
        return np.bincount(index, minlength=self.edges_.size + 1) / values.size

    def _score(self, current: Any) -> TestResult:
        if self.kind_ == "numeric":
            ref = self.reference_shares_
            cur = self._numeric_shares(np.asarray(current, dtype=np.float64))
            labels = self.labels_
            ref_plot, cur_plot = tuple(ref.tolist()), tuple(cur.tolist())
        else:
            counts = category_counts(current)
            categories = self.reference_counts_.index.union(counts.index, sort=False)
            ref_counts = self.reference_counts_.reindex(categories, fill_value=0).to_numpy()
            cur_counts = counts.reindex(categories, fill_value=0).to_numpy()
            ref, cur = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
            labels, ref_plot, cur_plot = top_categories(categories, ref_counts, cur_counts)
        statistic = psi(ref, cur)
        return TestResult(
            statistic=statistic,
            p_value=None,
            threshold=self.threshold_,
            drifted=self._verdict(statistic, None),
            bins=labels,
            reference_shares=ref_plot,
            current_shares=cur_plot,
        )


def _open_bin_labels(edges: np.ndarray) -> tuple[str, ...]:
    bounds = ["-inf", *(f"{e:.4g}" for e in edges), "inf"]
    return tuple(f"({a}, {b}]" for a, b in zip(bounds[:-1], bounds[1:], strict=True))
