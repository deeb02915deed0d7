"""Permutation feature importance, batched: one ``predict`` call per feature.

The permutations are exactly those of ``sklearn.inspection.permutation_importance`` for the same
``random_state`` (one seed drawn from it; per feature, a fresh generator from that seed shuffles
one index array in place, and each repeat permutes the previous repeat's column again), so the
numbers equal scikit-learn's. Where scikit-learn calls ``predict`` once per feature per repeat,
this stacks the repeats into one frame and calls it once per feature: a model behind a
signature check (or a remote one) pays its per-call cost ``n_features`` times, not
``n_features × n_repeats``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def permutation_orders(n_rows: int, n_repeats: int, random_state: int) -> list[np.ndarray]:
    """Row order of the permuted column for each repeat, as scikit-learn produces them."""
    import numpy as np

    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    generator = np.random.RandomState(seed)
    shuffling = np.arange(n_rows)
    current = np.arange(n_rows)
    orders = []
    for _ in range(n_repeats):
        generator.shuffle(shuffling)
        current = current[shuffling]
        orders.append(current)
    return orders


def permutation_importance(
    predict: Callable[[pd.DataFrame], np.ndarray],
    features: pd.DataFrame,
    score: Callable[[np.ndarray], float],
    *,
    n_repeats: int,
    random_state: int,
) -> dict[str, dict[str, float]]:
    """Drop in score when each feature's values are shuffled.

    Args:
        predict: predictions for a frame shaped like ``features``.
        features: the model's input columns.
        score: higher-is-better score of predictions for the original rows' targets.

    Returns:
        feature → ``{"mean", "std"}`` of (baseline score − permuted score) over the repeats.
    """
    import numpy as np
    import pandas as pd

    rows = len(features)
    baseline = score(predict(features))
    orders = permutation_orders(rows, n_repeats, random_state)
    stacked = pd.concat([features] * n_repeats, ignore_index=True)
    out = {}
    for column in features.columns:
        series = features[column]
        batch = stacked.copy()
        # Through pandas, so a categorical or string column keeps its dtype.
        batch[column] = pd.concat([series.iloc[order] for order in orders], ignore_index=True)
        predictions = predict(batch)
        drops = np.array(
            [baseline - score(predictions[r * rows : (r + 1) * rows]) for r in range(n_repeats)]
        )
        out[str(column)] = {"mean": float(drops.mean()), "std": float(drops.std())}
    return out
