"""Tables of dataset versions and their lineage.

A version's content is its manifest: one ``dataset_files`` row per file, naming the blake3
digest of the file's bytes. A file of 1 MiB or more is an object of its own (``pack`` is NULL,
the object is ``digest``); smaller files are concatenated into pack objects, and the row says
which pack holds the file and at what ``pack_offset``. Both columns are marked ``object_ref``,
so gc keeps every object a version needs (the extra digests of packed files name no object,
which gc ignores).

``dataset_versions.hash`` is the blake3 digest of the sorted manifest lines
``path\\tdigest\\tsize``: unique per dataset, so adding identical content again finds the
existing version instead of making a new one.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from modelcycle.store.tables._metadata import metadata

DATASET_NAME_LENGTH = 250
FILE_PATH_LENGTH = 1024
DIGEST_LENGTH = 64

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(DATASET_NAME_LENGTH), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "dataset_id",
        Integer,
        ForeignKey("datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("hash", String(DIGEST_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("total_size", BigInteger, nullable=False),
    Column("row_count", BigInteger, nullable=True),
    Column("schema", JSON, nullable=True),
    Column("statistics", JSON, nullable=True),
    Column("description", Text, nullable=True),
    UniqueConstraint("dataset_id", "version"),
    UniqueConstraint("dataset_id", "hash"),
)

dataset_files = Table(
    "dataset_files",
    metadata,
    Column(
        "version_id",
        Integer,
        ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("path", String(FILE_PATH_LENGTH), primary_key=True),
    Column("digest", String(DIGEST_LENGTH), nullable=False, info={"object_ref": True}),
    Column("size", BigInteger, nullable=False),
    Column("pack", String(DIGEST_LENGTH), nullable=True, info={"object_ref": True}),
    Column("pack_offset", BigInteger, nullable=True),
    # A new version looks up where each of its digests is already stored.
    Index(None, "digest"),
)

dataset_parents = Table(
    "dataset_parents",
    metadata,
    Column(
        "child_id",
        Integer,
        ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "parent_id",
        Integer,
        ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # Lineage walks downwards too: which versions were derived from this one.
    Index(None, "parent_id"),
)
