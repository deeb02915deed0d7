"""Experiment changes that race: a rename and a delete of one experiment, a run created while
its experiment is deleted. Each holds the experiment's row until it commits, so the other sees
it (on PostgreSQL through row locks; SQLite serialises writes anyway)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from modelcycle.errors import InvalidInput
from modelcycle.store import Store
from modelcycle.store.tables import experiments
from modelcycle.tracking.service import TrackingService, _experiment_row


def _while_held(store: Store, name: str, change: dict[str, Any], other: Callable[[], Any]) -> Any:
    """Run ``other`` in a thread while a transaction holding experiment ``name``'s row (as the
    service's own writes do) applies ``change``, commit, and return what ``other`` returned or
    raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(other())
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    with store.write() as connection:
        row = _experiment_row(connection, name, for_update=True)
        connection.execute(update(experiments).where(experiments.c.id == row.id).values(**change))
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive() and outcome == []  # waiting for this transaction
    thread.join(timeout=30)
    [result] = outcome
    return result


def test_a_delete_waiting_on_a_rename_to_default_is_refused(store: Store) -> None:
    tracking = TrackingService(store)
    scratch = tracking.create_experiment("scratch")
    refused = _while_held(
        store, "scratch", {"name": "Default"}, lambda: tracking.delete_experiment(scratch.id)
    )
    assert isinstance(refused, InvalidInput) and "default experiment" in str(refused)
    assert tracking.get_experiment(scratch.id).lifecycle_stage == "active"


def test_a_run_waiting_on_a_delete_of_its_experiment_is_refused(store: Store) -> None:
    tracking = TrackingService(store)
    scratch = tracking.create_experiment("scratch")
    refused = _while_held(
        store, "scratch", {"lifecycle_stage": "deleted"}, lambda: tracking.create_run(scratch.id)
    )
    assert isinstance(refused, InvalidInput) and "is deleted" in str(refused)


def test_an_id_or_name_no_row_can_hold_is_not_found_on_every_backend(store: Store) -> None:
    """PostgreSQL refuses a 2**40 id or a NUL in a name with a data error; SQLite just finds
    nothing. Both say NotFound."""
    import pytest

    from modelcycle.errors import NotFound

    tracking = TrackingService(store)
    for missing in (2**40, -(2**40), "a\x00b"):
        with pytest.raises(NotFound):
            tracking.get_experiment(missing)
        with pytest.raises(NotFound):
            tracking.delete_experiment(missing)
