"""The drift tests, as data: name → ``"module:Class"``, imported on first use.

Adding a test is one line here and one module following :class:`DriftTest`; ``tests=`` and the
CLI accept every name listed.
"""

from __future__ import annotations

import importlib

from modelcycle.errors import InvalidInput
from modelcycle.quality._drift._base import DriftTest

DRIFT_TESTS: dict[str, str] = {
    "ks": "modelcycle.quality._drift.ks:KSTest",
    "wasserstein": "modelcycle.quality._drift.wasserstein:WassersteinTest",
    "chi2": "modelcycle.quality._drift.chi2:Chi2Test",
    "jensen_shannon": "modelcycle.quality._drift.jensen_shannon:JensenShannonTest",
    "psi": "modelcycle.quality._drift.psi:PSITest",
}


def drift_test_class(name: str) -> type[DriftTest]:
    """The class registered under ``name``.

    Raises:
        InvalidInput: no test has that name; the message lists the names there are.
    """
    target = DRIFT_TESTS.get(name) if isinstance(name, str) else None
    if target is None:
        raise InvalidInput(
            f"unknown drift test {name!r}; use one of {', '.join(sorted(DRIFT_TESTS))}",
            details={"test": str(name)},
        )
    module_name, _, attribute = target.partition(":")
    cls: type[DriftTest] = getattr(importlib.import_module(module_name), attribute)
    return cls
