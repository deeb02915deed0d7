"""What every autolog integration shares: its settings, the fit guard, the run, failure reports.

An integration patches a library's training methods; each patched call asks
:func:`outermost_fit` whether it is the call to log, opens :func:`autolog_run` for the run to
log into, and runs every logging step through :func:`attempt`, so a failure to record never
becomes a failure to train.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from modelcycle.tracking import _fluent
from modelcycle.tracking.entities import RunStatus

if TYPE_CHECKING:
    from modelcycle.tracking.run import ActiveRun

logger = logging.getLogger("modelcycle.autolog")

T = TypeVar("T")

# Frames of these modules are skipped when a warning picks the line it points at.
_INTERNAL_MODULES = (__name__.rpartition(".")[0], "contextlib")

_inside_fit: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "modelcycle_autolog_inside_fit", default=False
)
# Contexts (threads, tasks) currently inside a patched call, across the whole process.
_fits_in_flight = 0
_fits_lock = threading.Lock()


class AutologWarning(UserWarning):
    """Autolog could not record part of a fit; the fit itself went on and succeeded.

    Filter it like any warning (``warnings.simplefilter("ignore", AutologWarning)``), or pass
    ``silent=True`` to ``mc.autolog`` to hear of such failures only at DEBUG level.
    """


@dataclass(frozen=True)
class AutologConfig:
    """The options of ``mc.autolog`` in force; patched methods read them at each call."""

    log_models: bool = True
    log_training_metrics: bool = True
    exclusive: bool = False
    silent: bool = False


def report(config: AutologConfig, what: str, error: BaseException) -> None:
    """Tell the user that autolog could not ``what``, without interrupting their code."""
    message = (
        f"modelcycle autolog could not {what}: {type(error).__name__}: {error}. "
        "The fit itself is not affected."
    )
    if config.silent:
        logger.debug(message, exc_info=error)
    else:
        warnings.warn(AutologWarning(message), stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The stacklevel of the first caller outside autolog, so a warning names the user's line."""
    frame = sys._getframe(1)  # report()
    level = 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        _INTERNAL_MODULES
    ):
        frame = frame.f_back
        level += 1
    return level


def attempt(config: AutologConfig, what: str, action: Callable[[], T]) -> T | None:
    """``action()``, or None after reporting its failure: logging must never break a fit."""
    try:
        return action()
    except Exception as error:
        report(config, what, error)
        return None


@contextmanager
def outermost_fit() -> Iterator[bool]:
    """Enter a patched call; yield whether it is the one to log.

    A call made inside another patched call in the same context (a Pipeline fitting its steps,
    a search fitting candidates) is not. Nor is a call from a thread that has neither a patched
    call nor an active run of its own while another thread is inside one: joblib worker
    threads (a forest or an IsolationForest with ``n_jobs``) start with an empty context, and
    logging each of their fits would create one run per tree. A thread that wants its
    concurrent fit logged starts a run first.
    """
    global _fits_in_flight
    if _inside_fit.get():
        yield False
        return
    token = _inside_fit.set(True)
    with _fits_lock:
        others = _fits_in_flight
        _fits_in_flight += 1
    try:
        outermost = others == 0 or _fluent.active_run() is not None
        if not outermost:
            logger.debug(
                "not logging a fit in thread %s: another thread is inside an "
                "autologged fit and this one has no run",
                threading.current_thread().name,
            )
        yield outermost
    finally:
        with _fits_lock:
            _fits_in_flight -= 1
        _inside_fit.reset(token)


@contextmanager
def autolog_run(
    config: AutologConfig, *, params: Mapping[str, str], tags: Mapping[str, str]
) -> Iterator[ActiveRun | None]:
    """The run a fit logs into, with ``params`` and ``tags`` already recorded; None: no logging.

    The active run when there is one (left open: it belongs to the caller), unless
    ``exclusive``; otherwise a new run that ends with the fit: FINISHED, or FAILED (KILLED on
    Ctrl-C) when the fit raises, whose error then propagates unchanged.
    """
    active = _fluent.active_run()
    if active is not None:
        if config.exclusive:
            yield None
            return
        attempt(config, f"log params to run {active.id}", lambda: active.log_params(params))
        attempt(config, f"set tags on run {active.id}", lambda: active.set_tags(tags))
        yield active
        return
    run = attempt(config, "start a run", lambda: _fluent.start_run(params=params, tags=tags))
    if run is None:
        yield None
        return
    try:
        yield run
    except BaseException as error:
        status = RunStatus.KILLED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
        _end(config, run, status)
        raise
    _end(config, run, RunStatus.FINISHED)


def _end(config: AutologConfig, run: ActiveRun, status: RunStatus) -> None:
    def end() -> None:
        run.end(status)

    attempt(config, f"end run {run.id} as {status}", end)
