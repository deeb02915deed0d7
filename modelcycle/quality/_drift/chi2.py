"""Chi-squared test of homogeneity: the default for categorical columns of up to 1000 rows.

The 2 × k contingency table of category counts (reference row, current row) goes to
``scipy.stats.chi2_contingency``. Unlike Evidently's goodness-of-fit form, a category that
appears only in the current frame has a non-zero expected count here, so it counts as drift
instead of dividing by zero.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from modelcycle.quality._drift._base import CategoricalTest


class Chi2Test(CategoricalTest):
    """Chi-squared on category counts (scipy's Yates correction applies when there are 2).

    Drifted when the p-value is below ``threshold`` (default 0.05). A single category shared by
    both frames has no degrees of freedom: statistic 0, p-value 1.
    """

    name = "chi2"
    measure = "p_value"
    default_threshold = 0.05

    def _compare(self, reference: np.ndarray, current: np.ndarray) -> tuple[float, float | None]:
        result = stats.chi2_contingency(np.vstack([reference, current]))
        return float(result.statistic), float(result.pvalue)
