"""``drift()``: test choice per column, bad inputs, and the report as JSON and HTML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import modelcycle as mc
from modelcycle.errors import InvalidInput
from modelcycle.quality._drift import ColumnDrift, DriftReport, drift


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "age": rng.normal(40 + 10 * shift, 10, n),
                "income": rng.lognormal(10, 1, n),
                "plan": rng.choice(["free", "pro", "team"], n),
                "rating": rng.integers(1, 4, n),
                "active": rng.random(n) < 0.5,
            }
        )

    return frame(3000, 0.0), frame(2000, 0.5)


def test_public_names_resolve_to_this_package() -> None:
    assert mc.quality.DriftReport is DriftReport and mc.quality.ColumnDrift is ColumnDrift


def test_mc_quality_drift_is_the_function_after_the_package_was_imported() -> None:
    # This module imported modelcycle.quality._drift first; the private package name keeps
    # the public attribute free for the function.
    assert mc.quality.drift is drift


def test_mc_quality_drift_is_the_function_on_a_fresh_import() -> None:
    code = (
        "import modelcycle as mc\nimport pandas as pd\n"
        "frame = pd.DataFrame({'x': [1.0, 2.0]})\n"
        "assert mc.quality.drift.__name__ == 'drift'\n"
        "assert type(mc.quality.drift(frame, frame)).__name__ == 'DriftReport'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_tests_follow_kind_and_size(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames
    large = drift(ref, cur)
    assert {c.column: (c.kind, c.test) for c in large.columns} == {
        "age": ("numeric", "wasserstein"),
        "income": ("numeric", "wasserstein"),
        "plan": ("categorical", "jensen_shannon"),
        "rating": ("categorical", "jensen_shannon"),  # 3 distinct integers
        "active": ("categorical", "jensen_shannon"),
    }
    assert large.drifted_columns == ["age"]
    assert large.drift_share == pytest.approx(0.2) and not large.dataset_drift
    small = drift(ref.head(1000), cur.head(300))
    assert [c.test for c in small.columns] == ["ks", "ks", "chi2", "chi2", "chi2"]
    assert "age" in small.drifted_columns
    assert small["age"].p_value is not None and small["age"].distance is None
    assert large["age"].distance == large["age"].statistic and large["age"].p_value is None


def test_tests_and_thresholds_by_name_or_per_column(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ref, cur = frames
    report = drift(ref, cur, tests="psi", threshold={"income": 5.0})
    assert {c.test for c in report.columns} == {"psi"}
    assert report["income"].threshold == 5.0 and report["age"].threshold == 0.1
    mixed = drift(ref, cur, columns=["age", "plan"], tests={"age": "ks"}, threshold=0.01)
    assert [(c.test, c.threshold) for c in mixed.columns] == [
        ("ks", 0.01),
        ("jensen_shannon", 0.01),
    ]


def test_dataset_verdict_uses_the_share_of_drifted_columns(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ref, cur = frames
    assert drift(ref, cur, dataset_threshold=0.2).dataset_drift
    assert not drift(ref, cur, dataset_threshold=0.21).dataset_drift
    with pytest.raises(InvalidInput, match="dataset_threshold"):
        drift(ref, cur, dataset_threshold=0)


@pytest.mark.parametrize("empty", ["reference", "current"])
def test_empty_frame_is_invalid(empty: str) -> None:
    full = pd.DataFrame({"x": [1.0, 2.0]})
    blank = full.iloc[:0]
    args = (blank, full) if empty == "reference" else (full, blank)
    with pytest.raises(InvalidInput, match=f"the {empty} frame is empty"):
        drift(*args)


def test_not_a_frame_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="must be a pandas DataFrame, got list"):
        drift([1, 2], pd.DataFrame({"x": [1]}))  # type: ignore[arg-type]


def test_arrow_tables_are_accepted() -> None:
    table = pa.table({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    assert drift(table, table)["x"].statistic == 0.0  # type: ignore[arg-type]


def test_duplicate_columns_are_invalid() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(InvalidInput, match="duplicate columns: a"):
        drift(frame, frame)


def test_columns_in_one_frame_only_are_listed() -> None:
    ref = pd.DataFrame({"a": [1.0, 2.0], "only_ref": [1, 2]})
    cur = pd.DataFrame({"only_cur": ["x", "y"], "a": [1.0, 2.0]})
    report = drift(ref, cur)
    assert [c.column for c in report.columns] == ["a"]
    assert report.only_in_reference == ("only_ref",) and report.only_in_current == ("only_cur",)
    as_dict = report.to_dict()
    assert as_dict["only_in_reference"] == ["only_ref"]
    assert as_dict["only_in_current"] == ["only_cur"]


def test_requested_missing_column_is_named() -> None:
    ref = pd.DataFrame({"a": [1.0], "b": [2.0]})
    cur = pd.DataFrame({"a": [1.0]})
    with pytest.raises(InvalidInput, match="columns not in the current frame: b") as caught:
        drift(ref, cur, columns=["a", "b"])
    assert caught.value.details == {"frame": "current", "columns": ["b"]}


@pytest.mark.parametrize("argument", ["tests", "threshold"])
def test_per_column_options_must_name_compared_columns(argument: str) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    value = {"zz": "ks"} if argument == "tests" else {"zz": 0.1}
    with pytest.raises(InvalidInput, match=f"{argument}= names columns .*: zz"):
        drift(frame, frame, **{argument: value})


def test_test_that_does_not_fit_the_column_kind_is_invalid() -> None:
    frame = pd.DataFrame({"plan": ["a", "b", "c"] * 5})
    with pytest.raises(InvalidInput, match="column 'plan' is categorical; test 'ks' fits numeric"):
        drift(frame, frame, tests="ks")
    with pytest.raises(InvalidInput, match="unknown drift test 'kss'"):
        drift(frame, frame, tests={"plan": "kss"})


def test_all_null_columns_are_skipped_with_the_reason() -> None:
    ref = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [None, None, None], "c": ["x", "y", "z"]})
    cur = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0], "c": [None, None, None]})
    report = drift(ref, cur)
    assert report.skipped == {
        "b": "all values are null in the reference frame",
        "c": "all values are null in the current frame",
    }
    assert [c.column for c in report.columns] == ["a"]


def test_nothing_testable_gives_an_empty_verdict() -> None:
    frame = pd.DataFrame({"a": [np.nan, np.nan]})
    report = drift(frame, frame)
    assert report.columns == () and report.drift_share == 0.0 and not report.dataset_drift
    assert "a" in report.skipped


def test_unsupported_dtype_is_skipped() -> None:
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3)})
    assert drift(frame, frame).skipped == {
        "when": "unsupported dtype datetime64[us] in the reference frame"
    }


def test_null_shares_are_reported(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames
    cur = cur.copy()
    cur.loc[: len(cur) // 4 - 1, "plan"] = None
    cur["income"] = cur["income"].astype("Float64")
    cur.loc[:9, "income"] = pd.NA
    report = drift(ref, cur)
    assert report["plan"].current_null_share == pytest.approx(0.25)
    assert report["plan"].current_rows == len(cur) * 3 // 4
    assert report["income"].current_null_share == pytest.approx(10 / len(cur))
    assert report["age"].reference_null_share == 0.0


def test_nulls_in_object_columns_are_counted_and_left_out() -> None:
    ref = pd.DataFrame({"o": pd.Series(["a", None, "b", np.nan] * 5, dtype=object)})
    cur = pd.DataFrame({"o": pd.Series(["a", "b", "b", "b"] * 5, dtype=object)})
    column = drift(ref, cur)["o"]
    assert (column.reference_null_share, column.current_null_share) == (0.5, 0.0)
    assert column.bins == ("a", "b") and column.reference_rows == 10


def test_infinite_values_count_as_missing() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, np.inf, 3.0]})
    cur = pd.DataFrame({"x": [1.0, -np.inf, np.nan, 2.0]})
    column = drift(ref, cur)["x"]
    assert (column.reference_null_share, column.current_null_share) == (0.25, 0.5)
    assert np.isfinite(column.statistic)


def test_mixed_type_object_columns_are_compared_as_strings() -> None:
    ref = pd.DataFrame({"code": pd.Series([1, "1", 2.5, "b"] * 5, dtype=object)})
    cur = pd.DataFrame({"code": pd.Series(["1", "b", "b", 2.5] * 5, dtype=object)})
    column = drift(ref, cur)["code"]
    assert column.kind == "categorical" and column.test == "chi2"
    assert any("mixed Python types (mixed, mixed-integer)" in note for note in column.notes)
    assert set(column.bins) == {"1", "2.5", "b"}  # 1 and "1" became the same category


def test_numeric_in_one_frame_text_in_the_other_is_compared_as_strings() -> None:
    ref = pd.DataFrame({"zip": [10115, 20095, 80331] * 10})
    cur = pd.DataFrame({"zip": ["10115", "20095", "80331"] * 10})
    column = drift(ref, cur)["zip"]
    assert column.kind == "categorical" and not column.drifted
    assert column.notes == ("numeric in the reference, categorical in the current frame: "
                            "compared as strings",)  # fmt: skip


def test_category_dtype_ignores_unused_levels() -> None:
    dtype = pd.CategoricalDtype(["a", "b", "unused"])
    ref = pd.DataFrame({"c": pd.Series(["a", "b"] * 20, dtype=dtype)})
    cur = pd.DataFrame({"c": pd.Series(["a", "b", "b", "b"] * 10, dtype=dtype)})
    column = drift(ref, cur)["c"]
    assert column.bins == ("a", "b") and column.p_value is not None


def test_plot_data_is_shares_on_shared_bins(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames
    report = drift(ref, cur)
    for column in report.columns:
        assert len(column.bins) == len(column.reference_shares) == len(column.current_shares)
        assert sum(column.reference_shares) == pytest.approx(1.0)
        assert sum(column.current_shares) == pytest.approx(1.0)
    assert len(report["age"].bins) == 20


def test_many_categories_are_plotted_as_top_ones_and_other() -> None:
    ref = pd.DataFrame({"city": [f"c{i}" for i in range(60)] * 30})
    column = drift(ref, ref)["city"]
    assert len(column.bins) == 20 and column.bins[-1] == "other"
    assert column.reference_shares[-1] == pytest.approx(41 / 60)


def test_to_dict_is_json_with_null_for_nan(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames
    data = drift(ref, cur).to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["drifted_columns"] == ["age"]
    assert data["columns"][0]["column"] == "age" and data["columns"][0]["drifted"] is True
    column = ColumnDrift("x", "numeric", "ks", float("nan"), None, None, 0.05, False, 1, 1, 0, 0)
    assert column.to_dict()["statistic"] is None


def test_html_page_is_self_contained_and_escaped(tmp_path: Path) -> None:
    ref = pd.DataFrame({"<b>x</b>": [1.0, 2.0, 3.0] * 5, "gone": [1] * 15})
    cur = pd.DataFrame({"<b>x</b>": [7.0, 8.0, 9.0] * 5})
    report = drift(ref, cur)
    html = report.to_html()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert html.count("<svg") == 1 and "only in the reference frame" in html
    path = report.save_html(tmp_path / "drift.html")
    assert path.read_text(encoding="utf-8") == html
    assert [p.name for p in tmp_path.iterdir()] == ["drift.html"]  # no temp file left


def test_save_html_creates_the_folder_and_a_shareable_file(tmp_path: Path) -> None:
    import os
    import stat

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    page = drift(frame, frame).save_html(tmp_path / "reports" / "drift.html")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(page.stat().st_mode) == 0o666 & ~umask
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in page.parent.iterdir()] == ["drift.html"]
