"""The process's memory of tokens whose secret has already been checked against argon2.

argon2id costs ~50 ms of CPU and 64 MiB of memory per check by design; paying that on every API
request would cap a server at ~20 requests per second per core. So a token's first successful
check is remembered as *"the token with this blake3 verified against this stored hash"*.

The remembered fact is about a (token, hash) pair, not about the token's standing: callers still
read the token's row on every request, and a row whose hash differs from the remembered one is
checked again. Revocation, a disabled user and a role change are therefore seen at once, and
one memory is safely shared by every service and store in the process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_CAPACITY = 10_000


class VerifiedTokens:
    """A bounded, thread-safe LRU map of token fingerprint → the hash it verified against."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def verified(self, fingerprint: str, secret_hash: str) -> bool:
        """Whether the token with ``fingerprint`` was verified against exactly ``secret_hash``."""
        with self._lock:
            remembered = self._entries.get(fingerprint)
            if remembered is None:
                return False
            self._entries.move_to_end(fingerprint)
            return remembered == secret_hash

    def remember(self, fingerprint: str, secret_hash: str) -> None:
        with self._lock:
            self._entries[fingerprint] = secret_hash
            self._entries.move_to_end(fingerprint)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


VERIFIED = VerifiedTokens()
"""The one memory of the process."""
