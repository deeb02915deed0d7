"""The per-column figures behind a profile and behind ``summary_statistics``.

A numeric column is sorted once; every figure then comes from that sorted array without another
pass: missing values sit at the end, quantiles are index look-ups, distinct values are the steps
between neighbours, and outlier counts and histogram bins are binary searches for their bounds.
That keeps a million-row column to one sort plus a few linear passes. Other columns are counted
with one ``value_counts``. numpy warnings are silenced where an empty or all-missing column makes
a figure undefined: that figure is ``None`` instead, as is an infinite mean, bound or quantile
(JSON has no infinity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Stat = float | int | str | None

HISTOGRAM_BINS = 20
TOP_VALUES = 10
Z_LIMIT = 3.0
IQR_FACTOR = 1.5
QUANTILES = (("p25", 0.25), ("p50", 0.5), ("p75", 0.75))


@dataclass
class ColumnFacts:
    """What one pass over a column found; the profile and the statistics read from it."""

    kind: str
    """``numeric``, ``boolean``, ``datetime`` or ``categorical``."""
    stats: dict[str, Stat]
    outliers_zscore: int | None = None
    outliers_iqr: int | None = None
    type_mismatches: int = 0
    bars: list[tuple[str, int]] = field(default_factory=list)
    """(bin or category label, count) for the chart; top categories or histogram bins."""


def column_facts(series: pd.Series) -> ColumnFacts:
    """Figures for one column, chosen by its dtype."""
    from pandas.api import types

    dtype = series.dtype
    if types.is_bool_dtype(dtype):
        return _counted(series, "boolean")
    if types.is_numeric_dtype(dtype):
        return _numeric(series.to_numpy(dtype="float64", na_value=math.nan))
    if types.is_datetime64_any_dtype(dtype):
        return _datetime(series)
    return _counted(series, "categorical", check_types=types.is_object_dtype(dtype))


def _numeric(values: np.ndarray) -> ColumnFacts:
    import numpy as np

    ordered = np.sort(values)  # NaN sorts last
    count = len(ordered) - int(np.count_nonzero(np.isnan(ordered)))
    present = ordered[:count]
    stats: dict[str, Stat] = {"count": count, "nulls": len(ordered) - count}
    if count == 0:
        stats.update(dict.fromkeys(("mean", "std", "min", "p25", "p50", "p75", "max")))
        stats["distinct"] = 0
        return ColumnFacts("numeric", stats)
    with np.errstate(all="ignore"):  # infinities make mean and std NaN; reported as None
        mean = float(present.mean())
        std = float(present.std(ddof=1)) if count > 1 else math.nan
        quantiles = {name: _quantile(present, q) for name, q in QUANTILES}
    stats.update(
        mean=_finite(mean),
        std=_finite(std),
        min=_finite(float(present[0])),
        **{name: _finite(value) for name, value in quantiles.items()},
        max=_finite(float(present[-1])),
        distinct=1 + int(np.count_nonzero(present[1:] != present[:-1])),
    )
    zscore = None
    if math.isfinite(mean) and math.isfinite(std) and std > 0:
        zscore = _outside(present, mean - Z_LIMIT * std, mean + Z_LIMIT * std)
    spread = quantiles["p75"] - quantiles["p25"]
    iqr = None
    if math.isfinite(spread):
        iqr = _outside(
            present, quantiles["p25"] - IQR_FACTOR * spread, quantiles["p75"] + IQR_FACTOR * spread
        )
    return ColumnFacts("numeric", stats, zscore, iqr, bars=_histogram(present))


def _quantile(ordered: np.ndarray, q: float) -> float:
    """Linear interpolation between order statistics, as ``pandas.Series.quantile`` does."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    below, above = float(ordered[low]), float(ordered[high])
    return below if below == above else below + (above - below) * (position - low)


def _outside(ordered: np.ndarray, low: float, high: float) -> int:
    """How many sorted values lie strictly below ``low`` or strictly above ``high``."""
    import numpy as np

    below = int(np.searchsorted(ordered, low, side="left"))
    above = len(ordered) - int(np.searchsorted(ordered, high, side="right"))
    return below + above


def _histogram(ordered: np.ndarray) -> list[tuple[str, int]]:
    """Counts in equal-width bins over the finite values; the last bin includes its right edge."""
    import numpy as np

    start = int(np.searchsorted(ordered, -np.inf, side="right"))
    stop = int(np.searchsorted(ordered, np.inf, side="left"))
    finite = ordered[start:stop]
    if not len(finite):
        return []
    low, high = float(finite[0]), float(finite[-1])
    if low == high:
        return [(f"{low:.4g}", len(finite))]
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    positions = np.searchsorted(finite, edges, side="left")
    positions[-1] = len(finite)
    counts = np.diff(positions)
    return [(f"{edges[i]:.4g}", int(counts[i])) for i in range(HISTOGRAM_BINS)]


def _datetime(series: pd.Series) -> ColumnFacts:
    present = series.dropna()
    count = len(present)
    stats: dict[str, Stat] = {
        "count": count,
        "nulls": len(series) - count,
        "min": present.min().isoformat() if count else None,
        "max": present.max().isoformat() if count else None,
        "distinct": int(present.nunique()),
    }
    return ColumnFacts("datetime", stats)


def _counted(series: pd.Series, kind: str, *, check_types: bool = False) -> ColumnFacts:
    counts = series.value_counts(dropna=True, sort=True)
    count = int(counts.sum())
    stats: dict[str, Stat] = {
        "count": count,
        "nulls": len(series) - count,
        "distinct": len(counts),
        "top": str(counts.index[0]) if len(counts) else None,
        "top_count": int(counts.iloc[0]) if len(counts) else None,
    }
    bars = [(str(label), int(n)) for label, n in counts.head(TOP_VALUES).items()]
    mismatches = _mixed_types(series, count) if check_types else 0
    return ColumnFacts(kind, stats, type_mismatches=mismatches, bars=bars)


def _mixed_types(series: pd.Series, present: int) -> int:
    """In an object column mixing numbers and text, how many values are of the rarer kind.

    Which kind is "right" is a guess, so the minority is counted: one stray ``"n/a"`` among
    numbers, or one stray number among labels.
    """
    import pandas as pd
    from pandas.api import types

    if not types.infer_dtype(series, skipna=True).startswith("mixed"):
        return 0
    try:
        numbers = int(pd.to_numeric(series, errors="coerce").notna().sum())
    except TypeError:  # cells holding lists or dicts: neither numbers nor text
        return 0
    return min(numbers, present - numbers)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
