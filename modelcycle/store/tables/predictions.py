"""Tables of the prediction log: an index of its Parquet files, and labels that arrive later.

The rows of the log live in Parquet files under ``<artifact root>/predictions/`` (see
:mod:`modelcycle.monitoring.prediction_log`); ``prediction_files`` holds one row per file, so
reading a deployment's last week asks the database which files to open and never lists a
directory. ``prediction_labels`` holds the ground truth joined to the log by request id and row.

Times are integer milliseconds since the epoch (UTC); ``day`` is the UTC day of the file's
partition as ``YYYY-MM-DD``, which sorts as it reads.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table

from modelcycle.store.tables._metadata import AutoBigInt, metadata

DEPLOYMENT_LENGTH = 63
REQUEST_ID_LENGTH = 128
FILE_PATH_LENGTH = 1024

prediction_files = Table(
    "prediction_files",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("deployment", String(DEPLOYMENT_LENGTH), nullable=False),
    Column("day", String(10), nullable=False),
    # Relative to the artifact root, so a moved or re-mounted root keeps its log readable.
    Column("path", String(FILE_PATH_LENGTH), nullable=False, unique=True),
    Column("row_count", BigInteger, nullable=False),
    Column("request_count", BigInteger, nullable=False),
    Column("min_time", BigInteger, nullable=False),
    Column("max_time", BigInteger, nullable=False),
    # [{"name": "churn", "version": "3"}, …]: which versions answered the file's requests.
    Column("model_versions", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # "deployment D from day X to day Y", and every deployment over a range of days.
    Index(None, "deployment", "day"),
    Index(None, "day"),
)

prediction_labels = Table(
    "prediction_labels",
    metadata,
    Column("request_id", String(REQUEST_ID_LENGTH), primary_key=True),
    Column("row_index", Integer, primary_key=True),
    # "" labels the request in whichever deployment served it; a name scopes it to one.
    Column("deployment", String(DEPLOYMENT_LENGTH), primary_key=True),
    Column("label", JSON, nullable=False),
    Column("labelled_at", BigInteger, nullable=False),
    Index(None, "deployment"),
)
