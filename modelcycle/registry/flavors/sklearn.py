"""The ``sklearn`` flavor: scikit-learn estimators saved with skops, loaded without pickle.

skops writes a zip of JSON and numpy arrays and rebuilds objects from a closed list of types.
Before loading, every type the file names that skops does not trust by default is checked
against an allow-list of modules (scikit-learn, NumPy, SciPy); a model that names anything else
(a user's own transformer class, say) loads only with ``trusted=True``. Arbitrary types are never
instantiated from an untrusted file.
"""

from __future__ import annotations

import copy
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle.errors import PermissionDenied
from modelcycle.registry.flavors import pinned

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MODEL_FILE = "model.skops"
ALLOWED_MODULES = ("sklearn", "numpy", "scipy")
"""Top-level modules whose types may be rebuilt from an untrusted file."""


class SklearnFlavor:
    """scikit-learn estimators and pipelines, stored as ``model.skops``."""

    name = "sklearn"
    requires_trust = False
    priority = 100

    def can_save(self, model: Any) -> bool:
        # Looking at the class hierarchy needs no import of scikit-learn.
        return any(
            cls.__module__.split(".", 1)[0] == "sklearn" for cls in type(model).__mro__
        ) and callable(getattr(model, "predict", None))

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        import skops.io

        skops.io.dump(model, directory / MODEL_FILE)
        return {
            "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
        }

    def load(self, directory: Path, options: dict[str, Any], *, trusted: bool = False) -> Any:
        import skops.io

        path = directory / MODEL_FILE
        untrusted = skops.io.get_untrusted_types(file=path)
        refused = [name for name in untrusted if not _allowed(name)]
        if refused and not trusted:
            raise PermissionDenied(
                f"the model in {directory} names types outside scikit-learn, NumPy and SciPy: "
                f"{', '.join(refused)}; load it with trusted=True only if you trust its source",
                details={"types": refused},
            )
        return skops.io.load(path, trusted=untrusted)

    def predict(self, raw: Any, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        return np.asarray(raw.predict(_features(raw, frame)))

    def predict_array(self, raw: Any, array: np.ndarray, columns: list[str]) -> np.ndarray:
        import numpy as np

        if not _fitted_with_names(raw):
            return np.asarray(raw.predict(array))
        estimator = _array_estimator(raw, columns)
        if estimator is not None:
            return np.asarray(estimator.predict(array))
        # The estimator selects columns by name (or may): it needs a frame.
        import pandas as pd

        return np.asarray(raw.predict(pd.DataFrame(array, columns=columns, copy=False)))

    def predict_proba(self, raw: Any, frame: pd.DataFrame) -> np.ndarray | None:
        import numpy as np

        if not self.has_proba(raw):
            return None
        return np.asarray(raw.predict_proba(_features(raw, frame)))

    def has_proba(self, raw: Any) -> bool:
        # hasattr honours scikit-learn's available_if (e.g. SVC(probability=False)).
        return hasattr(raw, "predict_proba")

    def classes(self, raw: Any) -> list[Any] | None:
        import numpy as np

        classes = getattr(raw, "classes_", None)
        return None if classes is None else np.asarray(classes).tolist()

    def requirements(self, model: Any) -> list[str]:
        return pinned("scikit-learn", "skops", "numpy", "scipy")


def _allowed(type_name: str) -> bool:
    return type_name.split(".", 1)[0] in ALLOWED_MODULES


_array_estimators: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_array_estimators_lock = threading.Lock()
_NAME_DEPENDENT = frozenset({"ColumnTransformer", "FunctionTransformer"})
"""Steps that may select or compute by column name: an estimator holding one keeps the frame."""


def _array_estimator(raw: Any, columns: list[str]) -> Any | None:
    """A copy of ``raw`` that takes a plain array whose columns are in ``columns`` order, or
    ``None`` when names matter to it.

    An estimator fitted on a frame only checks the names (and warns when they are missing), so a
    copy that forgot them predicts the same from the array, without building a DataFrame per call
    (0.7 ms of a 0.8 ms one-row prediction). Made once per loaded model.
    """
    if list(raw.feature_names_in_) != list(columns):
        return None
    with _array_estimators_lock:
        if raw in _array_estimators:
            return _array_estimators[raw]
        estimator = None
        if not _uses_names(raw):
            estimator = copy.deepcopy(raw)
            _forget_names(estimator)
        _array_estimators[raw] = estimator
        return estimator


def _estimators_within(obj: Any) -> list[Any]:
    """The scikit-learn estimators held by ``obj``'s attributes (steps, sub-estimators …)."""
    found = []
    for value in vars(obj).values():
        for item in value if isinstance(value, list | tuple) else (value,):
            candidate = item[1] if isinstance(item, tuple) and len(item) >= 2 else item
            if hasattr(candidate, "get_params") and hasattr(candidate, "__dict__"):
                found.append(candidate)
    return found


def _uses_names(obj: Any) -> bool:
    if type(obj).__name__ in _NAME_DEPENDENT:
        return True
    return any(_uses_names(inner) for inner in _estimators_within(obj))


def _forget_names(obj: Any) -> None:
    if "feature_names_in_" in vars(obj):
        del obj.feature_names_in_
    for inner in _estimators_within(obj):
        _forget_names(inner)


def _fitted_with_names(raw: Any) -> bool:
    return getattr(raw, "feature_names_in_", None) is not None


def _features(raw: Any, frame: pd.DataFrame) -> Any:
    """The frame when the estimator was fitted on named columns, else its values: scikit-learn
    warns when the two disagree."""
    return frame if _fitted_with_names(raw) else frame.to_numpy()


FLAVOR = SklearnFlavor()
