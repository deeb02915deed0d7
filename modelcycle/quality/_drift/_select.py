"""Which test a column gets, and its values ready for the test (nulls out, types settled).

The defaults are Evidently's, the ones practitioners expect: on up to 1000 reference values a
statistical test (KS for numeric, chi-squared for categorical) whose p-value means something;
above that a distance with a threshold (normalized Wasserstein, Jensen–Shannon), because with a
million rows every p-value is ~0 and a bare p < 0.05 flags harmless noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelcycle.quality._drift._base import Kind

SMALL_SAMPLE = 1000
"""Reference values up to which the p-value tests are the default."""
MAX_DISCRETE_VALUES = 5
"""A numeric column with at most this many distinct reference values is categorical."""
_SAMPLE = 1000
"""Values looked at before paying for a full distinct count of a large numeric column."""

DEFAULT_TESTS: dict[tuple[Kind, bool], str] = {
    ("numeric", True): "ks",
    ("numeric", False): "wasserstein",
    ("categorical", True): "chi2",
    ("categorical", False): "jensen_shannon",
}
"""(column kind, reference is small) → test name."""


def default_test(kind: Kind, reference_values: int) -> str:
    """The test a column of ``kind`` gets when ``tests=`` does not name one."""
    return DEFAULT_TESTS[(kind, reference_values <= SMALL_SAMPLE)]


@dataclass(frozen=True)
class Prepared:
    """One column of both frames, ready for a test."""

    kind: Kind
    reference: np.ndarray | pd.Series
    current: np.ndarray | pd.Series
    reference_null_share: float
    current_null_share: float
    notes: tuple[str, ...]


def prepare(reference: pd.Series, current: pd.Series) -> Prepared | str:
    """The column's kind and non-null values in both frames, or why it cannot be tested.

    Numeric values become float64 arrays, categorical values a Series (object columns become
    a ``category`` Series, so the tests count codes instead of hashing objects again). Object
    columns holding several Python types, and columns numeric in one frame and text in the
    other, are compared as strings (only the distinct values are converted), with a note.
    """
    ref_kind, cur_kind = _kind(reference), _kind(current)
    for frame, kind, series in (
        ("reference", ref_kind, reference),
        ("current", cur_kind, current),
    ):
        if kind is None:
            return f"unsupported dtype {series.dtype} in the {frame} frame"
    notes: list[str] = []
    dropped: tuple[float, float] | None = None
    as_text = ref_kind != cur_kind
    if as_text:
        notes.append(
            f"{ref_kind} in the reference, {cur_kind} in the current frame: compared as strings"
        )
        ref_source: np.ndarray | pd.Series = reference
        cur_source: np.ndarray | pd.Series = current
    elif ref_kind == "numeric":
        ref_values, ref_null = _finite(reference)
        cur_values, cur_null = _finite(current)
        if not (len(ref_values) and len(cur_values) and _discrete(ref_values)):
            empty = _empty(ref_values, cur_values)
            if empty:
                return empty
            return Prepared("numeric", ref_values, cur_values, ref_null, cur_null, ())
        notes.append(f"at most {MAX_DISCRETE_VALUES} distinct values: compared as categories")
        ref_source, cur_source = ref_values, cur_values
        dropped = (ref_null, cur_null)  # nulls and ±inf are gone before factorizing
    else:
        ref_source, cur_source = reference, current
    sources = (ref_source, cur_source)
    # Object columns are factorized: that one pass finds nulls and distinct values together
    # (isna and value_counts on Python objects cost a pass each), and the distinct values
    # reveal mixed types. Arrow strings and categoricals are cheaper to count as they are.
    encoded = [_factorize(v) if as_text or _is_object(v) else None for v in sources]
    mixed = sorted({m for e in encoded if e is not None if (m := _mixed(e[1]))})
    if mixed:
        notes.append(f"mixed Python types ({', '.join(mixed)}): compared as strings")
    if as_text or mixed:
        encoded = [_as_text(*(e or _factorize(v))) for e, v in zip(encoded, sources, strict=True)]
    (ref_cat, ref_null), (cur_cat, cur_null) = (
        _categorical(*e) if e is not None else _non_null(v)
        for e, v in zip(encoded, sources, strict=True)
    )
    empty = _empty(ref_cat, cur_cat)
    if empty:
        return empty
    if dropped is not None:
        ref_null, cur_null = dropped
    return Prepared("categorical", ref_cat, cur_cat, ref_null, cur_null, tuple(notes))


def _empty(reference: np.ndarray | pd.Series, current: np.ndarray | pd.Series) -> str | None:
    frames = [name for name, v in (("reference", reference), ("current", current)) if not len(v)]
    return f"all values are null in the {' and '.join(frames)} frame" if frames else None


def _kind(series: pd.Series) -> Kind | None:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        return "categorical"
    if pd.api.types.is_object_dtype(dtype):
        return "categorical"
    return None


def _finite(series: pd.Series) -> tuple[np.ndarray, float]:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    # ±inf has no place on a distribution's axis; it counts as missing, as in Evidently.
    missing = ~np.isfinite(values)
    count = int(np.count_nonzero(missing))
    if count:
        values = values[~missing]
    return values, count / len(series)


def _factorize(values: np.ndarray | pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes per row (-1 for null) and the distinct non-null values."""
    codes, categories = pd.factorize(values, use_na_sentinel=True)
    return codes, pd.Index(np.asarray(categories, dtype=object), dtype=object)


def _categorical(codes: np.ndarray, categories: pd.Index) -> tuple[pd.Series, float]:
    missing = codes < 0
    count = int(np.count_nonzero(missing))
    if count:
        codes = codes[~missing]
    values = pd.Series(pd.Categorical.from_codes(codes, categories=categories))
    return values, count / len(missing)


def _is_object(values: np.ndarray | pd.Series) -> bool:
    return pd.api.types.is_object_dtype(values.dtype)


def _non_null(values: np.ndarray | pd.Series) -> tuple[pd.Series, float]:
    series = pd.Series(values)
    missing = series.isna().to_numpy()
    count = int(np.count_nonzero(missing))
    return (series[~missing] if count else series), count / len(series)


def _mixed(categories: pd.Index) -> str | None:
    """The pandas name of the mix ("mixed", "mixed-integer") when the values have one."""
    inferred = pd.api.types.infer_dtype(categories, skipna=True)
    return inferred if inferred.startswith("mixed") else None


def _as_text(codes: np.ndarray, categories: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """The same rows with categories as strings; values that read the same (1 and "1") merge."""
    remap, strings = pd.factorize(categories.astype(str))
    merged = np.where(codes >= 0, remap[codes], -1) if len(remap) else codes
    return merged, pd.Index(strings, dtype=object)


def _discrete(values: np.ndarray) -> bool:
    """At most a few distinct values; a sample rules out most columns without hashing them all."""
    if np.unique(values[:_SAMPLE]).size > MAX_DISCRETE_VALUES:
        return False
    return pd.unique(values).size <= MAX_DISCRETE_VALUES
