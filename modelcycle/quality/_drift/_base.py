"""The estimator contract every drift test follows, and the result it returns.

A test is built with keyword parameters only, learns from the reference column in ``fit``
(trailing-underscore attributes) and compares a current column in ``score``. Keeping the
reference state on the object lets monitoring fit once and score many windows.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd

from modelcycle.errors import InvalidInput

Kind = Literal["numeric", "categorical"]
PLOT_CATEGORIES = 20
"""Categories drawn one by one; the rest are summed into ``"other"``."""


@dataclass(frozen=True)
class TestResult:
    """What one test found for one column, with the distributions the HTML page draws."""

    __test__: ClassVar[bool] = False  # not a pytest class
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    bins: tuple[str, ...]
    reference_shares: tuple[float, ...]
    current_shares: tuple[float, ...]
    notes: tuple[str, ...] = field(default=())


def _positive_or_none(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    )


class DriftTest(abc.ABC):
    """Base of the drift tests: parameter checks, ``fit``/``score`` plumbing, the verdict.

    Subclasses set ``name``, ``kinds`` (the column kinds the test is sound for), ``measure``
    (``"p_value"``: drifted when p < threshold; ``"distance"``: drifted when distance >=
    threshold, as Evidently does) and ``default_threshold``, and implement ``_fit``/``_score``.
    """

    __test__ = False  # "Test" in the name is not a pytest class
    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    measure: ClassVar[Literal["p_value", "distance"]]
    default_threshold: ClassVar[float]
    _parameter_constraints: ClassVar[dict[str, tuple[Callable[[Any], bool], str]]] = {
        "threshold": (_positive_or_none, "a positive number or None"),
    }

    def __init__(self, *, threshold: float | None = None) -> None:
        self.threshold = threshold

    def _check_params(self) -> None:
        for param, (accepts, description) in self._parameter_constraints.items():
            value = getattr(self, param)
            if not accepts(value):
                raise InvalidInput(
                    f"{type(self).__name__}({param}={value!r}): {param} must be {description}",
                    details={"test": self.name, "parameter": param},
                )

    def fit(self, reference: np.ndarray | pd.Series) -> Self:
        """Learn the reference distribution.

        Args:
            reference: the reference column's values without nulls (float64 for numeric tests).

        Returns:
            ``self``, fitted.

        Raises:
            InvalidInput: a parameter is out of range, or the column is empty.
        """
        self._check_params()
        if len(reference) == 0:
            raise InvalidInput(f"{self.name}: the reference column has no values")
        self.threshold_ = float(
            self.default_threshold if self.threshold is None else self.threshold
        )
        self._fit(reference)
        return self

    def score(self, current: np.ndarray | pd.Series) -> TestResult:
        """Compare ``current`` (values without nulls) with the fitted reference."""
        if not hasattr(self, "threshold_"):
            raise InvalidInput(f"{self.name}: call fit(reference) before score(current)")
        if len(current) == 0:
            raise InvalidInput(f"{self.name}: the current column has no values")
        return self._score(current)

    def _verdict(self, statistic: float, p_value: float | None) -> bool:
        if self.measure == "p_value":
            return bool(p_value is not None and p_value < self.threshold_)
        return bool(statistic >= self.threshold_)

    @abc.abstractmethod
    def _fit(self, reference: Any) -> None:
        """Learn the fitted state from non-empty reference values."""

    @abc.abstractmethod
    def _score(self, current: Any) -> TestResult:
        """Compare non-empty current values with the fitted state."""


def histogram_shares(
    reference: np.ndarray, current: np.ndarray, bins: int = 20
) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """Both samples binned on the same equal-width edges over their joint range, as shares."""
    low = float(min(reference.min(), current.min()))
    high = float(max(reference.max(), current.max()))
    edges = np.histogram_bin_edges(reference, bins=bins, range=(low, high))
    ref_counts = np.histogram(reference, bins=edges)[0]
    cur_counts = np.histogram(current, bins=edges)[0]
    return (
        bin_labels(edges),
        tuple((ref_counts / reference.size).tolist()),
        tuple((cur_counts / current.size).tolist()),
    )


def bin_labels(edges: np.ndarray) -> tuple[str, ...]:
    """``"[a, b)"`` labels for consecutive edges, short enough for a chart axis."""
    return tuple(f"[{a:.4g}, {b:.4g})" for a, b in zip(edges[:-1], edges[1:], strict=True))


class CategoricalTest(DriftTest):
    """A test on category counts: both frames' counts aligned on the union of categories."""

    kinds = frozenset({"categorical"})

    def _fit(self, reference: pd.Series) -> None:
        self.reference_counts_ = category_counts(reference)

    def _score(self, current: pd.Series) -> TestResult:
        current_counts = category_counts(current)
        # Reference categories first (most frequent first), then the ones new in current.
        categories = self.reference_counts_.index.union(current_counts.index, sort=False)
        ref = self.reference_counts_.reindex(categories, fill_value=0).to_numpy(np.int64)
        cur = current_counts.reindex(categories, fill_value=0).to_numpy(np.int64)
        statistic, p_value = self._compare(ref, cur)
        labels, ref_shares, cur_shares = top_categories(categories, ref, cur)
        return TestResult(
            statistic=statistic,
            p_value=p_value,
            threshold=self.threshold_,
            drifted=self._verdict(statistic, p_value),
            bins=labels,
            reference_shares=ref_shares,
            current_shares=cur_shares,
        )

    @abc.abstractmethod
    def _compare(self, reference: np.ndarray, current: np.ndarray) -> tuple[float, float | None]:
        """(statistic, p-value or None) from counts aligned on the same categories."""


def category_counts(values: pd.Series | np.ndarray) -> pd.Series:
    """Count per category, most frequent first, without the unused levels of a categorical."""
    counts = pd.Series(values).value_counts(sort=True)
    return counts[counts > 0]


def top_categories(
    categories: pd.Index, reference: np.ndarray, current: np.ndarray
) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """Labels and shares for the plot: a chart of 1000 categories is unreadable, so the most
    frequent ones (in both frames together) are drawn and the rest summed into ``"other"``."""
    ref_shares = reference / reference.sum()
    cur_shares = current / current.sum()
    if len(categories) <= PLOT_CATEGORIES:
        return (
            tuple(str(c) for c in categories),
            tuple(ref_shares.tolist()),
            tuple(cur_shares.tolist()),
        )
    keep = PLOT_CATEGORIES - 1
    order = np.argsort(-(ref_shares + cur_shares), kind="stable")[:keep]
    rest = np.ones(len(categories), dtype=bool)
    rest[order] = False
    return (
        (*(str(categories[i]) for i in order), "other"),
        (*ref_shares[order].tolist(), float(ref_shares[rest].sum())),
        (*cur_shares[order].tolist(), float(cur_shares[rest].sum())),
    )
