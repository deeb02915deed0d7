"""The ``since``/``until`` bounds of prediction queries, as milliseconds since the epoch (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from modelcycle.errors import InvalidInput

TimeBound = datetime | date | str | int | None
"""A datetime (naive means UTC), a date (its midnight, UTC), an ISO 8601 string, or
milliseconds since the epoch."""


def to_ms(value: TimeBound, name: str) -> int | None:
    """``value`` in milliseconds since the epoch, or None for no bound.

    Raises:
        InvalidInput: a string that is not ISO 8601, or a value of another type.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a time, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(
                f"{name}={value!r:.60} is not an ISO 8601 time; write e.g. 2026-05-01 or "
                "2026-05-01T12:00:00Z",
                details={name: value[:60]},
            ) from None
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, date):
        return int(datetime.combine(value, time(), UTC).timestamp() * 1000)
    raise InvalidInput(
        f"{name} must be a datetime, a date, an ISO 8601 string or epoch milliseconds, "
        f"not {type(value).__name__}"
    )


def check_range(since_ms: int | None, until_ms: int | None) -> None:
    """Raises InvalidInput when the range is empty by construction."""
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise InvalidInput(
            "since must be before until", details={"since": since_ms, "until": until_ms}
        )
