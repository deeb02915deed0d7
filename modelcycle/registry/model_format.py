"""The model directory: ``model.json`` (the manifest) beside the flavor's payload files.

::

    model/
    ├── model.json              flavor, options, signature, requirements, Python, blake3 per file
    ├── model.skops             the payload (model.onnx, model.pkl, … per flavor)
    ├── input_example.parquet   the example the signature was inferred from (optional)
    └── onnx/model.onnx         the ONNX twin of a scikit-learn model (optional, onnx=True)

``save_model`` writes into a temporary sibling and renames it into place, so a reader never sees
half a model. ``load_model`` hashes every file against the manifest *before* the flavor
deserialises anything, and refuses a directory with a changed byte, a missing file or an extra
file. Only then, and only for flavors that do not run code on load unless ``trusted=True``, is
the payload read.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from modelcycle._internal.clock import now_ms
from modelcycle._internal.hashing import hash_file
from modelcycle.errors import AlreadyExists, IntegrityError, InvalidInput, PermissionDenied
from modelcycle.registry._onnx_twin import RUNTIMES, TWIN_DIR, OnnxTwin
from modelcycle.registry.signature import Signature, infer_signature, to_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modelcycle.registry.flavors import Flavor

__all__ = [
    "INPUT_EXAMPLE_FILE",
    "MANIFEST_FILE",
    "FileDigest",
    "LoadedModel",
    "ModelManifest",
    "load_model",
    "read_manifest",
    "runtime_requirements",
    "save_model",
    "verify_model_dir",
]

MANIFEST_FILE = "model.json"
INPUT_EXAMPLE_FILE = "input_example.parquet"
FORMAT_VERSION = 1


class FileDigest(BaseModel):
    """One payload file: its path inside the model directory (POSIX), blake3 digest and size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    blake3: str
    size: int

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        pure = PurePosixPath(value)
        if not value or pure.is_absolute() or ".." in pure.parts or value == MANIFEST_FILE:
            raise ValueError(f"file path {value!r} is not a payload path inside the directory")
        return value


class ModelManifest(BaseModel):
    """What ``model.json`` holds."""

    model_config = ConfigDict(frozen=True)

    format_version: int = FORMAT_VERSION
    flavor: str
    flavor_options: dict[str, Any]
    signature: Signature | None
    input_example: str | None
    requirements: list[str]
    python_version: str
    created_at: int
    files: list[FileDigest]
    onnx_twin: OnnxTwin | None = None
    """The ONNX conversion served by ``--runtime onnx``, when saved with ``onnx=True``."""

    @property
    def digests(self) -> dict[str, str]:
        """Payload path → blake3 digest."""
        return {item.path: item.blake3 for item in self.files}


class LoadedModel:
    """A verified, deserialised model: predictions go through its signature.

    Attributes:
        manifest: the directory's manifest.
        signature: the input signature, or None when the model was saved without one.
        flavor: the flavor's name.
        runtime: ``native`` (the flavor's own library) or ``onnx`` (the model's ONNX twin).
        raw: the library object (an estimator, an onnxruntime session, the pickled object).
    """

    def __init__(
        self, manifest: ModelManifest, flavor: Flavor, raw: Any, runtime: str = "native"
    ) -> None:
        self.manifest = manifest
        self.signature = manifest.signature
        self.flavor = manifest.flavor
        self.runtime = runtime
        self.raw = raw
        self._flavor = flavor
        self._columns = None if self.signature is None else self.signature.input_names

    def __repr__(self) -> str:
        return (
            f"LoadedModel(flavor={self.flavor!r}, runtime={self.runtime!r}, "
            f"inputs={self._columns!r})"
        )

    def prepare(self, data: Any) -> pd.DataFrame:
        """``data`` as a DataFrame checked against the signature (columns in signature order).

        Raises:
            InvalidInput: the data does not fit the signature; the message names the column.
        """
        frame = to_frame(data, self.signature)
        if self.signature is None:
            return frame
        return self.signature.enforce(frame)

    def predict(self, data: pd.DataFrame | np.ndarray | dict[str, Any] | list[Any]) -> np.ndarray:
        """Predictions for ``data`` after enforcing the signature.

        Raises:
            InvalidInput: the data does not fit the signature.
        """
        return self._flavor.predict(self.raw, self.prepare(data))

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, one column per class (see :attr:`classes`).

        Raises:
            InvalidInput: the model has no probabilities, or the data does not fit.
        """
        if not self.has_proba:
            raise InvalidInput(
                f"this {self.flavor} model gives no class probabilities (predict_proba)",
                details={"flavor": self.flavor},
            )
        result = self._flavor.predict_proba(self.raw, self.prepare(data))
        assert result is not None  # has_proba said so
        return result

    @property
    def has_proba(self) -> bool:
        """Whether :meth:`predict_proba` is available."""
        return self._flavor.has_proba(self.raw)

    @property
    def classes(self) -> list[Any] | None:
        """Class labels in the order of ``predict_proba``'s columns, when the flavor knows them."""
        return self._flavor.classes(self.raw)

    @property
    def supports_array(self) -> bool:
        """Whether :meth:`predict_array` may be used: every input column is numeric."""
        return self.signature is not None and self.signature.all_numeric

    def predict_array(self, array: np.ndarray) -> np.ndarray:
        """The serving fast path: ``array`` is 2-D, numeric, columns in signature order; no
        per-call DataFrame unless the model itself selects columns by name.

        Raises:
            InvalidInput: no numeric signature, or the array's shape does not match it.
        """
        if self._columns is None or not self.supports_array:
            raise InvalidInput(
                "predict_array needs a signature whose inputs are all numeric; use predict",
                details={"flavor": self.flavor},
            )
        if array.ndim != 2 or array.shape[1] != len(self._columns):
            raise InvalidInput(
                f"expected a 2-D array with {len(self._columns)} columns "
                f"({', '.join(self._columns)}), got shape {tuple(array.shape)}",
                details={"problem": "shape", "shape": list(array.shape)},
            )
        return self._flavor.predict_array(self.raw, array, self._columns)


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    input_example: Any = None,
    signature: Signature | dict[str, Any] | None = None,
    requirements: list[str] | None = None,
    onnx: bool = False,
) -> ModelManifest:
    """Write ``model`` as a model directory at ``path``.

    Args:
        model: the object to save.
        path: must not exist, or be an empty directory.
        flavor: the flavor's name; detected from the model's type when None.
        input_example: a few input rows (DataFrame, 2-D array or dict of columns), stored as
            Parquet; the signature is inferred from it unless ``signature`` is given.
        signature: an explicit signature (a :class:`Signature` or its dict form).
        requirements: extra pinned requirements; they replace the flavor's pin of the same
            package.
        onnx: also write an ONNX twin of a scikit-learn model (skl2onnx), kept only if it
            answers like the model on ``input_example``; ``load_model(runtime="onnx")`` and
            ``modelcycle serve --runtime onnx`` run it without importing scikit-learn.

    Returns:
        The manifest written to ``model.json``.

    Raises:
        AlreadyExists: ``path`` exists and is not an empty directory.
        InvalidInput: no flavor can save the model, the example or signature is malformed, or
            (``onnx=True``) the model cannot be converted to a twin that agrees with it.

    Example:
        >>> from sklearn.linear_model import LinearRegression  # doctest: +SKIP
        >>> model = LinearRegression().fit(X, y)  # doctest: +SKIP
        >>> save_model(model, "model", input_example=X[:5])  # doctest: +SKIP
    """
    from modelcycle.registry.flavors import flavor_for, get_flavor

    target = Path(path)
    _check_target(target)
    chosen = flavor_for(model) if flavor is None else get_flavor(flavor)
    if flavor is not None and not chosen.can_save(model):
        raise InvalidInput(
            f"the {chosen.name} flavor cannot save a {type(model).__qualname__}",
            details={"flavor": chosen.name},
        )
    sig = _signature(signature, input_example)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
    scratch.mkdir()
    try:
        options = chosen.save(model, scratch)
        reserved = [
            name
            for name in (MANIFEST_FILE, INPUT_EXAMPLE_FILE, TWIN_DIR)
            if (scratch / name).exists()
        ]
        if reserved:
            raise InvalidInput(
                f"the {chosen.name} flavor wrote {reserved[0]}, a name the model format keeps",
                details={"flavor": chosen.name, "path": reserved[0]},
            )
        example_file = None
        example = None
        if input_example is not None:
            example = to_frame(input_example, sig)
            _write_example(example, scratch / INPUT_EXAMPLE_FILE)
            example_file = INPUT_EXAMPLE_FILE
        twin = _twin(chosen, model, scratch, sig, example) if onnx else None
        pins = chosen.requirements(model)
        if twin is not None:
            pins += get_flavor("onnx").requirements(None)
        manifest = ModelManifest(
            flavor=chosen.name,
            flavor_options=options,
            signature=sig,
            input_example=example_file,
            requirements=_merge_requirements(pins, requirements or []),
            python_version=platform.python_version(),
            created_at=now_ms(),
            files=_digests(scratch),
            onnx_twin=twin,
        )
        (scratch / MANIFEST_FILE).write_text(
            json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        if target.exists():
            target.rmdir()  # empty, checked above: rename needs the name free
        os.rename(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return manifest


def read_manifest(path: str | os.PathLike[str]) -> ModelManifest:
    """The manifest of the model directory at ``path`` (nothing else is checked).

    Raises:
        InvalidInput: ``path`` is not a model directory, or its ``model.json`` is unreadable.
    """
    directory = Path(path)
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise InvalidInput(
            f"{str(directory)!r} is not a model directory: it has no {MANIFEST_FILE}",
            details={"path": str(directory)},
        )
    try:
        return ModelManifest.model_validate_json(manifest_path.read_bytes())
    except (ValidationError, OSError) as exc:
        raise InvalidInput(
            f"{manifest_path} is not a readable model manifest: {exc}",
            details={"path": str(manifest_path)},
        ) from exc


def verify_model_dir(
    path: str | os.PathLike[str], *, manifest_digest: str | None = None
) -> ModelManifest:
    """Check every file of the model directory at ``path`` against its manifest.

    Args:
        manifest_digest: the blake3 digest ``model.json`` must have, when the caller holds it
            (the registry does); otherwise the manifest is trusted as found and only has to
            parse.

    Returns:
        The manifest, once every payload file hashes to its recorded digest.

    Raises:
        InvalidInput: ``path`` has no ``model.json``: it is not a model directory.
        IntegrityError: the manifest is damaged or does not hash to ``manifest_digest``, or a
            file is missing, unexpected, or its bytes changed; the message and
            ``details["path"]`` name the file.
    """
    directory = Path(path)
    manifest_path = directory / MANIFEST_FILE
    if manifest_digest is not None and manifest_path.is_file():
        found = hash_file(manifest_path)
        if found != manifest_digest:
            raise IntegrityError(
                f"{MANIFEST_FILE} in the model directory {directory} does not match the digest "
                f"it was registered under (blake3 {found}, expected {manifest_digest})",
                details={"path": MANIFEST_FILE, "problem": "changed", "expected": manifest_digest},
            )
    try:
        manifest = read_manifest(directory)
    except InvalidInput as exc:
        if not manifest_path.is_file():
            raise
        # The manifest is there but does not parse: the directory was damaged.
        raise IntegrityError(
            f"{MANIFEST_FILE} in the model directory {directory} is damaged: {exc.message}",
            details={"path": MANIFEST_FILE, "problem": "damaged"},
        ) from exc
    expected = {item.path: item for item in manifest.files}
    present = set(_payload_files(directory))
    for relative in sorted(expected.keys() - present):
        raise IntegrityError(
            f"{relative} is missing from the model directory {directory}",
            details={"path": relative, "problem": "missing"},
        )
    for relative in sorted(present - expected.keys()):
        raise IntegrityError(
            f"{relative} in the model directory {directory} is not listed in its manifest",
            details={"path": relative, "problem": "unexpected"},
        )
    for relative, item in sorted(expected.items()):
        file = directory / relative
        size = file.stat().st_size
        digest = hash_file(file) if size == item.size else None
        if digest != item.blake3:
            raise IntegrityError(
                f"{relative} in the model directory {directory} does not match its manifest "
                f"(size {size}, expected {item.size}; blake3 {digest or 'not computed'}, "
                f"expected {item.blake3})",
                details={"path": relative, "problem": "changed", "expected": item.blake3},
            )
    return manifest


def load_model(
    path: str | os.PathLike[str],
    *,
    trusted: bool = False,
    manifest_digest: str | None = None,
    runtime: str = "native",
) -> LoadedModel:
    """Verify the model directory at ``path``, then deserialise it.

    Args:
        manifest_digest: the digest ``model.json`` must have (see :func:`verify_model_dir`).
        trusted: allow flavors that run code on load (``pyfunc``) and, for ``sklearn``, types
            outside scikit-learn, NumPy and SciPy.
        runtime: ``native`` loads the model with its flavor's library; ``onnx`` loads its ONNX
            twin (``save_model(onnx=True)``) with onnxruntime, importing no scikit-learn.

    Raises:
        InvalidInput: not a model directory, an unknown runtime, or ``runtime="onnx"`` for a
            model saved without a twin.
        IntegrityError: a file does not match the manifest; nothing was deserialised.
        PermissionDenied: the model needs ``trusted=True``.
        NotFound: the manifest names a flavor this installation does not have.
    """
    from modelcycle.registry.flavors import get_flavor

    _check_runtime(runtime)
    directory = Path(path)
    manifest = verify_model_dir(directory, manifest_digest=manifest_digest)
    if runtime == "onnx":
        return _load_twin(directory, manifest)
    flavor = get_flavor(manifest.flavor)
    if flavor.requires_trust and not trusted:
        raise PermissionDenied(
            f"the model in {directory} is a {flavor.name} model: loading it runs code stored "
            "in it; pass trusted=True only if you trust its source",
            details={"flavor": flavor.name, "path": str(directory)},
        )
    try:
        raw = flavor.load(directory, dict(manifest.flavor_options), trusted=trusted)
    except FileNotFoundError as exc:
        # Only a manifest edited to drop a payload file (and the file with it) gets here.
        raise IntegrityError(
            f"the model directory {directory} lacks a file its {flavor.name} flavor needs "
            f"({Path(exc.filename or '').name}), yet its manifest does not list it",
            details={"path": Path(exc.filename or "").name, "problem": "missing"},
        ) from exc
    return LoadedModel(manifest, flavor, raw)


def _load_twin(directory: Path, manifest: ModelManifest) -> LoadedModel:
    """The verified directory's ONNX twin, loaded by the onnx flavor."""
    from modelcycle.registry.flavors import get_flavor

    twin = _require_twin(manifest, f"the model in {directory}")
    if twin.path not in manifest.digests:
        raise IntegrityError(
            f"the manifest of {directory} names an ONNX twin at {twin.path} but lists no "
            "digest for it",
            details={"path": twin.path, "problem": "missing"},
        )
    flavor = get_flavor("onnx")
    raw = flavor.load(directory / TWIN_DIR, dict(twin.options))
    return LoadedModel(manifest, flavor, raw, runtime="onnx")


def _twin(
    flavor: Flavor, model: Any, scratch: Path, sig: Signature | None, example: Any
) -> OnnxTwin:
    from modelcycle.registry._onnx_twin import write_onnx_twin

    checked = None if example is None or sig is None else sig.enforce(example)
    return write_onnx_twin(flavor, model, scratch, sig, checked)


def load_input_example(path: str | os.PathLike[str]) -> pd.DataFrame | None:
    """The stored input example of a verified model directory, or None."""
    import pandas as pd

    manifest = read_manifest(path)
    if manifest.input_example is None:
        return None
    return pd.read_parquet(Path(path) / manifest.input_example)


def _write_example(frame: pd.DataFrame, path: Path) -> None:
    try:
        frame.rename(columns=str).to_parquet(path, index=False)
    except (ValueError, TypeError) as exc:  # pyarrow's ArrowInvalid / ArrowTypeError
        raise InvalidInput(
            f"the input example cannot be stored as Parquet: {exc}",
            details={"problem": "input_example"},
        ) from exc


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExists(
            f"{str(target)!r} already exists; save a model to a new or empty directory",
            details={"path": str(target)},
        )


def _signature(given: Signature | dict[str, Any] | None, example: Any) -> Signature | None:
    if isinstance(given, Signature):
        return given
    if given is not None:
        try:
            return Signature.model_validate(given)
        except ValidationError as exc:
            raise InvalidInput(f"the signature is malformed: {exc}") from exc
    if example is None:
        return None
    return infer_signature(example)


def runtime_requirements(manifest: ModelManifest, runtime: str) -> list[str]:
    """The manifest's pins a process needs to serve the model with ``runtime``: all of them
    natively; for ``onnx``, those of onnxruntime and NumPy only (no scikit-learn, SciPy, skops).

    Raises:
        InvalidInput: an unknown runtime, or ``onnx`` for a model without a twin.
    """
    from modelcycle.registry.flavors import get_flavor

    _check_runtime(runtime)
    if runtime == "native":
        return list(manifest.requirements)
    _require_twin(manifest, "the model")
    needed = {_requirement_name(line) for line in get_flavor("onnx").requirements(None)}
    return [line for line in manifest.requirements if _requirement_name(line) in needed]


def _check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise InvalidInput(
            f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}",
            details={"runtime": runtime, "known": list(RUNTIMES)},
        )


def _require_twin(manifest: ModelManifest, what: str) -> OnnxTwin:
    if manifest.onnx_twin is None:
        raise InvalidInput(
            f"{what} has no ONNX twin; save or register it with onnx=True (scikit-learn "
            "models with numeric and string inputs), or use the native runtime",
            details={"runtime": "onnx"},
        )
    return manifest.onnx_twin


def _merge_requirements(flavor_pins: list[str], extra: list[str]) -> list[str]:
    by_name = {_requirement_name(line): line for line in flavor_pins}
    for line in extra:
        if not line.strip():
            raise InvalidInput("a requirement is empty", details={"requirements": extra})
        by_name[_requirement_name(line)] = line.strip()
    return sorted(by_name.values(), key=str.lower)


def _requirement_name(line: str) -> str:
    for separator in ("===", "==", ">=", "<=", "~=", "!=", ">", "<", "[", ";", "@", " "):
        line = line.split(separator, 1)[0]
    return line.strip().lower().replace("_", "-")


def _payload_files(directory: Path) -> list[str]:
    """Every file under ``directory`` except the manifest, as POSIX paths; symbolic links and
    other non-regular entries count as files so that they are reported, never followed."""
    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        base = Path(root)
        entries = files + [name for name in dirs if (base / name).is_symlink()]
        for name in entries:
            relative = (base / name).relative_to(directory).as_posix()
            if relative != MANIFEST_FILE:
                found.append(relative)
    return found


def _digests(directory: Path) -> list[FileDigest]:
    return [
        FileDigest(
            path=relative,
            blake3=hash_file(directory / relative),
            size=(directory / relative).stat().st_size,
        )
        for relative in sorted(_payload_files(directory))
    ]
