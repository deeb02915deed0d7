"""Drift detection between a reference and a current frame.

``drift()`` → :class:`DriftReport` → one :class:`ColumnDrift` per column. Each column is
compared by a test from the registry (``DRIFT_TESTS``: ``ks``, ``wasserstein``, ``chi2``,
``jensen_shannon``, ``psi``); every test follows the estimator contract (``fit(reference)``,
``score(current)``), so monitoring can fit once and score many windows.
"""

from __future__ import annotations

from modelcycle.quality._drift._base import DriftTest, TestResult
from modelcycle.quality._drift._drift import drift
from modelcycle.quality._drift._registry import DRIFT_TESTS, drift_test_class
from modelcycle.quality._drift._report import ColumnDrift, DriftReport

__all__ = [
    "DRIFT_TESTS",
    "ColumnDrift",
    "DriftReport",
    "DriftTest",
    "TestResult",
    "drift",
    "drift_test_class",
]
