"""One Arrow record batch in, the same rows with their predictions out.

A model whose inputs are all numeric takes the fast path: the signature is checked on the Arrow
columns themselves (present, numeric, no nulls where none are allowed, whole numbers in integer
columns), the columns are copied into one Fortran-ordered ``float64`` matrix (one contiguous copy
per column, no pandas) and handed to ``LoadedModel.predict_array``. Any other model gets a pandas
DataFrame of its input columns and ``LoadedModel.predict``, which enforces the signature itself.
Either way an error names the column *and* the file, and the row number counts from the start of
the file, not of the chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

    from modelcycle.registry.model_format import LoadedModel
    from modelcycle.registry.signature import ColumnSpec

PROBA_PREFIX = "proba_"
"""Probability columns are named ``proba_<class>``."""


class BatchScorer:
    """Scores record batches with one model; built once per job (or per Dask worker).

    Args:
        model: the loaded model.
        output_column: the prediction column's name (``<name>_<i>`` for each column of a
            model that predicts several values per row).
        proba: add one ``proba_<class>`` column per class.
        keep_columns: input columns copied to the output, in this order; None keeps them all.

    Raises:
        InvalidInput: ``proba`` for a model that gives no probabilities.
    """

    def __init__(
        self,
        model: LoadedModel,
        *,
        output_column: str = "prediction",
        proba: bool = False,
        keep_columns: Sequence[str] | None = None,
    ) -> None:
        if not output_column:
            raise InvalidInput("the prediction column needs a name", details={"column": ""})
        if proba and not model.has_proba:
            raise InvalidInput(
                f"--proba: this {model.flavor} model gives no class probabilities",
                details={"flavor": model.flavor},
            )
        self.model = model
        self.output_column = output_column
        self.proba = proba
        self.keep_columns = None if keep_columns is None else list(keep_columns)
        signature = model.signature
        self._specs: list[ColumnSpec] = [] if signature is None else list(signature.inputs)
        self._numeric = model.supports_array
        classes = model.classes if proba else None
        self._proba_names = (
            None if classes is None else [f"{PROBA_PREFIX}{label}" for label in classes]
        )

    def column_types(self) -> dict[str, pa.DataType]:
        """Arrow types to parse the model's CSV input columns as."""
        import pyarrow as pa

        types: dict[str, pa.DataType] = {}
        for spec in self._specs:
            if spec.dtype == "bool":
                types[spec.name] = pa.bool_()
            elif spec.dtype in ("float32", "float64"):
                types[spec.name] = pa.float64()
            elif spec.dtype.startswith(("int", "uint")):
                types[spec.name] = pa.int64() if spec.dtype.startswith("i") else pa.uint64()
            elif spec.dtype == "string":
                types[spec.name] = pa.string()
        return types

    def check_schema(self, schema: pa.Schema, path: Path) -> None:
        """Refuse a file before reading its rows: an input or kept column it lacks or has
        twice, or an output column name it already uses.

        Raises:
            InvalidInput: the message names the column and the file.
        """
        names = list(schema.names)
        for spec in self._specs:
            count = names.count(spec.name)
            if count == 0:
                raise _missing(spec.name, path, "the model's signature needs it", self._specs)
            if count > 1:
                raise InvalidInput(
                    f"column {spec.name!r} appears {count} times in {str(path)!r}",
                    details={"column": spec.name, "path": str(path), "problem": "duplicate"},
                )
        kept = names if self.keep_columns is None else self.keep_columns
        for name in kept:
            if name not in names:
                raise InvalidInput(
                    f"column {name!r} to keep is not in {str(path)!r} (its columns: "
                    f"{', '.join(names)})",
                    details={"column": name, "path": str(path), "problem": "missing"},
                )
        outputs = [self.output_column, *(self._proba_names or [])]
        clash = sorted(set(kept) & set(outputs))
        if clash:
            raise InvalidInput(
                f"{str(path)!r} already has a column {clash[0]!r}, which the output would add; "
                "choose another name with --output-column, or leave the column out with --keep",
                details={"column": clash[0], "path": str(path), "problem": "collision"},
            )

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        """The output's schema for an input with no rows (nothing was predicted to learn the
        prediction's type from): the class labels' type, else float64."""
        import pyarrow as pa

        kept = schema.names if self.keep_columns is None else self.keep_columns
        fields = [schema.field(name) for name in kept]
        classes = self.model.classes
        label_type = pa.float64()
        if classes is not None:
            dtype = np.asarray(classes).dtype
            label_type = pa.string() if dtype.kind in "OUS" else pa.from_numpy_dtype(dtype)
        fields.append(pa.field(self.output_column, label_type))
        if self.proba:
            names = self._proba_names or []
            fields.extend(pa.field(name, pa.float64()) for name in names)
        return pa.schema(fields)

    def score(self, batch: pa.RecordBatch, path: Path, first_row: int) -> pa.RecordBatch:
        """``batch``'s kept columns followed by the prediction (and probability) columns.

        Args:
            path: the file the batch comes from, named in errors.
            first_row: the batch's first row's number in the file, for errors.

        Raises:
            InvalidInput: the batch does not fit the model's signature.
        """
        import pyarrow as pa

        if self._numeric:
            inputs: Any = self._matrix(batch, path, first_row)
            predictions = _named(path, self.model.predict_array, inputs)
        else:
            inputs = self._frame(batch, first_row)
            predictions = _named(path, self.model.predict, inputs)
        kept = batch.schema.names if self.keep_columns is None else self.keep_columns
        arrays = [batch.column(name) for name in kept]
        names = list(kept)
        for name, values in self._prediction_columns(predictions, batch.num_rows, path):
            arrays.append(pa.array(values))
            names.append(name)
        if self.proba:
            probabilities = np.asarray(_named(path, self.model.predict_proba, inputs))
            proba_names = self._proba_names or [
                f"{PROBA_PREFIX}{i}" for i in range(probabilities.shape[1])
            ]
            for j, name in enumerate(proba_names):
                arrays.append(pa.array(probabilities[:, j]))
                names.append(name)
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def _prediction_columns(
        self, predictions: np.ndarray, rows: int, path: Path
    ) -> list[tuple[str, np.ndarray]]:
        values = np.asarray(predictions)
        if values.shape[:1] != (rows,) or values.ndim > 2:
            raise InvalidInput(
                f"the model returned predictions of shape {values.shape} for {rows} rows "
                f"of {str(path)!r}; batch scoring needs one value (or one row) per input row",
                details={"path": str(path), "shape": list(values.shape)},
            )
        if values.ndim == 1:
            return [(self.output_column, values)]
        return [(f"{self.output_column}_{j}", values[:, j]) for j in range(values.shape[1])]

    def _frame(self, batch: pa.RecordBatch, first_row: int) -> Any:
        import pandas as pd

        selected = batch.select([s.name for s in self._specs]) if self._specs else batch
        frame = selected.to_pandas()
        frame.index = pd.RangeIndex(first_row, first_row + batch.num_rows)
        return frame

    def _matrix(self, batch: pa.RecordBatch, path: Path, first_row: int) -> np.ndarray:
        matrix = np.empty((batch.num_rows, len(self._specs)), dtype=np.float64, order="F")
        for j, spec in enumerate(self._specs):
            index = batch.schema.get_field_index(spec.name)
            if index < 0:
                raise _missing(spec.name, path, "the model's signature needs it", self._specs)
            matrix[:, j] = _numeric_values(batch.column(index), spec, path, first_row)
        return matrix


def _numeric_values(column: pa.Array, spec: ColumnSpec, path: Path, first_row: int) -> Any:
    """The column as float64 values (nulls as NaN), checked against ``spec`` as
    ``Signature.enforce`` would check it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    is_bool = pa.types.is_boolean(kind)
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    if not pa.types.is_null(kind) and (
        is_bool != (spec.dtype == "bool") or not (numeric or is_bool)
    ):
        raise InvalidInput(
            f"column {spec.name!r} in {str(path)!r} expects {spec.dtype} but holds {kind} values",
            details={
                "column": spec.name,
                "path": str(path),
                "problem": "dtype",
                "expected": spec.dtype,
                "found": str(kind),
            },
        )
    if kind == pa.float64() and column.null_count == 0:
        values = column.to_numpy(zero_copy_only=False)
    else:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    may_be_nan = not (pa.types.is_integer(kind) or is_bool) or column.null_count > 0
    if may_be_nan and not spec.nullable:
        missing = np.isnan(values)
        if missing.any():
            raise InvalidInput(
                f"column {spec.name!r} in {str(path)!r} holds {int(missing.sum())} null "
                f"value(s) (first at row {first_row + int(missing.argmax())}) but the model's "
                "signature does not allow nulls in it",
                details={"column": spec.name, "path": str(path), "problem": "null"},
            )
    if spec.dtype.startswith(("int", "uint")):
        whole = pa.types.is_integer(kind) and column.null_count == 0
        _check_integers(values, spec, path, whole=whole)
    return values


def _check_integers(values: np.ndarray, spec: ColumnSpec, path: Path, *, whole: bool) -> None:
    """Fractions and values outside the integer type's range are refused, as ``enforce`` does."""
    present = values[~np.isnan(values)] if not whole else values
    if not whole:
        fractional = present != np.floor(present)
        if fractional.any():
            raise InvalidInput(
                f"column {spec.name!r} in {str(path)!r} expects {spec.dtype} but holds the "
                f"fraction {float(present[fractional.argmax()])!r}",
                details={"column": spec.name, "path": str(path), "problem": "dtype"},
            )
    info = np.iinfo(spec.dtype)
    if present.size and (present.min() < info.min or present.max() > info.max):
        raise InvalidInput(
            f"column {spec.name!r} in {str(path)!r} expects {spec.dtype} but holds values "
            f"outside [{info.min}, {info.max}]",
            details={"column": spec.name, "path": str(path), "problem": "range"},
        )


def _missing(name: str, path: Path, why: str, specs: Sequence[ColumnSpec]) -> InvalidInput:
    return InvalidInput(
        f"missing column {name!r} in {str(path)!r}: {why} (inputs: "
        f"{', '.join(s.name for s in specs)})",
        details={"column": name, "path": str(path), "problem": "missing"},
    )


def _named(path: Path, method: Any, data: Any) -> Any:
    """Call ``method(data)``; a signature error gets the file's name added, and the model's
    own refusal of the values (sklearn's ``ValueError`` on infinity, ...) becomes
    ``InvalidInput`` naming the file, as the inference server answers it with a 400."""
    try:
        return method(data)
    except InvalidInput as exc:
        raise InvalidInput(
            f"{exc.message} (in {str(path)!r})", details={**exc.details, "path": str(path)}
        ) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"the model refused the rows of {str(path)!r}: {exc}",
            details={"path": str(path), "problem": "model"},
        ) from exc
