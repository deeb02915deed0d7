"""Dataset versions and lineage (being built)."""
