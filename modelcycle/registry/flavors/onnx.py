"""The ``onnx`` flavor: an ``onnx.ModelProto`` stored as ``model.onnx``, run with onnxruntime.

The frame is fed as the graph's single input tensor (rows × columns, in the tensor's element
type), or column by column when the graph has one input per column (as skl2onnx writes for a
pipeline over named, mixed-type columns). The first output is the prediction; a second output
holding probabilities (a float tensor, or the sequence of maps skl2onnx's ZipMap writes) makes
``predict_proba`` available, with the class labels read from the graph's classifier node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle.errors import InvalidInput
from modelcycle.registry.flavors import pinned

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime
    import pandas as pd

MODEL_FILE = "model.onnx"
_TENSOR_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


@dataclass(frozen=True)
class OnnxModel:
    """A loaded graph: the onnxruntime session and how to feed and read it."""

    session: onnxruntime.InferenceSession
    inputs: list[tuple[str, str]]
    """(name, numpy dtype) of each graph input."""
    label: str
    proba: str | None
    classes: list[Any] | None
    bool_labels: bool = False
    """The labels are booleans the graph computes as 0/1 (skl2onnx has no boolean classes)."""


class OnnxFlavor:
    """ONNX graphs (from skl2onnx, torch.onnx, tf2onnx, …) on the CPU provider."""

    name = "onnx"
    requires_trust = False
    priority = 90

    def can_save(self, model: Any) -> bool:
        cls = type(model)
        return cls.__name__ == "ModelProto" and cls.__module__.split(".", 1)[0] == "onnx"

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        (directory / MODEL_FILE).write_bytes(model.SerializeToString())
        return {"classes": _graph_classes(model)}

    def load(self, directory: Path, options: dict[str, Any], *, trusted: bool = False) -> Any:
        import onnxruntime

        session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE),
            providers=["CPUExecutionProvider"],
        )
        inputs = []
        for node in session.get_inputs():
            if node.type not in _TENSOR_TYPES:
                raise InvalidInput(
                    f"ONNX input {node.name!r} has type {node.type}, which this flavor cannot "
                    f"feed (it feeds {', '.join(sorted(_TENSOR_TYPES))})",
                    details={"input": node.name, "type": node.type},
                )
            inputs.append((node.name, _TENSOR_TYPES[node.type]))
        outputs = session.get_outputs()
        proba = None
        # An ONNX twin of a model without predict_proba may still carry a probability output.
        if (
            options.get("probabilities", True)
            and len(outputs) > 1
            and (
                outputs[1].type in ("tensor(float)", "tensor(double)")
                or outputs[1].type.startswith("seq(map(")
            )
        ):
            proba = outputs[1].name
        return OnnxModel(
            session, inputs, outputs[0].name, proba, options.get("classes"),
            bool_labels=options.get("labels") == "bool",
        )  # fmt: skip

    def predict(self, raw: OnnxModel, frame: pd.DataFrame) -> np.ndarray:
        return _labels(raw, raw.session.run([raw.label], _feed(raw, frame))[0])

    def predict_array(self, raw: OnnxModel, array: np.ndarray, columns: list[str]) -> np.ndarray:
        if len(raw.inputs) == 1:
            name, dtype = raw.inputs[0]
            feed = {name: array.astype(dtype, copy=False)}
        else:
            index = {column: i for i, column in enumerate(columns)}
            feed = {
                name: array[:, index[name]].astype(dtype).reshape(-1, 1)
                for name, dtype in raw.inputs
            }
        return _labels(raw, raw.session.run([raw.label], feed)[0])

    def predict_proba(self, raw: OnnxModel, frame: pd.DataFrame) -> np.ndarray | None:
        import numpy as np

        if raw.proba is None:
            return None
        result = raw.session.run([raw.proba], _feed(raw, frame))[0]
        if isinstance(result, list):  # ZipMap: one {class: probability} per row
            keys = raw.classes if raw.classes is not None else sorted(result[0]) if result else []
            # float32, as the graph computed them: their rows sum to 1 within float32's
            # precision, which is what scikit-learn's log_loss checks them against.
            return np.array([[row[key] for key in keys] for row in result], dtype="float32")
        return np.asarray(result)

    def has_proba(self, raw: OnnxModel) -> bool:
        return raw.proba is not None

    def classes(self, raw: OnnxModel) -> list[Any] | None:
        return raw.classes

    def requirements(self, model: Any) -> list[str]:
        return pinned("onnxruntime", "numpy")


def _feed(raw: OnnxModel, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    if len(raw.inputs) == 1:
        name, dtype = raw.inputs[0]
        return {name: frame.to_numpy(dtype=dtype)}
    missing = [name for name, _ in raw.inputs if name not in frame.columns]
    if missing:
        raise InvalidInput(
            f"the ONNX graph takes one input per column and column {missing[0]!r} is missing",
            details={"column": missing[0], "problem": "missing"},
        )
    return {name: frame[name].to_numpy(dtype=dtype).reshape(-1, 1) for name, dtype in raw.inputs}


def _labels(raw: OnnxModel, result: Any) -> np.ndarray:
    """The label output as scikit-learn's predict returns it: one value per row, booleans for
    a model whose classes are."""
    import numpy as np

    array = np.asarray(result)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    return array.astype(bool) if raw.bool_labels else array


def _graph_classes(model: Any) -> list[Any] | None:
    """The class labels of the graph's classifier node, in the order of its probabilities."""
    from onnx import helper

    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in ("classlabels_ints", "classlabels_int64s"):
                return [int(value) for value in helper.get_attribute_value(attribute)]
            if attribute.name == "classlabels_strings":
                return [value.decode() for value in helper.get_attribute_value(attribute)]
    return None


FLAVOR = OnnxFlavor()
