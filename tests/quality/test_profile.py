"""``profile`` and ``summary_statistics``: figures checked against pandas on a small frame, the
HTML page, and the bad inputs (empty frames, all-null and mixed-type columns, infinities)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelcycle.errors import InvalidInput
from modelcycle.quality._profile import Profile, profile, summary_statistics

NUMERIC_STATS = ("mean", "std", "min", "p25", "p50", "p75", "max")


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(10.0, 2.0, 200)
    x[[3, 50]] = np.nan
    x[[7]] = 60.0  # an outlier for both rules
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 5, 200),
            "plan": rng.choice(np.array(["free", "pro", "team"]), 200),
            "same": ["k"] * 200,
            "when": pd.date_range("2024-01-01", periods=200, freq="h"),
            "flag": rng.random(200) > 0.5,
        }
    )


def test_numeric_figures_match_pandas() -> None:
    df = frame()

    stats = summary_statistics(df)

    for name in ("x", "n"):
        column = df[name]
        expected = {
            "mean": column.mean(),
            "std": column.std(),
            "min": column.min(),
            "p25": column.quantile(0.25),
            "p50": column.quantile(0.5),
            "p75": column.quantile(0.75),
            "max": column.max(),
        }
        for key, value in expected.items():
            assert stats[name][key] == pytest.approx(float(value), rel=1e-12), (name, key)
        assert stats[name]["count"] == column.count()
        assert stats[name]["nulls"] == column.isna().sum()
        assert stats[name]["distinct"] == column.nunique()


def test_categorical_figures_match_pandas() -> None:
    df = frame()

    stats = summary_statistics(df)["plan"]

    counts = df["plan"].value_counts()
    assert stats == {
        "count": 200,
        "nulls": 0,
        "distinct": 3,
        "top": counts.index[0],
        "top_count": int(counts.iloc[0]),
    }


def test_datetime_and_boolean_statistics() -> None:
    stats = summary_statistics(frame())

    assert stats["when"]["min"] == "2024-01-01T00:00:00"
    assert stats["when"]["max"] == "2024-01-09T07:00:00"
    assert stats["when"]["distinct"] == 200
    assert stats["flag"]["distinct"] == 2
    assert stats["flag"]["top"] in ("True", "False")


def test_profile_flags_missing_constant_duplicates_and_outliers() -> None:
    df = frame()
    df = pd.concat([df, df.iloc[[0, 1]]], ignore_index=True)

    report = profile(df)

    assert report.dataset.rows == 202
    assert report.dataset.columns == 6
    assert report.dataset.duplicate_rows == int(df.duplicated().sum()) == 2
    assert report.dataset.constant_columns == ["same"]
    assert report.dataset.missing_cells == 2
    x = report.column("x")
    assert (x.missing, x.missing_share) == (2, pytest.approx(2 / 202))
    values = df["x"].dropna()
    z = (values - values.mean()).abs() / values.std()
    assert x.outliers_zscore == int((z > 3).sum()) >= 1
    q1, q3 = values.quantile(0.25), values.quantile(0.75)
    iqr_expected = ((values < q1 - 1.5 * (q3 - q1)) | (values > q3 + 1.5 * (q3 - q1))).sum()
    assert x.outliers_iqr == int(iqr_expected) >= 1
    assert report.column("plan").outliers_zscore is None
    assert sum(count for _, count in x.bars) == 200


def test_duplicate_rows_are_exact_with_nulls_equal() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, np.nan, 1.0], "b": ["x", None, None, "y"]})

    assert profile(df).dataset.duplicate_rows == 1


def test_mixed_type_column_counts_the_rarer_kind() -> None:
    df = pd.DataFrame({"m": [1, 2, 3, "n/a", None], "t": ["a", "b", 7, "c", "d"]})

    report = profile(df)

    assert report.column("m").type_mismatches == 1
    assert report.column("t").type_mismatches == 1


def test_empty_frame_gives_a_valid_empty_profile() -> None:
    empty = pd.DataFrame({"x": pd.Series([], dtype="float64"), "s": pd.Series([], dtype=object)})

    report = profile(empty)

    assert report.dataset.rows == 0
    assert report.dataset.duplicate_rows == 0
    assert report.dataset.constant_columns == []
    assert report.column("x").stats["mean"] is None
    assert report.column("x").missing_share == 0.0
    assert profile(pd.DataFrame()).columns == []
    assert "<table>" in report.to_html()


def test_all_null_columns_give_none_without_warnings() -> None:
    # pytest turns warnings into errors, so "Mean of empty slice" would fail here.
    df = pd.DataFrame({"f": [np.nan] * 3, "o": [None] * 3, "i": pd.array([None] * 3, "Int64")})

    report = profile(df)

    for column in report.columns:
        assert column.missing == 3
        assert column.distinct == 0
        assert column.constant is True
    assert report.column("f").stats["mean"] is None
    assert report.column("i").stats["std"] is None
    assert report.dataset.duplicate_rows == 2


def test_infinities_and_single_values_do_not_break_json() -> None:
    df = pd.DataFrame({"x": [1.0, np.inf, -np.inf, 2.0], "one": [5.0, None, None, None]})

    document = json.loads(json.dumps(profile(df).to_dict(), allow_nan=False))

    by_name = {column["name"]: column for column in document["columns"]}
    assert by_name["x"]["stats"]["mean"] is None
    assert by_name["x"]["stats"]["min"] is None
    assert by_name["one"]["stats"]["std"] is None
    assert by_name["one"]["outliers_zscore"] is None


def test_html_is_self_contained_and_escapes_names(tmp_path: Path) -> None:
    df = frame().rename(columns={"plan": "<script>plan</script>"})
    report = profile(df)

    written = report.save_html(tmp_path / "out" / "profile.html")

    text = written.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<svg" in text
    assert "<script>" not in text
    assert "&lt;script&gt;plan" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert [path.name for path in written.parent.iterdir()] == ["profile.html"]


def test_profile_is_frozen_and_round_trips_through_json() -> None:
    report = profile(frame())

    again = Profile.model_validate(json.loads(json.dumps(report.to_dict())))

    assert again == report
    with pytest.raises(ValueError, match="frozen"):
        report.dataset = report.dataset  # type: ignore[misc]


def test_unknown_column_is_named() -> None:
    with pytest.raises(InvalidInput, match="'nope'"):
        profile(frame()).column("nope")


@pytest.mark.parametrize("call", [profile, summary_statistics])
def test_non_frame_is_invalid_input(call: object) -> None:
    with pytest.raises(InvalidInput, match="DataFrame"):
        call(np.zeros((2, 2)))  # type: ignore[operator]


def test_public_names_resolve_to_this_module_when_used_first() -> None:
    code = (
        "import modelcycle as mc\n"
        "public = mc.quality.profile, mc.quality.Profile, mc.quality.summary_statistics\n"
        "from modelcycle.quality._profile import Profile, profile, summary_statistics\n"
        "assert public == (profile, Profile, summary_statistics), public"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
