"""Reading tables: each format, and each way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from modelcycle._internal.tabular import read_frame, tabular_format
from modelcycle.errors import InvalidInput, NotFound


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})


@pytest.mark.parametrize("name", ["t.parquet", "t.csv", "t.feather"])
def test_round_trip(frame: pd.DataFrame, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    elif name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_feather(path)
    read = read_frame(path)
    assert read["a"].tolist() == [1, 2, 3]
    assert read["b"].tolist()[:2] == ["x", "y"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no file"):
        read_frame(tmp_path / "nope.parquet")


def test_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_bytes(b"x")
    assert tabular_format("t.xlsx") is None
    with pytest.raises(InvalidInput, match="not a table"):
        read_frame(tmp_path / "t.xlsx")


def test_truncated_parquet(frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InvalidInput, match="t.parquet.*not a readable parquet"):
        read_frame(path)


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidInput, match="not a readable csv"):
        read_frame(path)
