"""The platform's REST API (`modelcycle server`): FastAPI routers over the domain services."""
