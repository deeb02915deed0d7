"""Jensen–Shannon distance: the default for categorical columns of more than 1000 rows.

On large samples any difference is "significant", so a bounded distance with a threshold in
units people can reason about (0 = identical shares, 1 = disjoint with base 2) says more
than a p-value. The value is ``scipy.spatial.distance.jensenshannon`` (natural log, as
Evidently).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import distance

from modelcycle.quality._drift._base import CategoricalTest


class JensenShannonTest(CategoricalTest):
    """Jensen–Shannon distance between the category shares; drifted when >= 0.1 by default."""

    name = "jensen_shannon"
    measure = "distance"
    default_threshold = 0.1

    def _compare(self, reference: np.ndarray, current: np.ndarray) -> tuple[float, float | None]:
        return float(distance.jensenshannon(reference, current)), None
