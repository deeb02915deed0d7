"""Autolog: record training runs without writing logging code.

``mc.autolog()`` patches the training methods of every supported library that is installed
(today scikit-learn, in :mod:`modelcycle.tracking.autolog.sklearn`); from then on each fit
records its params, training metrics, tags and model in the active run, or in a run of its own.
Autolog's own failures never fail the fit: they are reported as :class:`AutologWarning`.

Importing this package stays cheap: a library and its integration load when ``autolog()``
is called, never at ``import modelcycle``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings

from modelcycle.tracking.autolog._session import AutologWarning

__all__ = ["AutologWarning", "autolog"]

# Library import name → the integration that patches it ("module:function"), in one place.
_INTEGRATIONS: dict[str, str] = {
    "sklearn": "modelcycle.tracking.autolog.sklearn:autolog",
}


def autolog(
    *,
    disable: bool = False,
    log_models: bool = True,
    log_training_metrics: bool = True,
    exclusive: bool = False,
    silent: bool = False,
) -> None:
    """Log every fit of the supported libraries installed; ``disable=True`` undoes it.

    Calling it again changes the options without patching twice.

    Args:
        disable: restore the original methods; fits are no longer logged.
        log_models: save each fitted model as the run's ``model/`` artifact (skops for sklearn).
        log_training_metrics: score each classifier or regressor on its training data.
        exclusive: log only into runs autolog starts, never into a run the user started.
        silent: report autolog's own failures at DEBUG level instead of as warnings.

    Raises:
        InvalidInput: ``log_models`` is true and the library that saves models is missing.

    >>> import modelcycle as mc
    >>> mc.autolog()  # doctest: +SKIP
    >>> LogisticRegression().fit(X, y)  # doctest: +SKIP
    """
    enabled = []
    for library, target in _INTEGRATIONS.items():
        module_name, _, function = target.partition(":")
        if disable and module_name not in sys.modules:
            continue  # never enabled in this process: nothing to restore
        if importlib.util.find_spec(library) is None:
            continue
        integration = getattr(importlib.import_module(module_name), function)
        integration(
            disable=disable,
            log_models=log_models,
            log_training_metrics=log_training_metrics,
            exclusive=exclusive,
            silent=silent,
        )
        enabled.append(library)
    if not enabled and not disable and not silent:
        warnings.warn(
            AutologWarning(
                "mc.autolog() found no library it can log: install one of "
                f"{', '.join(sorted(_INTEGRATIONS))} (pip install 'modelcycle[sklearn]')"
            ),
            stacklevel=2,
        )
