"""The model registry: model format and flavors, versions, aliases, stages, approvals."""
