"""Batch scoring (``score_files``): predictions equal ``model.predict`` on the whole input, for
Parquet, CSV and directories; chunking changes nothing; bad input names the column and the file
and leaves nothing written; outputs are never overwritten unless asked.

The models here are also used by ``test_batch_cli.py`` and ``test_batch_dask.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.registry.model_format import LoadedModel, load_model, save_model
from modelcycle.serving.batch import score_files

NUMERIC = ["age", "income", "tenure"]


@dataclass(frozen=True)
class Model:
    """A saved model: its directory and the model loaded from it."""

    path: Path
    loaded: LoadedModel


def customers(n: int, seed: int = 0) -> pd.DataFrame:
    """Rows to score: the model's columns plus an id the model does not take."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(seed * 10_000, seed * 10_000 + n, dtype=np.int64),
            "age": rng.integers(18, 80, n),
            "income": rng.normal(3.0, 1.0, n),
            "tenure": rng.exponential(4.0, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
        }
    )


def save_classifier(directory: Path, *, onnx: bool = False) -> Model:
    """A numeric-signature classifier with string labels: the float-matrix fast path; with
    ``onnx``, saved with its ONNX twin."""
    from sklearn.linear_model import LogisticRegression

    train = customers(400, seed=99)[NUMERIC]
    labels = np.where(train["income"] + 0.02 * train["age"] > 3.8, "churn", "stay")
    path = directory / "classifier"
    model = LogisticRegression().fit(train, labels)
    save_model(model, path, input_example=train.head(20), onnx=onnx)
    return Model(path, load_model(path))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return save_classifier(tmp_path_factory.mktemp("batch-models"))


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """A model over a string and a numeric column: the DataFrame path."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = customers(400, seed=98)[["plan", "income"]]
    labels = (train["plan"] == "pro") | (train["income"] > 3.5)
    model = make_pipeline(
        ColumnTransformer([("plan", OneHotEncoder(), ["plan"])], remainder="passthrough"),
        LogisticRegression(),
    ).fit(train, labels)
    path = tmp_path_factory.mktemp("batch-models") / "pipeline"
    save_model(model, path, input_example=train.head(5))
    return Model(path, load_model(path))


def write_parquet(frame: pd.DataFrame, path: Path, row_group_size: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size)
    return path


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def expected(model: Model, frame: pd.DataFrame) -> list[object]:
    columns = model.loaded.signature.input_names  # type: ignore[union-attr]
    return model.loaded.predict(frame[columns]).tolist()


def leftovers(directory: Path) -> list[str]:
    """Staging names left in ``directory`` (there must be none after a failure)."""
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_parquet_file_keeps_columns_and_adds_predictions(
    classifier: Model, tmp_path: Path
) -> None:
    frame = customers(500)
    source = write_parquet(frame, tmp_path / "in.parquet", row_group_size=128)

    result = score_files(classifier.path, source, tmp_path / "out.parquet")

    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert list(scored.columns) == [*frame.columns, "prediction"]
    assert scored["prediction"].tolist() == expected(classifier, frame)
    pd.testing.assert_frame_equal(scored[frame.columns], frame, check_dtype=False)
    assert (result.rows, result.files, result.outputs) == (500, 1, (tmp_path / "out.parquet",))
    assert result.rows_per_second > 0 and result.to_dict()["rows"] == 500


def test_csv_file_to_csv_and_to_parquet(classifier: Model, tmp_path: Path) -> None:
    frame = customers(300)
    source = write_csv(frame, tmp_path / "in.csv")

    score_files(classifier.loaded, source, tmp_path / "out.csv", chunk_rows=64)
    score_files(classifier.loaded, source, tmp_path / "out.parquet")

    as_csv = pd.read_csv(tmp_path / "out.csv")
    as_parquet = pd.read_parquet(tmp_path / "out.parquet")
    assert as_csv["prediction"].tolist() == expected(classifier, frame)
    assert as_parquet["prediction"].tolist() == expected(classifier, frame)
    assert as_parquet["customer_id"].tolist() == frame["customer_id"].tolist()


def test_directory_is_scored_recursively_into_the_same_layout(
    classifier: Model, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    parts = {"a.parquet": customers(50, 1), "sub/b.parquet": customers(70, 2)}
    for relative, frame in parts.items():
        write_parquet(frame, source / relative)
    (source / "_SUCCESS").write_text("")
    write_parquet(customers(5, 3).drop(columns="age"), source / ".hidden.parquet")
    (source / "README.txt").write_text("not data")
    seen: list[tuple[int, int | None]] = []

    result = score_files(
        classifier.path, source, tmp_path / "out", progress=lambda n, t: seen.append((n, t))
    )

    assert result.outputs == (tmp_path / "out/a.parquet", tmp_path / "out/sub/b.parquet")
    for relative, frame in parts.items():
        scored = pd.read_parquet(tmp_path / "out" / relative)
        assert scored["prediction"].tolist() == expected(classifier, frame), relative
    written = [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")]
    assert sorted(written) == ["a.parquet", "sub/b.parquet"]
    assert sum(n for n, _ in seen) == 120 and {t for _, t in seen} == {120}


def test_proba_adds_one_column_per_class(classifier: Model, tmp_path: Path) -> None:
    frame = customers(200)
    source = write_parquet(frame, tmp_path / "in.parquet")

    score_files(classifier.path, source, tmp_path / "out.parquet", proba=True, chunk_rows=50)

    scored = pd.read_parquet(tmp_path / "out.parquet")
    probabilities = classifier.loaded.predict_proba(frame[NUMERIC])
    assert list(scored.columns)[-3:] == ["prediction", "proba_churn", "proba_stay"]
    np.testing.assert_allclose(scored[["proba_churn", "proba_stay"]].to_numpy(), probabilities)


def test_proba_is_refused_for_a_model_without_probabilities(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    train = customers(50)[NUMERIC]
    save_model(LinearRegression().fit(train, train["income"]), tmp_path / "m", input_example=train)
    source = write_parquet(customers(10), tmp_path / "in.parquet")

    with pytest.raises(InvalidInput, match="no class probabilities"):
        score_files(tmp_path / "m", source, tmp_path / "out.parquet", proba=True)
    assert not (tmp_path / "out.parquet").exists()


def test_keep_columns_chooses_what_is_copied(classifier: Model, tmp_path: Path) -> None:
    source = write_parquet(customers(20), tmp_path / "in.parquet")

    score_files(classifier.path, source, tmp_path / "id.parquet", keep_columns=["customer_id"])
    score_files(classifier.path, source, tmp_path / "none.parquet", keep_columns=[])

    assert list(pd.read_parquet(tmp_path / "id.parquet").columns) == ["customer_id", "prediction"]
    assert list(pd.read_parquet(tmp_path / "none.parquet").columns) == ["prediction"]
    with pytest.raises(InvalidInput, match=r"column 'email' to keep is not in .*in\.parquet"):
        score_files(classifier.path, source, tmp_path / "bad.parquet", keep_columns=["email"])


def test_many_small_chunks_give_the_same_output_as_one(classifier: Model, tmp_path: Path) -> None:
    frame = customers(1_000)
    source = write_parquet(frame, tmp_path / "in.parquet", row_group_size=100)
    csv_source = write_csv(frame, tmp_path / "in.csv")

    score_files(classifier.path, source, tmp_path / "small.parquet", chunk_rows=7, proba=True)
    score_files(classifier.path, source, tmp_path / "one.parquet", chunk_rows=10**6, proba=True)
    score_files(classifier.path, csv_source, tmp_path / "csv.parquet", chunk_rows=7, proba=True)

    one = pd.read_parquet(tmp_path / "one.parquet")
    for other in ("small.parquet", "csv.parquet"):
        # Probabilities may differ in the last bit: BLAS sums in another order per matrix size.
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / other), one, rtol=1e-12)
    exact = one.columns.drop(["proba_churn", "proba_stay"])
    assert pd.read_parquet(tmp_path / "small.parquet")[exact].equals(one[exact])
    assert pq.ParquetFile(tmp_path / "small.parquet").metadata.num_rows == 1_000


def test_the_dataframe_path_for_non_numeric_models(pipeline: Model, tmp_path: Path) -> None:
    frame = customers(300)
    source = write_csv(frame, tmp_path / "in.csv")

    score_files(pipeline.path, source, tmp_path / "out.parquet", chunk_rows=40, proba=True)

    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert scored["prediction"].tolist() == expected(pipeline, frame)
    assert list(scored.columns)[-2:] == ["proba_False", "proba_True"]
    bad = write_csv(frame.drop(columns="plan"), tmp_path / "bad.csv")
    with pytest.raises(InvalidInput, match=r"missing column 'plan' in .*bad\.csv") as caught:
        score_files(pipeline.path, bad, tmp_path / "bad.parquet")
    assert caught.value.details["column"] == "plan"


def test_missing_column_names_column_and_file_and_writes_nothing(
    classifier: Model, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    write_parquet(customers(40, 1), source / "good.parquet")
    write_parquet(customers(40, 2).drop(columns="tenure"), source / "z-bad.parquet")

    with pytest.raises(
        InvalidInput, match=r"missing column 'tenure' in .*z-bad\.parquet"
    ) as caught:
        score_files(classifier.path, source, tmp_path / "out")

    assert caught.value.details["column"] == "tenure"
    assert caught.value.details["path"].endswith("z-bad.parquet")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("column", "fill", "last", "message"),
    [
        ("income", 1.5, [1.0, None, 2.0], r"column 'income' in .*in\.parquet' holds 1 null "
         r"value\(s\) \(first at row 301\)"),
        ("income", 1.5, [1.0, float("nan"), 2.0], r"'income' .* holds 1 null"),
        ("age", "30", ["31", "x", "40"], r"column 'age' in .*in\.parquet' expects int64 but "
         "holds string"),
        ("age", 30.0, [31.0, 40.5, 22.0], r"'age' .* expects int64 but holds the fraction 40\.5"),
        ("age", True, [True, False, True], r"column 'age' .* expects int64 but holds bool"),
    ],
)  # fmt: skip
def test_bad_values_name_the_column_the_file_and_the_row(
    classifier: Model, tmp_path: Path, column: str, fill: object, last: list[object], message: str
) -> None:
    table = pa.Table.from_pandas(customers(303), preserve_index=False)
    bad = pa.array([fill] * 300 + last, from_pandas=False)
    table = table.set_column(table.schema.get_field_index(column), column, bad)
    pq.write_table(table, tmp_path / "in.parquet")

    with pytest.raises(InvalidInput, match=message) as caught:
        score_files(
            classifier.path, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_rows=100
        )

    assert caught.value.details["column"] == column
    assert not (tmp_path / "out.parquet").exists() and leftovers(tmp_path) == []


def test_values_the_model_refuses_name_the_file_and_write_nothing(
    classifier: Model, tmp_path: Path
) -> None:
    """Infinity passes the signature (a float) but sklearn refuses it: a clear InvalidInput,
    not the estimator's ValueError with a traceback."""
    rows = customers(30)
    rows.loc[7, "income"] = np.inf
    write_parquet(rows, tmp_path / "in.parquet")

    with pytest.raises(InvalidInput, match=r"model refused the rows of .*in\.parquet.*infinity"):
        score_files(classifier.path, tmp_path / "in.parquet", tmp_path / "out.parquet")

    assert not (tmp_path / "out.parquet").exists() and leftovers(tmp_path) == []


def test_an_existing_output_is_kept_unless_overwrite(classifier: Model, tmp_path: Path) -> None:
    source = write_parquet(customers(30), tmp_path / "in.parquet")
    (tmp_path / "out.parquet").write_bytes(b"precious")
    (tmp_path / "dir-in").mkdir()
    write_parquet(customers(10), tmp_path / "dir-in/a.parquet")
    (tmp_path / "dir-out").mkdir()
    (tmp_path / "dir-out/old.txt").write_text("old")

    with pytest.raises(AlreadyExists, match="out.parquet' already exists"):
        score_files(classifier.path, source, tmp_path / "out.parquet")
    with pytest.raises(AlreadyExists):
        score_files(classifier.path, tmp_path / "dir-in", tmp_path / "dir-out")
    assert (tmp_path / "out.parquet").read_bytes() == b"precious"

    score_files(classifier.path, source, tmp_path / "out.parquet", overwrite=True)
    score_files(classifier.path, tmp_path / "dir-in", tmp_path / "dir-out", overwrite=True)

    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 30
    assert sorted(p.name for p in (tmp_path / "dir-out").iterdir()) == ["a.parquet"]
    assert leftovers(tmp_path) == []


def test_a_failed_overwrite_keeps_the_old_output(classifier: Model, tmp_path: Path) -> None:
    source = write_parquet(customers(30).drop(columns="age"), tmp_path / "in.parquet")
    (tmp_path / "out.parquet").write_bytes(b"precious")

    with pytest.raises(InvalidInput, match="missing column 'age'"):
        score_files(classifier.path, source, tmp_path / "out.parquet", overwrite=True)

    assert (tmp_path / "out.parquet").read_bytes() == b"precious" and leftovers(tmp_path) == []


def test_bad_paths_are_refused_before_anything_runs(classifier: Model, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    write_parquet(customers(5), mixed / "a.parquet")
    write_csv(customers(5), mixed / "b.csv")
    twins = tmp_path / "twins"
    write_csv(customers(5), twins / "a.csv")
    (twins / "a.tsv").write_text(customers(5).to_csv(index=False, sep="\t"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "data.json").write_text("{}")

    with pytest.raises(
        InvalidInput, match=r"mixes Parquet and CSV files \(e\.g\. a\.parquet and b\.csv\)"
    ):
        score_files(classifier.path, mixed, tmp_path / "out")
    with pytest.raises(InvalidInput, match="a.csv and a.tsv would both be written to a.parquet"):
        score_files(classifier.path, twins, tmp_path / "out")
    with pytest.raises(InvalidInput, match="holds no Parquet or CSV file"):
        score_files(classifier.path, tmp_path / "empty", tmp_path / "out")
    with pytest.raises(InvalidInput, match="neither Parquet nor CSV"):
        score_files(classifier.path, tmp_path / "data.json", tmp_path / "out.parquet")
    with pytest.raises(NotFound, match="no file or directory"):
        score_files(classifier.path, tmp_path / "nowhere.parquet", tmp_path / "out.parquet")
    with pytest.raises(InvalidInput, match="is the input or lies inside it"):
        score_files(classifier.path, mixed, mixed / "scored")
    with pytest.raises(InvalidInput, match="chunk_rows must be a positive"):
        score_files(classifier.path, mixed / "a.parquet", tmp_path / "o.parquet", chunk_rows=0)
    with pytest.raises(InvalidInput, match="already has a column 'plan'"):
        score_files(
            classifier.path, mixed / "a.parquet", tmp_path / "o.parquet", output_column="plan"
        )
    assert not (tmp_path / "out").exists() and not (tmp_path / "o.parquet").exists()
    assert leftovers(tmp_path) == []


def test_unreadable_files_are_named(classifier: Model, tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "ragged.csv").write_text("age,income,tenure\n1,2,3\n4,5\n")

    with pytest.raises(InvalidInput, match=r"broken\.parquet' is not a readable parquet file"):
        score_files(classifier.path, tmp_path / "broken.parquet", tmp_path / "a.parquet")
    with pytest.raises(InvalidInput, match=r"ragged\.csv' is not a readable csv file"):
        score_files(classifier.path, tmp_path / "ragged.csv", tmp_path / "b.parquet")
    assert leftovers(tmp_path) == []


def test_empty_inputs_give_empty_outputs_with_the_prediction_column(
    classifier: Model, tmp_path: Path
) -> None:
    write_parquet(customers(0), tmp_path / "empty.parquet")
    (tmp_path / "header.csv").write_text("customer_id,age,income,tenure\n")

    parquet = score_files(classifier.path, tmp_path / "empty.parquet", tmp_path / "a.parquet")
    csv = score_files(classifier.path, tmp_path / "header.csv", tmp_path / "b.csv", proba=True)

    assert parquet.rows == 0 and csv.rows == 0
    empty = pq.read_table(tmp_path / "a.parquet")
    assert empty.num_rows == 0 and empty.schema.names[-1] == "prediction"
    assert empty.schema.field("prediction").type == pa.string()
    assert (tmp_path / "b.csv").read_text().splitlines() == [
        '"customer_id","age","income","tenure","prediction","proba_churn","proba_stay"'
    ]


def test_a_registry_uri_is_loaded_through_the_registry(
    classifier: Model, mc_home: Path, tmp_path: Path
) -> None:
    import modelcycle as mc

    mc.registry.register_model(classifier.path, "churn")
    mc.registry.set_alias("churn", "champion", 1)
    frame = customers(50)
    source = write_parquet(frame, tmp_path / "in.parquet")

    score_files("models:/churn@champion", source, tmp_path / "out.parquet")

    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert scored["prediction"].tolist() == expected(classifier, frame)
    with pytest.raises(NotFound):
        score_files("models:/churn/7", source, tmp_path / "other.parquet")
    assert not (tmp_path / "other.parquet").exists() and leftovers(tmp_path) == []
