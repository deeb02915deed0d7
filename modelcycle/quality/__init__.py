"""Data quality: pure computation on data frames, no store.

Schema inference and validation, data-quality profiles, and drift detection between a
reference and a current frame; each result has ``to_dict()`` and a self-contained HTML page.
Names load on first use, so ``import modelcycle.quality`` does not import scipy.

    >>> import modelcycle as mc
    >>> report = mc.quality.drift(reference_df, current_df)  # doctest: +SKIP
    >>> report.dataset_drift, report.drifted_columns          # doctest: +SKIP
"""

from __future__ import annotations

from modelcycle._internal.lazy import lazy_getattr

__all__ = [
    "ColumnDrift",
    "DriftReport",
    "Profile",
    "Schema",
    "ValidationResult",
    "drift",
    "infer_schema",
    "profile",
    "summary_statistics",
    "validate",
]

_LAZY: dict[str, str] = {
    "drift": "modelcycle.quality._drift:drift",
    "DriftReport": "modelcycle.quality._drift:DriftReport",
    "ColumnDrift": "modelcycle.quality._drift:ColumnDrift",
    "infer_schema": "modelcycle.quality._schema:infer_schema",
    "Schema": "modelcycle.quality._schema:Schema",
    "validate": "modelcycle.quality._validate:validate",
    "ValidationResult": "modelcycle.quality._validate:ValidationResult",
    "profile": "modelcycle.quality._profile:profile",
    "Profile": "modelcycle.quality._profile:Profile",
    "summary_statistics": "modelcycle.quality._profile:summary_statistics",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
