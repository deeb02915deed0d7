"""The HTTP client: the domain services' methods over the server's REST API."""
