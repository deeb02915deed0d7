"""Data quality: pure computation on data frames, no store.

Schema inference and validation, data-quality profiles, and drift detection between a
reference and a current frame, each with ``to_dict()`` and a self-contained HTML page.
"""
