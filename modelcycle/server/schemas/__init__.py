"""Request bodies of the REST API, one module per domain (responses are the domain records)."""
