"""The model directory: manifest, atomic save, integrity checks before anything is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelcycle._internal.hashing import hash_file
from modelcycle.errors import AlreadyExists, IntegrityError, InvalidInput
from modelcycle.registry.flavors import get_flavor
from modelcycle.registry.model_format import (
    MANIFEST_FILE,
    load_input_example,
    load_model,
    read_manifest,
    save_model,
    verify_model_dir,
)
from modelcycle.registry.signature import ColumnSpec, Signature


def _model() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.integers(18, 90, 50), "income": rng.normal(size=50)})
    target = (frame["income"] > 0).astype(int)
    return LogisticRegression().fit(frame, target), frame


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    model, frame = _model()
    save_model(model, tmp_path / "model", input_example=frame.head(3))
    return tmp_path / "model"


@pytest.fixture
def load_spy(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every call of the sklearn flavor's ``load``: proof that nothing was loaded."""
    flavor = get_flavor("sklearn")
    calls: list[Path] = []
    original = flavor.load

    def spy(directory: Path, options: dict[str, Any], *, trusted: bool = False) -> Any:
        calls.append(directory)
        return original(directory, options, trusted=trusted)

    monkeypatch.setattr(flavor, "load", spy)
    return calls


def test_manifest_describes_every_payload_file(model_dir: Path) -> None:
    manifest = read_manifest(model_dir)
    on_disk = sorted(p.name for p in model_dir.iterdir() if p.name != MANIFEST_FILE)
    assert [item.path for item in manifest.files] == on_disk
    for item in manifest.files:
        assert item.blake3 == hash_file(model_dir / item.path)
        assert item.size == (model_dir / item.path).stat().st_size
    assert manifest.format_version == 1
    assert manifest.input_example == "input_example.parquet"
    assert manifest.python_version.count(".") == 2
    assert manifest.signature is not None
    assert [c.name for c in manifest.signature.inputs] == ["age", "income"]
    raw = json.loads((model_dir / MANIFEST_FILE).read_text())
    assert raw["flavor"] == "sklearn"
    example = load_input_example(model_dir)
    assert example is not None
    assert example.columns.tolist() == ["age", "income"]


def test_load_succeeds_and_predicts(model_dir: Path, load_spy: list[Path]) -> None:
    model, frame = _model()
    loaded = load_model(model_dir)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert load_spy == [model_dir]


def _payload_and_manifest(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("name", ["input_example.parquet", "model.skops", MANIFEST_FILE])
@pytest.mark.parametrize("where", [0, -1, "middle"])
def test_a_changed_byte_in_any_file_is_refused_before_loading(
    model_dir: Path, load_spy: list[Path], name: str, where: int | str
) -> None:
    assert name in _payload_and_manifest(model_dir)
    # The registry holds the manifest's digest; the manifest holds every other file's.
    manifest_digest = hash_file(model_dir / MANIFEST_FILE)
    path = model_dir / name
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if where == "middle" else int(where)
    data[index] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as caught:
        load_model(model_dir, manifest_digest=manifest_digest)
    assert load_spy == []
    assert caught.value.details["path"] == name
    assert name in caught.value.message


def test_a_damaged_manifest_is_an_integrity_error(model_dir: Path, load_spy: list[Path]) -> None:
    path = model_dir / MANIFEST_FILE
    path.write_text(path.read_text()[:-20])
    with pytest.raises(IntegrityError, match="model.json .*damaged"):
        load_model(model_dir)
    assert load_spy == []


def test_a_manifest_that_drops_a_file_with_its_file_is_refused(
    model_dir: Path, load_spy: list[Path]
) -> None:
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
    manifest["files"] = [item for item in manifest["files"] if item["path"] != "model.skops"]
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    (model_dir / "model.skops").unlink()
    with pytest.raises(IntegrityError, match="model.skops"):
        load_model(model_dir)


def test_a_changed_digest_in_the_manifest_is_refused(model_dir: Path) -> None:
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
    manifest["files"][1]["blake3"] = "0" * 64
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="model.skops"):
        verify_model_dir(model_dir)


def test_manifest_digest_held_by_the_caller_is_checked(model_dir: Path) -> None:
    good = hash_file(model_dir / MANIFEST_FILE)
    assert verify_model_dir(model_dir, manifest_digest=good).flavor == "sklearn"
    with pytest.raises(IntegrityError, match="model.json.*registered under"):
        load_model(model_dir, manifest_digest="f" * 64)


def test_a_missing_file_is_refused(model_dir: Path, load_spy: list[Path]) -> None:
    (model_dir / "input_example.parquet").unlink()
    with pytest.raises(IntegrityError, match="input_example.parquet is missing") as caught:
        load_model(model_dir)
    assert caught.value.details == {"path": "input_example.parquet", "problem": "missing"}
    assert load_spy == []


def test_an_extra_file_is_refused(model_dir: Path, load_spy: list[Path]) -> None:
    (model_dir / "sub").mkdir()
    (model_dir / "sub" / "evil.py").write_text("print('hi')")
    with pytest.raises(IntegrityError, match="sub/evil.py .*not listed") as caught:
        load_model(model_dir)
    assert caught.value.details["problem"] == "unexpected"
    assert load_spy == []


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a model directory"):
        load_model(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(InvalidInput, match="not a readable model manifest"):
        read_manifest(tmp_path)


def test_manifest_paths_must_stay_inside(model_dir: Path) -> None:
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
    manifest["files"][0]["path"] = "../outside"
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(InvalidInput, match="not a payload path"):
        read_manifest(model_dir)


def test_save_refuses_a_non_empty_target_and_accepts_an_empty_dir(tmp_path: Path) -> None:
    model, frame = _model()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(AlreadyExists, match="taken"):
        save_model(model, tmp_path / "taken")
    (tmp_path / "empty").mkdir()
    save_model(model, tmp_path / "empty")
    assert read_manifest(tmp_path / "empty").signature is None


def test_a_failed_save_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = _model()
    flavor = get_flavor("sklearn")

    def broken(model: Any, directory: Path) -> dict[str, Any]:
        (directory / "partial").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(flavor, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_explicit_signature_and_requirements(tmp_path: Path) -> None:
    model, frame = _model()
    signature = Signature(
        inputs=[
            ColumnSpec(name="age", dtype="int64", nullable=False),
            ColumnSpec(name="income", dtype="float64", nullable=True),
        ]
    )
    manifest = save_model(
        model,
        tmp_path / "m",
        signature=signature.model_dump(),
        requirements=["scikit-learn>=1.4", "pandas==2.2.0"],
    )
    assert manifest.signature == signature
    assert "scikit-learn>=1.4" in manifest.requirements
    assert not any(line.startswith("scikit-learn==") for line in manifest.requirements)
    assert "pandas==2.2.0" in manifest.requirements
    loaded = load_model(tmp_path / "m")
    with pytest.raises(InvalidInput, match="'age'"):
        loaded.predict(frame.assign(age=None))


def test_malformed_signature_is_invalid_input(tmp_path: Path) -> None:
    model, _ = _model()
    with pytest.raises(InvalidInput, match="signature is malformed"):
        save_model(model, tmp_path / "m", signature={"inputs": "nope"})


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda f: f.drop(columns="age"), "age"),
        (lambda f: f.assign(zip="0150"), "zip"),
        (lambda f: f.assign(income="high"), "income"),
        (lambda f: f.assign(income=np.nan), "income"),
    ],
)
def test_predict_enforces_the_signature(model_dir: Path, change: Any, column: str) -> None:
    _, frame = _model()
    loaded = load_model(model_dir)
    with pytest.raises(InvalidInput) as caught:
        loaded.predict(change(frame))
    assert caught.value.details["column"] == column
    assert repr(column) in caught.value.message


def test_predict_accepts_records_dicts_and_arrays(model_dir: Path) -> None:
    model, frame = _model()
    loaded = load_model(model_dir)
    expected = model.predict(frame.head(2))
    np.testing.assert_array_equal(loaded.predict(frame.head(2).to_dict("records")), expected)
    np.testing.assert_array_equal(loaded.predict(frame.head(2).to_dict("list")), expected)
    np.testing.assert_array_equal(loaded.predict(frame.head(2).to_numpy()), expected)
    with pytest.raises(InvalidInput, match="2 columns"):
        loaded.predict_array(np.zeros((1, 3)))


def test_input_example_with_integer_column_names_and_unstorable_values(tmp_path: Path) -> None:
    model, frame = _model()
    numbered = frame.head(3).set_axis([0, 1], axis=1)
    manifest = save_model(model, tmp_path / "m", input_example=numbered)
    assert manifest.signature is not None
    assert manifest.signature.input_names == ["0", "1"]
    mixed = pd.DataFrame({"a": pd.Series([1, "x", 2.5], dtype=object)})
    with pytest.raises(InvalidInput, match="cannot be stored as Parquet"):
        save_model(model, tmp_path / "n", input_example=mixed)
    assert not (tmp_path / "n").exists()
