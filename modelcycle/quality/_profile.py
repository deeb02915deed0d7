"""A data-quality profile of one frame: what is missing, repeated, constant, odd or extreme.

:func:`profile` looks at every column once (see ``_profile_stats`` for how a million rows stay
fast) and at the rows once for duplicates, and returns a frozen :class:`Profile` with
``to_dict()`` for machines and ``to_html()`` for people. :func:`summary_statistics` is the
numbers-only part, which the data domain records with each dataset version and diffs between
versions.

    >>> import pandas as pd
    >>> report = profile(pd.DataFrame({"x": [1.0, 2.0, None], "y": ["a", "a", "a"]}))
    >>> report.dataset.constant_columns, report.columns[0].missing
    (['y'], 1)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from modelcycle.errors import InvalidInput
from modelcycle.quality import _html
from modelcycle.quality._profile_stats import Stat, column_facts
from modelcycle.quality._schema import check_unique_names

if TYPE_CHECKING:
    import pandas as pd


class ColumnProfile(BaseModel):
    """The quality figures of one column.

    Attributes:
        kind: ``numeric``, ``boolean``, ``datetime`` or ``categorical``.
        missing_share: missing values over rows (0 for an empty frame).
        constant: at most one distinct value, counting "missing" as a value.
        type_mismatches: in an object column mixing numbers and text, the rarer kind's count.
        outliers_zscore: values with ``|z| > 3``; ``None`` when not numeric or no spread.
        outliers_iqr: values beyond 1.5 IQR from the quartiles; ``None`` when not numeric.
        stats: the column's entry of :func:`summary_statistics`.
        bars: histogram bins (numeric) or top values (others) as (label, count), for charts.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    dtype: str
    kind: str
    missing: int
    missing_share: float
    distinct: int
    constant: bool
    type_mismatches: int
    outliers_zscore: int | None
    outliers_iqr: int | None
    stats: dict[str, Stat]
    bars: list[tuple[str, int]] = Field(default_factory=list)


class DatasetProfile(BaseModel):
    """Frame-wide figures: size, repeated rows, constant columns, missing cells."""

    model_config = ConfigDict(frozen=True)

    rows: int
    columns: int
    duplicate_rows: int
    missing_cells: int
    constant_columns: list[str]


class Profile(BaseModel):
    """A data-quality profile: frame-wide figures and one :class:`ColumnProfile` per column."""

    model_config = ConfigDict(frozen=True)

    dataset: DatasetProfile
    columns: list[ColumnProfile]

    def column(self, name: str) -> ColumnProfile:
        """The profile of one column.

        Raises:
            InvalidInput: the frame had no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise InvalidInput(f"the profile has no column {name!r}", details={"column": name})

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-ready values."""
        return self.model_dump(mode="json")

    def to_html(self, title: str = "Data-quality profile") -> str:
        """A self-contained HTML page: overview, a table per concern, a chart per column."""
        return _render(self, title)

    def save_html(self, path: str | Path, title: str = "Data-quality profile") -> Path:
        """Write :meth:`to_html` to ``path`` through a temporary file and a rename, so a reader
        never sees half a page; returns the path."""
        return _html.write_page(path, self.to_html(title))


def profile(df: pd.DataFrame) -> Profile:
    """The data-quality profile of ``df``.

    An empty frame (no rows, or no columns) gives a valid profile with zero counts and
    ``None`` statistics, so a pipeline that filtered everything away still gets a report.

    Raises:
        InvalidInput: ``df`` is not a DataFrame or repeats a column name.
    """
    _check_frame(df, "profile")
    rows = len(df)
    columns = []
    for name in df.columns:
        series = df[name]
        facts = column_facts(series)
        missing = int(facts.stats["nulls"] or 0)
        distinct = int(facts.stats["distinct"] or 0)
        columns.append(
            ColumnProfile(
                name=str(name),
                dtype=str(series.dtype),
                kind=facts.kind,
                missing=missing,
                missing_share=missing / rows if rows else 0.0,
                distinct=distinct,
                constant=rows > 0 and distinct + (1 if missing else 0) <= 1,
                type_mismatches=facts.type_mismatches,
                outliers_zscore=facts.outliers_zscore,
                outliers_iqr=facts.outliers_iqr,
                stats=facts.stats,
                bars=facts.bars,
            )
        )
    dataset = DatasetProfile(
        rows=rows,
        columns=len(columns),
        duplicate_rows=_duplicate_rows(df),
        missing_cells=sum(column.missing for column in columns),
        constant_columns=[column.name for column in columns if column.constant],
    )
    return Profile(dataset=dataset, columns=columns)


def summary_statistics(df: pd.DataFrame) -> dict[str, dict[str, Stat]]:
    """Per column: count, nulls, distinct and, for numbers, mean, std, min, p25, p50, p75 and
    max; for other columns, the most frequent value (``top``) and its ``top_count``; for
    datetimes, min and max as ISO strings. Undefined figures (the mean of an all-missing
    column) are ``None``.

    Raises:
        InvalidInput: ``df`` is not a DataFrame or repeats a column name.
    """
    _check_frame(df, "summary_statistics")
    return {str(name): column_facts(df[name]).stats for name in df.columns}


def _check_frame(df: Any, caller: str) -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"{caller} needs a pandas DataFrame, not {type(df).__name__}")
    check_unique_names(df)


def _duplicate_rows(df: pd.DataFrame) -> int:
    """Rows equal to an earlier row. Rows are hashed to 64 bits first and only the rows whose
    hash repeats are compared in full, so the count is exact but the full comparison runs on
    a handful of rows, not a million."""
    import pandas as pd

    if len(df) < 2 or not len(df.columns):
        return 0
    try:
        hashes = pd.util.hash_pandas_object(df, index=False)
        candidates = hashes.duplicated(keep=False).to_numpy()
        if not candidates.any():
            return 0
        return int(df[candidates].duplicated().sum())
    except TypeError:  # cells holding lists or dicts cannot be hashed: compare their text
        return int(df.astype(str).duplicated().sum())


def _render(report: Profile, title: str) -> str:
    data = report.dataset
    overview = _html.table(
        ["rows", "columns", "duplicate rows", "missing cells", "constant columns"],
        [
            [
                data.rows,
                data.columns,
                data.duplicate_rows,
                data.missing_cells,
                ", ".join(data.constant_columns) or "none",
            ]
        ],
    )
    quality_rows = [
        [
            column.name,
            column.kind,
            column.missing,
            f"{column.missing_share:.1%}",
            column.distinct,
            "yes" if column.constant else "",
            column.type_mismatches,
            _dash(column.outliers_zscore),
            _dash(column.outliers_iqr),
        ]
        for column in report.columns
    ]
    flagged = [
        "bad"
        if column.constant or column.type_mismatches or column.missing == data.rows > 0
        else ""
        for column in report.columns
    ]
    quality = _html.table(
        [
            "column",
            "kind",
            "missing",
            "missing %",
            "distinct",
            "constant",
            "type mismatches",
            "outliers |z|>3",
            "outliers IQR",
        ],
        quality_rows,
        flagged,
    )
    stat_names = ["count", "nulls", "mean", "std", "min", "p25", "p50", "p75", "max", "top"]
    stats = _html.table(
        ["column", *stat_names],
        [
            [column.name, *(_format(column.stats.get(name)) for name in stat_names)]
            for column in report.columns
        ],
    )
    charts = "".join(
        f"<h3>{_html.escape(column.name)}</h3>"
        + _html.bars_svg([label for label, _ in column.bars], [n for _, n in column.bars])
        for column in report.columns
        if column.bars
    )
    body = (
        f"<h2>Overview</h2>{overview}<h2>Columns</h2>{quality}"
        f"<h2>Summary statistics</h2>{stats}<h2>Distributions</h2>{charts or '<p>none</p>'}"
    )
    return _html.page(title, body)


def _dash(value: int | None) -> str | int:
    return "-" if value is None else value


def _format(value: Stat) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
