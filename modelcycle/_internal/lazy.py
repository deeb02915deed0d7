"""Module attributes that import their code on first use.

Packages keep ``import modelcycle`` and ``modelcycle --help`` fast by naming their public
objects in a ``"module:attribute"`` map and resolving each only when it is first read; this is
the one ``__getattr__`` that does it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, targets: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` resolving ``targets`` (name → ``"module:attr"``,
    or ``"module"`` for a whole module) and caching each value in the package's namespace.

    >>> __getattr__ = lazy_getattr(__name__, {"dumps": "json:dumps"})  # doctest: +SKIP
    """

    def __getattr__(name: str) -> Any:
        target = targets.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        value = getattr(module, attribute) if attribute else module
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
