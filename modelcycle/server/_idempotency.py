"""Exactly-once writes for retried requests: answers remembered by ``Idempotency-Key``.

The client sends a fresh key with every metric batch (and every run end); when the answer to a
batch is lost after the server committed it (a dropped connection, a timeout), the client sends
the same batch with the same key again, and this cache replays the first answer instead of
storing the points twice. A retry that arrives while the first attempt is still running waits
for it, so the two cannot both write.

Trade-off: the memory is per server process, bounded (``max_keys``, oldest forgotten first) and
lost on restart. That covers the retries a client actually makes (seconds apart, to the same
server), costs nothing on the hot path and needs no table. It does not cover a retry that lands
on another worker process (``--workers N`` behind one port) or a restart between the attempts;
a store-backed key table, written in the batch's own transaction, would, at the price of one
more insert per batch and a migration. The class below is the one place to swap.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from modelcycle.errors import InvalidInput

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[A-Za-z0-9_\-]{8,128}")


@dataclass
class _Entry:
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


class IdempotencyCache:
    """Per-process memory of the outcome of keyed requests."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._entries: OrderedDict[tuple[str, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, scope: tuple[str, ...], key: str | None, call: Callable[[], object]) -> object:
        """``call()`` once per ``(scope, key)``; later calls with the same key get its result.

        A call that failed is forgotten, so a retry of a refused or failed request runs again
        (nothing was stored by it: every write is one transaction).

        Raises:
            InvalidInput: the key is malformed.
        """
        if key is None:
            return call()
        if _KEY.fullmatch(key) is None:
            raise InvalidInput(
                f"{HEADER} must be 8 to 128 letters, digits, '-' or '_', got {key[:40]!r}",
                details={"header": HEADER},
            )
        identity = (*scope, key)
        with self._lock:
            entry = self._entries.get(identity)
            owner = entry is None
            if owner:
                entry = self._entries[identity] = _Entry()
                while len(self._entries) > self.max_keys:
                    self._entries.popitem(last=False)
        assert entry is not None
        if not owner:
            entry.done.wait()
            if entry.error is None:
                return entry.result
            return self.run(scope, key, call)  # the first attempt failed: this one runs
        try:
            entry.result = call()
        except BaseException as exc:
            entry.error = exc
            with self._lock:
                if self._entries.get(identity) is entry:
                    del self._entries[identity]
            raise
        finally:
            entry.done.set()
        return entry.result
