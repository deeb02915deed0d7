"""Each drift test against scipy's own computation, and the estimator contract they share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from modelcycle.errors import InvalidInput
from modelcycle.quality._drift import DRIFT_TESTS, DriftTest, drift, drift_test_class
from modelcycle.quality._drift.chi2 import Chi2Test
from modelcycle.quality._drift.jensen_shannon import JensenShannonTest
from modelcycle.quality._drift.ks import KSTest
from modelcycle.quality._drift.psi import PSITest
from modelcycle.quality._drift.wasserstein import WassersteinTest, exact_wasserstein


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_ks_equals_scipy(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=800), rng.normal(0.1, 1.2, size=600)
    result = KSTest().fit(ref).score(cur)
    expected = stats.ks_2samp(ref, cur)
    assert result.statistic == expected.statistic
    assert result.p_value == expected.pvalue
    assert result.drifted == (expected.pvalue < 0.05)


def test_ks_through_drift_equals_scipy_on_the_non_null_values(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=500), rng.normal(0.3, size=400)
    cur_with_nulls = np.concatenate([cur, [np.nan] * 100])
    report = drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur_with_nulls}))
    expected = stats.ks_2samp(ref, cur)
    column = report["x"]
    assert (column.test, column.statistic, column.p_value) == (
        "ks",
        expected.statistic,
        expected.pvalue,
    )
    assert column.current_null_share == pytest.approx(0.2)
    assert column.current_rows == 400


def test_chi2_equals_scipy_contingency(rng: np.random.Generator) -> None:
    ref = pd.Series(rng.choice(list("abcd"), size=700, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(list("abcde"), size=500, p=[0.3, 0.3, 0.2, 0.1, 0.1]))
    result = Chi2Test().fit(ref).score(cur)
    categories = ["a", "b", "c", "d", "e"]
    table = np.vstack(
        [ref.value_counts().reindex(categories, fill_value=0), cur.value_counts()[categories]]
    )
    expected = stats.chi2_contingency(table)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.drifted  # "e" is new in the current frame


def test_chi2_with_one_shared_category_has_no_drift() -> None:
    result = Chi2Test().fit(pd.Series(["a"] * 10)).score(pd.Series(["a"] * 5))
    assert (result.statistic, result.p_value, result.drifted) == (0.0, 1.0, False)


def test_jensen_shannon_equals_scipy(rng: np.random.Generator) -> None:
    ref = pd.Series(rng.choice(list("xyz"), size=5000, p=[0.5, 0.3, 0.2]))
    cur = pd.Series(rng.choice(list("xyz"), size=4000, p=[0.3, 0.3, 0.4]))
    result = JensenShannonTest().fit(ref).score(cur)
    keys = ["x", "y", "z"]
    expected = distance.jensenshannon(ref.value_counts()[keys], cur.value_counts()[keys])
    assert result.statistic == pytest.approx(expected, rel=1e-12)
    assert result.p_value is None and result.drifted


@pytest.mark.parametrize("sizes", [(7, 11), (1000, 1000), (3000, 2200)])
def test_exact_wasserstein_equals_scipy(rng: np.random.Generator, sizes: tuple[int, int]) -> None:
    u, v = rng.lognormal(size=sizes[0]), rng.lognormal(0.2, size=sizes[1])
    assert exact_wasserstein(u, v) == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-9)


@pytest.mark.parametrize(
    "make",
    [
        lambda r: (r.normal(size=50_000), r.normal(0.05, 1.1, size=40_000)),
        lambda r: (r.exponential(size=30_000), r.exponential(1.3, size=60_000)),
        lambda r: (r.integers(0, 50, size=40_000) * 1.0, r.integers(0, 60, size=40_000) * 1.0),
    ],
)
def test_binned_wasserstein_within_its_bound_of_scipy(rng: np.random.Generator, make) -> None:
    ref, cur = make(rng)
    test = WassersteinTest(exact_below=0, tolerance=1.0).fit(ref)
    result = test.score(cur)
    exact = stats.wasserstein_distance(ref, cur) / ref.std()
    assert result.notes and result.notes[0].startswith("binned")
    bound = float(result.notes[0].split("within ")[1].split(" ")[0])
    assert bound <= 1e-3  # below the default tolerance, so drift() would take this path too
    assert abs(result.statistic - exact) <= bound


def test_wasserstein_falls_back_to_exact_when_tails_stretch_the_grid(
    rng: np.random.Generator,
) -> None:
    ref, cur = rng.standard_cauchy(size=20_000), rng.standard_cauchy(size=20_000)
    result = WassersteinTest(exact_below=0).fit(ref).score(cur)
    assert result.notes == ()
    assert result.statistic == pytest.approx(
        stats.wasserstein_distance(ref, cur) / ref.std(), rel=1e-9
    )


def test_wasserstein_constant_columns() -> None:
    result = WassersteinTest().fit(np.full(10, 3.0)).score(np.full(5, 3.0))
    assert (result.statistic, result.drifted) == (0.0, False)
    moved = WassersteinTest().fit(np.full(10, 3.0)).score(np.full(5, 4.0))
    assert moved.drifted  # std 0 is floored at 0.001, as Evidently does


def test_psi_numeric_uses_reference_quantile_bins(rng: np.random.Generator) -> None:
    ref = rng.normal(size=20_000)
    test = PSITest(kind="numeric").fit(ref)
    assert test.reference_shares_ == pytest.approx(np.full(10, 0.1), abs=1e-3)
    same = test.score(rng.normal(size=20_000))
    shifted = test.score(rng.normal(0.5, size=20_000))
    assert same.statistic < 0.01 and not same.drifted
    assert shifted.statistic > 0.2 and shifted.drifted
    ref_shares, cur_shares = test.reference_shares_, np.asarray(shifted.current_shares)
    expected = np.sum((cur_shares - ref_shares) * np.log(cur_shares / ref_shares))
    assert shifted.statistic == pytest.approx(expected)


def test_psi_categorical_floors_empty_bins() -> None:
    ref = pd.Series(["a"] * 50 + ["b"] * 50)
    result = PSITest().fit(ref).score(pd.Series(["a"] * 50 + ["c"] * 50))
    ref_s, cur_s = np.array([0.5, 0.5, 1e-4]), np.array([0.5, 1e-4, 0.5])
    assert result.statistic == pytest.approx(np.sum((cur_s - ref_s) * np.log(cur_s / ref_s)))
    assert result.bins == ("a", "b", "c")


def test_registry_is_data_and_every_entry_loads() -> None:
    assert set(DRIFT_TESTS) == {"ks", "wasserstein", "chi2", "jensen_shannon", "psi"}
    for name, target in DRIFT_TESTS.items():
        assert isinstance(target, str) and ":" in target
        cls = drift_test_class(name)
        assert issubclass(cls, DriftTest) and cls.name == name


def test_unknown_test_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="unknown drift test 'anderson'.*chi2"):
        drift_test_class("anderson")


@pytest.mark.parametrize("name", sorted(DRIFT_TESTS))
def test_estimator_contract(name: str) -> None:
    cls = drift_test_class(name)
    test = cls(threshold=0.2)
    assert test.threshold == 0.2 and not hasattr(test, "threshold_")  # __init__ only stores
    with pytest.raises(InvalidInput, match="call fit"):
        test.score(np.ones(3))
    with pytest.raises(TypeError):
        cls(0.2)  # keyword-only
    reference = np.arange(50.0) if "numeric" in cls.kinds else pd.Series(list("ab") * 25)
    assert test.fit(reference) is test and test.threshold_ == 0.2
    with pytest.raises(InvalidInput, match="no values"):
        test.score(reference[:0])


@pytest.mark.parametrize("bad", [0, -1.0, "0.1", True])
def test_threshold_is_checked_when_fitting(bad: object) -> None:
    with pytest.raises(InvalidInput, match="threshold must be a positive number"):
        KSTest(threshold=bad).fit(np.arange(5.0))  # type: ignore[arg-type]


def test_other_parameters_are_checked_when_fitting() -> None:
    with pytest.raises(InvalidInput, match="bins must be an integer >= 2"):
        PSITest(bins=1).fit(np.arange(5.0))
    with pytest.raises(InvalidInput, match="kind must be"):
        PSITest(kind="text").fit(np.arange(5.0))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="tolerance must be a positive number"):
        WassersteinTest(tolerance=0).fit(np.arange(5.0))
