"""Two-sample Kolmogorov–Smirnov test: the default for numeric columns of up to 1000 rows.

On small samples a p-value is meaningful and distances are noisy, so this is what Evidently
(and most practitioners) use there. The statistic and p-value are scipy's own.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from modelcycle.quality._drift._base import DriftTest, TestResult, histogram_shares


class KSTest(DriftTest):
    """``scipy.stats.ks_2samp`` (two-sided, exact or asymptotic as scipy decides).

    Drifted when the p-value is below ``threshold`` (default 0.05).

    Example:
        >>> import numpy as np
        >>> KSTest().fit(np.arange(100.0)).score(np.arange(100.0) + 50).drifted
        True
    """

    name = "ks"
    kinds = frozenset({"numeric"})
    measure = "p_value"
    default_threshold = 0.05

    def _fit(self, reference: np.ndarray) -> None:
        self.reference_ = np.asarray(reference, dtype=np.float64)

    def _score(self, current: np.ndarray) -> TestResult:
        current = np.asarray(current, dtype=np.float64)
        result = stats.ks_2samp(self.reference_, current)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        bins, ref_shares, cur_shares = histogram_shares(self.reference_, current)
        return TestResult(
            statistic=statistic,
            p_value=p_value,
            threshold=self.threshold_,
            drifted=self._verdict(statistic, p_value),
            bins=bins,
            reference_shares=ref_shares,
            current_shares=cur_shares,
        )
