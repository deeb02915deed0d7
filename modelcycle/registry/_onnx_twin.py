"""The ONNX twin: a scikit-learn model converted by skl2onnx when it is saved, so a server can
answer with onnxruntime alone.

Why it exists: importing scikit-learn 1.9 imports pandas, pyarrow and ``scipy.stats``, and
importing ``skops.io`` lists every estimator, which imports every scikit-learn module; a process
holding a skops-loaded estimator is ~220 MiB and ~1.5 s of imports before it serves anything. The
twin's graph needs NumPy and onnxruntime: ``modelcycle serve --runtime onnx`` runs in ~95 MiB and
is ready in under a second (``benchmarks/README.md``).

A conversion is kept only when it answers like the model: on the stored input example every label
is equal and every probability or regression value agrees within a tolerance. A model whose inputs
are all numeric is first converted to take one tensor (the serving fast path); any model can take
one input per column, strings included (a pipeline that one-hot encodes a ``plan`` column, say).
Each layout is tried as a float64 graph first (it agrees to ~1e-12), then as float32 for the
converters without float64 kernels (tree ensembles, string encoders). The twin's file is listed in
the manifest with its digest, like every payload file.

What the check cannot promise: tree ensembles compare their thresholds in float32 in ONNX, so a
row within float32 rounding of a split can fall on the other side, and exactly tied class
probabilities may break the other way. The check on the example catches a converter that is
wrong, not those rare rows; that is why the twin is opt-in and ``native`` stays the default.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modelcycle.registry.flavors import Flavor
    from modelcycle.registry.signature import Signature

TWIN_DIR = "onnx"
"""The twin's directory inside the model directory (it holds the onnx flavor's ``model.onnx``)."""
TWIN_PATH = f"{TWIN_DIR}/model.onnx"
RUNTIMES = ("native", "onnx")
"""What a model directory can be loaded with: its own flavor, or its ONNX twin."""

_TOLERANCE = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5)}
"""(relative, absolute) agreement required of values per graph precision; labels must be equal."""


class OnnxTwin(BaseModel):
    """What the manifest records of a model's ONNX twin."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    """The graph's payload path (``onnx/model.onnx``)."""
    dtype: Literal["float64", "float32"]
    """The precision the graph computes in."""
    layout: Literal["tensor", "columns"] = "tensor"
    """One float tensor for all inputs, or one graph input per column (named as the column)."""
    options: dict[str, Any]
    """The onnx flavor's options: class labels and whether probabilities are served."""
    max_difference: float
    """The largest absolute difference from the model's own answers on the input example."""
    converter: str
    """The converter that wrote it (``skl2onnx==X``)."""

    @field_validator("path")
    @classmethod
    def _where_written(cls, value: str) -> str:
        if value != TWIN_PATH:
            raise ValueError(f"an ONNX twin lives at {TWIN_PATH}, not {value!r}")
        return value


def write_onnx_twin(
    flavor: Flavor,
    model: Any,
    directory: Path,
    signature: Signature | None,
    example: pd.DataFrame | None,
) -> OnnxTwin:
    """Convert ``model`` into ``directory/onnx/model.onnx`` and check it against ``example``.

    Args:
        flavor: the flavor the model is saved with; only ``sklearn`` converts.
        example: the input example, already checked against ``signature``.

    Raises:
        InvalidInput: the model is not a scikit-learn one, has no input example or a
            non-numeric signature, skl2onnx is missing or cannot convert it, or the graph
            answers differently from the model (the message gives the difference).
    """
    if flavor.name != "sklearn":
        raise InvalidInput(
            f"onnx=True converts scikit-learn models; this is a {flavor.name} model",
            details={"flavor": flavor.name, "problem": "onnx_twin"},
        )
    if signature is None or example is None or example.empty:
        raise InvalidInput(
            "onnx=True needs an input_example: the ONNX twin is checked against the model's "
            "own predictions on it before it is kept",
            details={"problem": "onnx_twin"},
        )
    _check_columns(signature, example)
    try:
        import skl2onnx
    except ImportError as exc:
        raise InvalidInput(
            "onnx=True needs skl2onnx and onnxruntime: pip install 'modelcycle[onnx]'",
            details={"problem": "onnx_twin"},
        ) from exc

    native_labels = flavor.predict(model, example)
    native_proba = flavor.predict_proba(model, example)
    options: dict[str, Any] = {
        "classes": flavor.classes(model),
        "probabilities": native_proba is not None,
    }
    if native_labels.dtype.kind == "b":
        options["labels"] = "bool"  # the graph's 0/1 labels are cast back when served
    target = directory / TWIN_DIR
    failures = []
    layouts = ("tensor", "columns") if signature.all_numeric else ("columns",)
    for layout, dtype in [(layout, dtype) for layout in layouts for dtype in _DTYPES]:
        attempt = f"{dtype} {layout}"
        target.mkdir(exist_ok=True)
        try:
            graph = _convert(model, signature, layout, dtype, native_proba is not None)
            difference = _compare(
                graph, target, options, example, native_labels, native_proba, dtype
            )
        except _Disagrees as exc:
            failures.append(f"{attempt}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - skl2onnx and onnxruntime raise many types
            failures.append(f"{attempt}: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        return OnnxTwin(
            path=TWIN_PATH,
            dtype=dtype,  # type: ignore[arg-type]
            layout=layout,  # type: ignore[arg-type]
            options=options,
            max_difference=difference,
            converter=f"skl2onnx=={skl2onnx.__version__}",
        )
    shutil.rmtree(target)
    raise InvalidInput(
        f"the {type(model).__qualname__} could not be converted to an ONNX twin that answers "
        f"like it: {'; '.join(failures)}",
        details={"problem": "onnx_twin", "attempts": failures},
    )


_DTYPES = ("float64", "float32")
_KINDS = {
    "b": "bool",
    "i": "int",
    "u": "int",
    "f": "float",
    "c": "float",
    "U": "text",
    "O": "text",
}
"""What a label's numpy kind means to a client: a twin must answer in the same one."""
_TEXT_DTYPES = frozenset(("string", "category"))


class _Disagrees(Exception):
    """The graph converted and ran, but its answers differ from the model's."""


def _check_columns(signature: Signature, example: pd.DataFrame) -> None:
    """Refuse inputs no ONNX tensor carries here: dates, and object columns of non-strings."""
    for column in signature.inputs:
        if column.is_numeric or column.dtype in _TEXT_DTYPES:
            continue
        if column.dtype == "object" and all(
            isinstance(value, str) for value in example[column.name].dropna()
        ):
            continue
        raise InvalidInput(
            f"onnx=True takes numeric and string columns; column {column.name!r} is "
            f"{column.dtype}",
            details={"column": column.name, "problem": "onnx_twin"},
        )


def _convert(
    model: Any, signature: Signature, layout: str, dtype: str, classifier_proba: bool
) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    number = DoubleTensorType if dtype == "float64" else FloatTensorType
    if layout == "tensor":
        inputs = [("input", number([None, len(signature.inputs)]))]
    else:
        inputs = [
            (column.name, (number if column.is_numeric else StringTensorType)([None, 1]))
            for column in signature.inputs
        ]
    # Probabilities as one float tensor, not skl2onnx's default list of {class: p} maps:
    # one array per call instead of a dict per row.
    options = {id(model): {"zipmap": False}} if classifier_proba else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_sklearn(model, initial_types=inputs, options=options)


def _compare(
    graph: Any,
    target: Path,
    options: dict[str, Any],
    example: pd.DataFrame,
    native_labels: np.ndarray,
    native_proba: np.ndarray | None,
    dtype: str,
) -> float:
    """Write ``graph`` into ``target``, run it as the onnx flavor would serve it and return the
    largest difference from the native answers; raise ``_Disagrees`` beyond the tolerance."""
    import numpy as np

    from modelcycle.registry.flavors import get_flavor

    runtime = get_flavor("onnx")
    runtime.save(graph, target)
    loaded = runtime.load(target, options)
    renamed = [name for name, _ in loaded.inputs if len(loaded.inputs) > 1 and name not in example]
    if renamed:
        raise _Disagrees(
            f"skl2onnx renamed inputs to {', '.join(map(repr, renamed))} (a column named like "
            "one of its outputs, or with characters it replaces), so they match no column"
        )
    labels = runtime.predict(loaded, example)
    relative, absolute = _TOLERANCE[dtype]
    if _KINDS.get(labels.dtype.kind) != _KINDS.get(native_labels.dtype.kind):
        raise _Disagrees(f"its labels are {labels.dtype}, the model's are {native_labels.dtype}")
    if native_labels.dtype.kind in "fc":
        if not np.allclose(labels, native_labels, rtol=relative, atol=absolute):
            raise _Disagrees(f"predictions differ by up to {_largest(labels, native_labels):g}")
        difference = _largest(labels, native_labels)
    else:
        mismatched = np.flatnonzero(np.asarray(labels) != np.asarray(native_labels))
        if mismatched.size:
            row = int(mismatched[0])
            raise _Disagrees(
                f"{mismatched.size} of {len(native_labels)} labels differ (row {row}: "
                f"{labels[row]!r} vs {native_labels[row]!r})"
            )
        difference = 0.0
    if native_proba is not None:
        proba = runtime.predict_proba(loaded, example)
        if proba is None or proba.shape != native_proba.shape:
            raise _Disagrees("the graph gives no probabilities of the model's shape")
        if not np.allclose(proba, native_proba, rtol=0, atol=max(absolute, 1e-6)):
            raise _Disagrees(f"probabilities differ by up to {_largest(proba, native_proba):g}")
        difference = max(difference, _largest(proba, native_proba))
    return difference


def _largest(got: Any, expected: Any) -> float:
    import numpy as np

    return float(np.max(np.abs(np.asarray(got, dtype="float64") - expected), initial=0.0))
