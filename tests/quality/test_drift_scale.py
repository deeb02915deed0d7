"""Verdicts stay sound at scale: no false alarms at 1M rows, real shifts caught.

A bare p < 0.05 test flags about 1 column in 20 of identical distributions, and at 1M rows it
flags differences nobody cares about; the default distances must not. Only three 1M-row columns
are generated (seeded) to keep the suite fast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelcycle.quality._drift import drift

MILLION = 1_000_000


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def _frame(rng: np.random.Generator, rows: int, shift: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "normal": rng.normal(shift, 1.0, rows),
            "skewed": rng.lognormal(shift, 1.0, rows),
            "plan": rng.choice(np.array(["free", "pro", "team", "enterprise"]), rows),
        }
    )


def test_independent_samples_of_one_distribution_show_no_drift_at_1m(
    rng: np.random.Generator,
) -> None:
    report = drift(_frame(rng, MILLION, 0.0), _frame(rng, MILLION, 0.0))
    assert [c.test for c in report.columns] == ["wasserstein", "wasserstein", "jensen_shannon"]
    assert report.drifted_columns == [] and not report.dataset_drift
    for column in report.columns:
        assert column.statistic < 0.01  # an order of magnitude below the 0.1 threshold


@pytest.mark.parametrize("rows", [20_000, MILLION])
def test_half_sigma_mean_shift_is_caught(rng: np.random.Generator, rows: int) -> None:
    reference = pd.DataFrame({"x": rng.normal(0.0, 1.0, rows), "y": rng.normal(0.0, 1.0, rows)})
    current = pd.DataFrame({"x": rng.normal(0.5, 1.0, rows), "y": rng.normal(0.0, 1.0, rows)})
    report = drift(reference, current)
    assert report.drifted_columns == ["x"]
    assert report["x"].statistic == pytest.approx(0.5, abs=0.03)
    assert report["y"].statistic < 0.03


def test_small_samples_use_the_p_value_and_catch_the_shift(rng: np.random.Generator) -> None:
    reference = pd.DataFrame({"x": rng.normal(0.0, 1.0, 1000)})
    current = pd.DataFrame({"x": rng.normal(0.5, 1.0, 1000)})
    column = drift(reference, current)["x"]
    assert column.test == "ks" and column.drifted and column.p_value < 1e-6
