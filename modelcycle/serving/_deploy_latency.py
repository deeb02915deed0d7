"""Per-version traffic counters of one serving process, and the latency histogram they share.

The request path adds one request to a :class:`TrafficCounter` (a lock, two integer additions
and a bisect); the deployment's sync thread drains every counter every few seconds into one
``deployment_traffic`` row each. Latencies fall in geometric buckets 20 % apart from 0.1 ms to
seven minutes, so a p99 read back from the sum of every replica's buckets is within a few percent
of the true one (linear interpolation inside the bucket), fine enough to judge a 50 ms gate.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = ["BOUNDS_MS", "TrafficCounter", "TrafficDrain", "merge_buckets", "quantile_ms"]

_FACTOR: Final = 1.2
BOUNDS_MS: Final = tuple(0.1 * _FACTOR**k for k in range(85))
"""Upper bounds of the latency buckets in milliseconds; one more bucket holds the rest."""


@dataclass(frozen=True)
class TrafficDrain:
    """What a counter gathered since it was last drained."""

    requests: int
    errors: int
    client_errors: int
    latency_sum_ms: float
    buckets: dict[int, int]


@dataclass(eq=False)
class TrafficCounter:
    """Requests answered by one model version under one routing revision in this process."""

    revision: int
    model: str
    version: int
    role: str
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _requests: int = 0
    _errors: int = 0
    _client_errors: int = 0
    _latency_sum_ms: float = 0.0
    _buckets: dict[int, int] = field(default_factory=dict)

    def record(self, status: int, seconds: float) -> None:
        """One answered request; a 5xx is a server error, a 4xx the client's."""
        ms = seconds * 1000.0
        index = bisect.bisect_left(BOUNDS_MS, ms)
        with self._lock:
            self._requests += 1
            if status >= 500:
                self._errors += 1
            elif status >= 400:
                self._client_errors += 1
            self._latency_sum_ms += ms
            self._buckets[index] = self._buckets.get(index, 0) + 1

    def drain(self) -> TrafficDrain | None:
        """Take what was counted and start again from zero; None when nothing was."""
        with self._lock:
            if not self._requests:
                return None
            drained = TrafficDrain(
                self._requests,
                self._errors,
                self._client_errors,
                self._latency_sum_ms,
                self._buckets,
            )
            self._requests = self._errors = self._client_errors = 0
            self._latency_sum_ms = 0.0
            self._buckets = {}
        return drained


def merge_buckets(many: Iterable[Mapping[str | int, int]]) -> dict[int, int]:
    """Add histograms read back from JSON (whose keys came back as strings)."""
    total: dict[int, int] = {}
    for buckets in many:
        for key, count in buckets.items():
            index = int(key)
            total[index] = total.get(index, 0) + int(count)
    return total


def quantile_ms(buckets: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile of a histogram, interpolated inside its bucket; None if empty."""
    count = sum(buckets.values())
    if count == 0:
        return None
    rank = q * count
    seen = 0
    for index in sorted(buckets):
        in_bucket = buckets[index]
        if seen + in_bucket >= rank:
            lower = BOUNDS_MS[index - 1] if index > 0 else 0.0
            upper = BOUNDS_MS[index] if index < len(BOUNDS_MS) else lower * _FACTOR
            return lower + (upper - lower) * ((rank - seen) / in_bucket)
        seen += in_bucket
    return BOUNDS_MS[-1]
