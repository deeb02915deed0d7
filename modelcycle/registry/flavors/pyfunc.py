"""The ``pyfunc`` flavor: any Python object with ``predict(DataFrame)``, stored with cloudpickle.

Unpickling runs code chosen by whoever wrote the file, so this flavor ``requires_trust``:
``load_model`` refuses it unless the caller passes ``trusted=True``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle.registry.flavors import installed_version, pinned

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MODEL_FILE = "model.pkl"


class PyfuncFlavor:
    """The catch-all: asked last, saves anything with a callable ``predict``."""

    name = "pyfunc"
    requires_trust = True
    priority = 0

    def can_save(self, model: Any) -> bool:
        return callable(getattr(model, "predict", None))

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        import cloudpickle

        with open(directory / MODEL_FILE, "wb") as file:
            cloudpickle.dump(model, file)
        return {
            "python_class": f"{type(model).__module__}.{type(model).__qualname__}",
        }

    def load(self, directory: Path, options: dict[str, Any], *, trusted: bool = False) -> Any:
        import cloudpickle

        # load_model has refused an untrusted caller before this runs.
        with open(directory / MODEL_FILE, "rb") as file:
            return cloudpickle.load(file)

    def predict(self, raw: Any, frame: pd.DataFrame) -> np.ndarray:
        return _array(raw.predict(frame))

    def predict_array(self, raw: Any, array: np.ndarray, columns: list[str]) -> np.ndarray:
        import pandas as pd

        # The contract is predict(DataFrame): a pyfunc gets one, even on the fast path.
        return _array(raw.predict(pd.DataFrame(array, columns=columns, copy=False)))

    def predict_proba(self, raw: Any, frame: pd.DataFrame) -> np.ndarray | None:
        if not self.has_proba(raw):
            return None
        return _array(raw.predict_proba(frame))

    def has_proba(self, raw: Any) -> bool:
        return callable(getattr(raw, "predict_proba", None))

    def classes(self, raw: Any) -> list[Any] | None:
        import numpy as np

        classes = getattr(raw, "classes_", None)
        return None if classes is None else np.asarray(classes).tolist()

    def requirements(self, model: Any) -> list[str]:
        lines = pinned("cloudpickle", "numpy", "pandas")
        top = type(model).__module__.split(".", 1)[0]
        if top not in ("__main__", "builtins") and top not in sys.stdlib_module_names:
            lines.extend(_distribution_of(top))
        return sorted(set(lines))


def _distribution_of(module: str) -> list[str]:
    """The installed distribution that provides ``module``, pinned, if there is one."""
    from importlib import metadata

    lines = []
    for name in metadata.packages_distributions().get(module, []):
        version = installed_version(name)
        if version is not None and name.lower() != "modelcycle":
            lines.append(f"{name}=={version}")
    return lines


def _array(result: Any) -> np.ndarray:
    import numpy as np

    return np.asarray(result)


FLAVOR = PyfuncFlavor()
