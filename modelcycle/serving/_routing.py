"""The live router of a deployment: which loaded version answers each request.

A :class:`RoutingSnapshot` is one routing revision made concrete: the handles of the versions
its targets resolved to (each carrying the traffic counter of that revision and role, and the
revision's shadows) and the bucket bounds of its shares. :class:`DeploymentRouter` serves one
snapshot and replaces it with one reference assignment, so requests in flight finish on the
handle they were routed to and no request sees half a change.

Buckets are basis points (0–9999). Each request draws one at random, or, with a sticky header,
takes a stable hash of the header's value salted with the deployment's name. The canary's and
splits' shares take the lowest buckets and the primary the rest: a key inside the canary's 5 %
stays inside as it grows to 25 %, so a user who met the new version keeps meeting it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from modelcycle.serving._deploy_latency import TrafficCounter
from modelcycle.serving._deploy_spec import Routing
from modelcycle.serving.handle import ModelHandle

__all__ = ["BUCKETS", "DeploymentRouter", "RoutingSnapshot", "build_snapshot", "sticky_bucket"]

BUCKETS = 10_000

HandleFor = Callable[[str, int], ModelHandle]
"""``(model name, version)`` → the loaded version's base handle."""


@dataclass(frozen=True, eq=False)
class RoutingSnapshot:
    """One routing revision, loaded and ready to route."""

    revision: int
    routing: Routing
    pinned: dict[str, tuple[str, int]]
    """Target URI → (model, version) it resolved to; an alias move changes it."""
    primary: ModelHandle
    choices: tuple[ModelHandle, ...]
    """Non-primary handles, in bucket order."""
    bounds: tuple[int, ...]
    """Exclusive upper bucket of each choice, cumulative."""
    handles: tuple[ModelHandle, ...]
    counters: tuple[TrafficCounter, ...]
    sticky_header: str | None
    salt: bytes


def build_snapshot(
    name: str,
    revision: int,
    routing: Routing,
    pinned: dict[str, tuple[str, int]],
    handle_for: HandleFor,
) -> RoutingSnapshot:
    """Make ``routing`` concrete: one handle per (target, role) with its own counter."""
    counters: list[TrafficCounter] = []

    def bind(uri: str, role: str, shadows: tuple[ModelHandle, ...]) -> ModelHandle:
        model, version = pinned[uri]
        counter = TrafficCounter(revision=revision, model=model, version=version, role=role)
        counters.append(counter)
        return dataclasses.replace(handle_for(model, version), traffic=counter, shadows=shadows)

    shadows = tuple(bind(uri, "shadow", ()) for uri in routing.shadows)
    primary = bind(routing.primary, "primary", shadows)
    choices: list[ModelHandle] = []
    bounds: list[int] = []
    edge = 0
    for role, uri, percent in routing.shares():
        edge += round(percent * BUCKETS / 100)
        choices.append(bind(uri, role, shadows))
        bounds.append(min(edge, BUCKETS))
    return RoutingSnapshot(
        revision=revision,
        routing=routing,
        pinned=dict(pinned),
        primary=primary,
        choices=tuple(choices),
        bounds=tuple(bounds),
        handles=(primary, *choices),
        counters=tuple(counters),
        sticky_header=routing.sticky_header,
        salt=name.encode() + b"\0",
    )


def sticky_bucket(salt: bytes, key: str) -> int:
    """The bucket of a sticky key: the same in every process and across restarts (Python's
    ``hash`` is salted per process, so it cannot serve)."""
    digest = hashlib.blake2b(salt + key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


class DeploymentRouter:
    """Routes each request by its snapshot's shares; :meth:`swap` installs a new snapshot."""

    def __init__(self, name: str, snapshot: RoutingSnapshot) -> None:
        self._name = name
        self._snapshot = snapshot
        self._random = random.Random()

    @property
    def name(self) -> str:
        """The deployment's name: what clients address on ``/v2/models/{name}``."""
        return self._name

    @property
    def snapshot(self) -> RoutingSnapshot:
        return self._snapshot

    def route(self, request: Any) -> ModelHandle:
        snapshot = self._snapshot
        if not snapshot.bounds:
            return snapshot.primary
        key = request.headers.get(snapshot.sticky_header) if snapshot.sticky_header else None
        bucket = sticky_bucket(snapshot.salt, key) if key else int(self._random.random() * BUCKETS)
        for bound, handle in zip(snapshot.bounds, snapshot.choices, strict=True):
            if bucket < bound:
                return handle
        return snapshot.primary

    def handles(self) -> Sequence[ModelHandle]:
        return self._snapshot.handles

    def swap(self, snapshot: RoutingSnapshot) -> RoutingSnapshot:
        """Route by ``snapshot`` from the next request on; return the one it replaces."""
        previous, self._snapshot = self._snapshot, snapshot
        return previous
