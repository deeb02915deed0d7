"""Model flavors: one small plugin per library (save, load, predict).

A flavor is a module in this package that defines ``FLAVOR``, an object following the
:class:`Flavor` protocol; the module's name is the flavor's name. Flavors are found by listing
the package (``pkgutil``), so adding one means adding one module and touches nothing else.
A module is imported only when its flavor is asked for, and flavors import their library inside
their methods, so ``import modelcycle.registry.flavors`` stays cheap.

``flavor_for(model)`` asks each flavor ``can_save(model)``, highest ``priority`` first, so the
specific flavors (``sklearn``, ``onnx``) win over the catch-all ``pyfunc``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from modelcycle.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Flavor", "available_flavors", "flavor_for", "get_flavor", "installed_version"]


@runtime_checkable
class Flavor(Protocol):
    """What a flavor module's ``FLAVOR`` provides.

    Attributes:
        name: the flavor's name, equal to its module's name; stored in ``model.json``.
        requires_trust: loading runs code from the model's files (pickle), so ``load_model``
            refuses it unless called with ``trusted=True``.
        priority: the order ``flavor_for`` asks flavors in, highest first.
    """

    name: str
    requires_trust: bool
    priority: int

    def can_save(self, model: Any) -> bool:
        """Whether this flavor knows how to save ``model``. Must not import heavy libraries."""
        ...

    def save(self, model: Any, directory: Path) -> dict[str, Any]:
        """Write the model's payload files into ``directory`` (which exists and is empty).

        Returns:
            JSON-ready options stored in the manifest and handed back to ``load``.
        """
        ...

    def load(self, directory: Path, options: dict[str, Any], *, trusted: bool = False) -> Any:
        """Deserialise the payload written by ``save``; called only on a verified directory.

        Raises:
            PermissionDenied: the payload needs types or code the flavor does not trust and
                ``trusted`` is false.
        """
        ...

    def predict(self, raw: Any, frame: pd.DataFrame) -> np.ndarray:
        """Predictions for ``frame`` (already checked against the signature)."""
        ...

    def predict_array(self, raw: Any, array: np.ndarray, columns: list[str]) -> np.ndarray:
        """Predictions for a 2-D numeric array whose columns are ``columns``, in order."""
        ...

    def predict_proba(self, raw: Any, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities (rows × classes), or None when the model has none."""
        ...

    def has_proba(self, raw: Any) -> bool:
        """Whether ``predict_proba`` returns probabilities for this model."""
        ...

    def classes(self, raw: Any) -> list[Any] | None:
        """The class labels in the order of ``predict_proba``'s columns, when known."""
        ...

    def requirements(self, model: Any) -> list[str]:
        """Pinned ``package==version`` lines the flavor needs to load and run ``model``."""
        ...


def available_flavors() -> list[str]:
    """The names of every flavor module in this package, sorted."""
    return sorted(_module_names())


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``.

    Raises:
        NotFound: no flavor of that name; the message lists the known ones.
    """
    names = _module_names()
    if name not in names:
        raise NotFound(
            f"no model flavor {name!r}; known flavors: {', '.join(sorted(names))}",
            details={"flavor": name, "known": sorted(names)},
        )
    return _load(name)


def flavor_for(model: Any) -> Flavor:
    """The flavor that saves ``model``: the highest-priority one whose ``can_save`` accepts it.

    Raises:
        InvalidInput: no flavor can save this object.
    """
    flavors = sorted((_load(name) for name in _module_names()), key=lambda f: -f.priority)
    for flavor in flavors:
        if flavor.can_save(model):
            return flavor
    raise InvalidInput(
        f"no model flavor can save a {type(model).__module__}.{type(model).__qualname__}: "
        f"it needs a scikit-learn estimator, an onnx.ModelProto, or an object with "
        f"predict(DataFrame) (known flavors: {', '.join(available_flavors())})",
        details={"type": f"{type(model).__module__}.{type(model).__qualname__}"},
    )


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None; what flavors pin requirements with."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pinned(*distributions: str) -> list[str]:
    """``name==version`` for each installed distribution among ``distributions``."""
    return [
        f"{name}=={version}"
        for name in distributions
        if (version := installed_version(name)) is not None
    ]


@cache
def _module_names() -> frozenset[str]:
    return frozenset(
        info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )


@cache
def _load(name: str) -> Flavor:
    module = importlib.import_module(f"{__name__}.{name}")
    flavor = getattr(module, "FLAVOR", None)
    if not isinstance(flavor, Flavor) or flavor.name != name:
        raise InvalidInput(
            f"flavor module {module.__name__} does not define FLAVOR named {name!r}",
            details={"flavor": name},
        )
    return flavor
