"""The HTTP client: the domain services' methods over the server's REST API.

``HttpTrackingService`` implements the tracking contract (``BaseTrackingService``),
``HttpRegistryService`` the registry service's methods, ``HttpDataService`` the data service's
reads and ``HttpDeploymentService`` the deployment service's commands and reads, against a
``modelcycle server``; the SDK uses them when ``MODELCYCLE_URI`` is ``http(s)://…``. Errors the
server answers with are raised again as the same ``modelcycle.errors`` class. ``_http.py`` holds
the connection (one ``httpx.Client``, keep-alive, retries); ``_points.py`` the metric-batch
encoding; ``_artifacts.py`` streamed, verified transfers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr

if TYPE_CHECKING:
    from modelcycle.client.data import HttpDataService
    from modelcycle.client.deployments import HttpDeploymentService
    from modelcycle.client.registry import HttpRegistryService
    from modelcycle.client.tracking import HttpTrackingService

__all__ = [
    "HttpDataService",
    "HttpDeploymentService",
    "HttpRegistryService",
    "HttpTrackingService",
]

__getattr__ = lazy_getattr(
    __name__,
    {
        "HttpDataService": "modelcycle.client.data:HttpDataService",
        "HttpDeploymentService": "modelcycle.client.deployments:HttpDeploymentService",
        "HttpRegistryService": "modelcycle.client.registry:HttpRegistryService",
        "HttpTrackingService": "modelcycle.client.tracking:HttpTrackingService",
    },
)
