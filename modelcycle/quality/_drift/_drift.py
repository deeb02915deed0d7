"""``drift(reference, current)``: pick a test per column, run it, and judge the dataset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from modelcycle.errors import InvalidInput
from modelcycle.quality._drift._registry import drift_test_class
from modelcycle.quality._drift._report import ColumnDrift, DriftReport
from modelcycle.quality._drift._select import Prepared, default_test, prepare


def drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str] | None = None,
    tests: str | Mapping[str, str] | None = None,
    threshold: float | Mapping[str, float] | None = None,
    *,
    dataset_threshold: float = 0.5,
) -> DriftReport:
    """Compare the distribution of each column of ``current`` with ``reference``.

    Each column gets a test from its kind and size unless ``tests`` names one: numeric
    columns with up to 1000 reference values get Kolmogorov–Smirnov (p < 0.05), larger ones the
    Wasserstein distance normalized by the reference's std (>= 0.1); categorical columns
    (text, category, bool, or numbers with at most 5 distinct values) get chi-squared
    (p < 0.05) or the Jensen–Shannon distance (>= 0.1). ``"psi"`` fits any column. Nulls are
    left out of every test and their share is reported.

    Args:
        reference: the frame the model was trained or validated on.
        current: the frame to check.
        columns: the columns to compare; by default every column in both frames.
        tests: one test name for every column, or column → test name (others keep the
            default). Names: ``ks``, ``wasserstein``, ``chi2``, ``jensen_shannon``, ``psi``.
        threshold: one threshold for every column, or column → threshold, replacing the
            test's default.
        dataset_threshold: the share of drifted columns from which the dataset drifted.

    Returns:
        A :class:`DriftReport`; columns only one frame has, and columns that cannot be
        tested (all null, unsupported dtype), are listed in it rather than raised.

    Raises:
        InvalidInput: a frame is empty or not a DataFrame; ``columns``, ``tests`` or
            ``threshold`` name a column a frame lacks; a test name is unknown or does not
            fit the column's kind; a threshold is out of range.

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> ref = pd.DataFrame({"x": rng.normal(size=5000)})
        >>> cur = pd.DataFrame({"x": rng.normal(0.5, size=5000)})
        >>> drift(ref, cur).drifted_columns
        ['x']
    """
    reference = _frame(reference, "reference")
    current = _frame(current, "current")
    if not 0 < dataset_threshold <= 1:
        raise InvalidInput(f"dataset_threshold must be in (0, 1], got {dataset_threshold!r}")
    shared, only_ref, only_cur = _columns(reference, current, columns)
    test_names = _per_column(tests, shared, "tests")
    thresholds = _per_column(threshold, shared, "threshold")

    results: list[ColumnDrift] = []
    skipped: dict[str, str] = {}
    for name in shared:
        prepared = prepare(reference[name], current[name])
        if isinstance(prepared, str):
            skipped[name] = prepared
            continue
        test = test_names.get(name) or default_test(prepared.kind, len(prepared.reference))
        results.append(_run(name, prepared, test, thresholds.get(name)))

    drifted = sum(r.drifted for r in results)
    share = drifted / len(results) if results else 0.0
    return DriftReport(
        columns=tuple(results),
        dataset_drift=bool(results) and share >= dataset_threshold,
        drift_share=share,
        dataset_threshold=float(dataset_threshold),
        reference_rows=len(reference),
        current_rows=len(current),
        skipped=skipped,
        only_in_reference=tuple(only_ref),
        only_in_current=tuple(only_cur),
    )


def _frame(frame: Any, which: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) and hasattr(frame, "to_pandas"):
        frame = frame.to_pandas()  # a pyarrow Table
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(
            f"the {which} frame must be a pandas DataFrame, got {type(frame).__name__}",
            details={"frame": which},
        )
    if frame.empty:
        raise InvalidInput(
            f"the {which} frame is empty ({len(frame)} rows, {frame.shape[1]} columns)",
            details={"frame": which},
        )
    if not frame.columns.is_unique:
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise InvalidInput(
            f"the {which} frame has duplicate columns: {', '.join(duplicated)}",
            details={"frame": which, "columns": duplicated},
        )
    return frame


def _columns(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str] | None
) -> tuple[list[str], list[str], list[str]]:
    in_cur = set(current.columns)
    in_ref = set(reference.columns)
    if columns is None:
        shared = [c for c in reference.columns if c in in_cur]
        only_ref = [c for c in reference.columns if c not in in_cur]
        only_cur = [c for c in current.columns if c not in in_ref]
        return shared, only_ref, only_cur
    if isinstance(columns, str):
        columns = [columns]
    for which, present in (("reference", in_ref), ("current", in_cur)):
        missing = [c for c in columns if c not in present]
        if missing:
            raise InvalidInput(
                f"columns not in the {which} frame: {', '.join(map(str, missing))}",
                details={"frame": which, "columns": [str(c) for c in missing]},
            )
    return list(dict.fromkeys(columns)), [], []


def _per_column(value: Any, shared: list[str], argument: str) -> dict[str, Any]:
    """Expand a single value to every column, or check a mapping names compared columns."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return dict.fromkeys(shared, value)
    unknown = [str(c) for c in value if c not in shared]
    if unknown:
        raise InvalidInput(
            f"{argument}= names columns that are not compared: {', '.join(unknown)}",
            details={"argument": argument, "columns": unknown},
        )
    return dict(value)


def _run(name: str, prepared: Prepared, test_name: str, threshold: Any) -> ColumnDrift:
    cls = drift_test_class(test_name)
    if prepared.kind not in cls.kinds:
        raise InvalidInput(
            f"column {name!r} is {prepared.kind}; test {test_name!r} fits "
            f"{' or '.join(sorted(cls.kinds))} columns only",
            details={"column": str(name), "test": test_name, "kind": prepared.kind},
        )
    params: dict[str, Any] = {"threshold": threshold}
    if "kind" in cls._parameter_constraints:  # tests for both kinds are told which one
        params["kind"] = prepared.kind
    result = cls(**params).fit(prepared.reference).score(prepared.current)
    is_p_value = cls.measure == "p_value"
    return ColumnDrift(
        column=str(name),
        kind=prepared.kind,
        test=test_name,
        statistic=result.statistic,
        p_value=result.p_value if is_p_value else None,
        distance=None if is_p_value else result.statistic,
        threshold=result.threshold,
        drifted=result.drifted,
        reference_rows=len(prepared.reference),
        current_rows=len(prepared.current),
        reference_null_share=prepared.reference_null_share,
        current_null_share=prepared.current_null_share,
        bins=result.bins,
        reference_shares=result.reference_shares,
        current_shares=result.current_shares,
        notes=prepared.notes + result.notes,
    )
