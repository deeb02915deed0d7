"""One domain service per platform, for the life of the process: what every ``_fluent`` SDK
module needs, kept in one place.

The SDK's module functions (``mc.start_run``, ``mc.data.add``, ``mc.registry.load`` …) find the
platform from the settings in force on every call. Building a service is not free (an HTTP
client's connection pool, a store's engine), so each domain keeps one per platform: per
``(MODELCYCLE_URI, MODELCYCLE_ARTIFACTS)`` for an embedded store, as ``store.current_store`` does,
and per server and token for a ``http(s)://`` URI. The factories are the domain's own, passed in,
so this module imports neither the store nor the client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from modelcycle.config import current_settings, is_server_uri, resolve_uri

__all__ = ["ServiceCache"]

S = TypeVar("S")


class ServiceCache(Generic[S]):
    """The service of the platform the current settings point at, built once per platform.

    Args:
        embedded: builds the service over the current store (``store.current_store()``).
        remote: builds the HTTP client of a server from its URL and API token; without one, a
            server URI goes to ``embedded`` too, whose store refuses it with a clear message.
    """

    def __init__(
        self,
        embedded: Callable[[], S],
        remote: Callable[[str, str | None], S] | None = None,
    ) -> None:
        self._embedded = embedded
        self._remote = remote
        self._services: dict[tuple[str | None, ...], S] = {}
        self._clients: list[S] = []
        self._lock = threading.Lock()

    def current(self) -> S:
        """The service for the settings in force (``MODELCYCLE_URI``, or a ``config_context``)."""
        settings = current_settings()
        if self._remote is not None and is_server_uri(settings.uri):
            url = resolve_uri(settings.uri).url
            token = settings.token.get_secret_value() if settings.token is not None else None
            return self._get(("server", url, token), lambda: self._remote_client(url, token))
        return self._get(("store", settings.uri, settings.artifacts), self._embedded)

    def clear(self) -> None:
        """Forget every service and close the HTTP clients (tests, notebooks, ``close_all``)."""
        with self._lock:
            for client in self._clients:
                getattr(client, "close", lambda: None)()
            self._clients.clear()
            self._services.clear()

    def _remote_client(self, url: str, token: str | None) -> S:
        assert self._remote is not None
        client = self._remote(url, token)
        self._clients.append(client)
        return client

    def _get(self, key: tuple[str | None, ...], build: Callable[[], S]) -> S:
        with self._lock:
            service = self._services.get(key)
            if service is None:
                service = self._services[key] = build()
            return service
