"""Wrong secrets per token id, so that guessing cannot make the server burn CPU.

A token's id is public (listings, the audit log), and every wrong secret presented with it costs
an argon2id check (~50 ms of CPU and 64 MiB by design). Without a limit, anyone who knows an id
could keep a core busy with a few requests per second. After ``MAX_FAILURES`` wrong secrets for
one id within ``WINDOW_MS``, further attempts on that id are refused without the argon2 check
until the window has passed since the first of them.

The owner is not locked out by someone else's guessing as long as their token was verified in
this process before (the check then compares against the remembered verification and never
reaches this counter); a fresh process holds off their first check until the window passes.
Counts are per process, like that memory: a bound on work, not a shared ban list.
"""

from __future__ import annotations

import threading

MAX_FAILURES = 10
WINDOW_MS = 60_000
CAPACITY = 10_000
"""Token ids tracked at once; the oldest windows are dropped first beyond it."""


class FailedSecrets:
    """A bounded, thread-safe count of wrong secrets per token id in a sliding start window."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_ms: int = WINDOW_MS,
        capacity: int = CAPACITY,
    ) -> None:
        self._max = max_failures
        self._window = window_ms
        self._capacity = capacity
        self._counts: dict[str, tuple[int, int]] = {}
        """token id → (first failure's time in ms, failures since)."""
        self._lock = threading.Lock()

    def reserve(self, token_id: str, now_ms: int) -> bool:
        """Whether an attempt on ``token_id`` may run its argon2 check now. An allowed attempt
        is counted as failed at once, before the check, so concurrent wrong guesses cannot all
        pass the limit together; :meth:`succeeded` takes the count back."""
        with self._lock:
            started, failures = self._counts.get(token_id, (now_ms, 0))
            if now_ms - started >= self._window:
                started, failures = now_ms, 0
            if failures >= self._max:
                return False
            self._counts.pop(token_id, None)  # re-inserted last: dicts keep insertion order
            self._counts[token_id] = (started, failures + 1)
            while len(self._counts) > self._capacity:
                del self._counts[next(iter(self._counts))]
            return True

    def succeeded(self, token_id: str) -> None:
        """The reserved attempt's secret was right: it was no failure."""
        with self._lock:
            entry = self._counts.get(token_id)
            if entry is not None:
                started, failures = entry
                self._counts[token_id] = (started, max(failures - 1, 0))
