"""Tables of the model registry.

A model version's bytes live in the object store: one ``model_version_files`` row per file of
the model directory (``model.json`` included), and ``model_versions.manifest_digest`` names the
``model.json`` object. Both digest columns are marked ``object_ref`` so ``modelcycle gc`` keeps
every object a registered version needs.

Stages, aliases, approvals and evaluations hang off a version; ``registry_events`` is the
append-only history of every alias move, request, approval, rejection and stage change, with
who did it and when. Times are integer milliseconds since the epoch (UTC).
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

from modelcycle.store.tables._metadata import AutoBigInt, metadata

MODEL_NAME_LENGTH = 250
ALIAS_LENGTH = 63
KEY_LENGTH = 250
ACTOR_LENGTH = 64
STAGE_LENGTH = 16
DIGEST_LENGTH = 64
RUN_ID_LENGTH = 32
FILE_PATH_LENGTH = 1024

registered_models = Table(
    "registered_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MODEL_NAME_LENGTH), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("created_by", String(ACTOR_LENGTH), nullable=True),
    # {"require_approval": bool, "gates": [str], "archive_previous": bool}; NULL: no policy.
    Column("policy", JSON, nullable=True),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "model_id", Integer, ForeignKey("registered_models.id", ondelete="CASCADE"), nullable=False
    ),
    Column("version", Integer, nullable=False),
    # A run may be purged later; its versions stay, unlinked.
    Column(
        "run_id", String(RUN_ID_LENGTH), ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
    ),
    Column("code_commit", String(64), nullable=True),
    Column("flavor", String(64), nullable=False),
    Column("manifest_digest", String(DIGEST_LENGTH), nullable=False, info={"object_ref": True}),
    Column("signature", JSON, nullable=True),
    Column("description", Text, nullable=True),
    Column("status", String(STAGE_LENGTH), nullable=False),
    Column("stage", String(STAGE_LENGTH), nullable=False),
    Column("created_by", String(ACTOR_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("model_id", "version"),
    # "the production version of churn", and versions of a run.
    Index(None, "model_id", "stage"),
    Index(None, "run_id"),
)

model_version_files = Table(
    "model_version_files",
    metadata,
    Column(
        "version_id",
        Integer,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("path", String(FILE_PATH_LENGTH), primary_key=True),
    Column("digest", String(DIGEST_LENGTH), nullable=False, info={"object_ref": True}),
    Column("size", BigInteger, nullable=False),
)

# The dataset versions a model version was trained or validated on, named as ``run_inputs``
# names them (a run may log a dataset that was never added); ``dataset_version_id`` links the
# ones that exist in the data domain.
model_version_datasets = Table(
    "model_version_datasets",
    metadata,
    Column(
        "version_id",
        Integer,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("dataset", String(250), primary_key=True),
    Column("dataset_version", String(64), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column(
        "dataset_version_id",
        Integer,
        ForeignKey("dataset_versions.id", ondelete="SET NULL"),
        nullable=True,
    ),
    # Lineage walks from a dataset version down to the models trained on it.
    Index(None, "dataset", "dataset_version"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column(
        "model_id",
        Integer,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("alias", String(ALIAS_LENGTH), primary_key=True),
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "version_id"),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column(
        "model_id",
        Integer,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("value", Text, nullable=False),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column(
        "version_id",
        Integer,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("value", Text, nullable=False),
)

model_evaluations = Table(
    "model_evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "run_id", String(RUN_ID_LENGTH), ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
    ),
    Column("dataset", String(320), nullable=True),
    # Flat name → value, what gates read; ``result`` is the whole EvaluationResult.to_dict().
    Column("metrics", JSON, nullable=False),
    Column("result", JSON, nullable=False),
    Column("created_by", String(ACTOR_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # The latest evaluation of a version.
    Index(None, "version_id", "id"),
    Index(None, "run_id"),
)

transition_requests = Table(
    "transition_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("from_stage", String(STAGE_LENGTH), nullable=False),
    Column("to_stage", String(STAGE_LENGTH), nullable=False),
    Column("status", String(STAGE_LENGTH), nullable=False),
    Column("requested_by", String(ACTOR_LENGTH), nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("decided_by", String(ACTOR_LENGTH), nullable=True),
    Column("decision_comment", Text, nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    # A version's open request; every pending request, oldest first.
    Index(None, "version_id", "status"),
    Index(None, "status", "created_at"),
)

registry_events = Table(
    "registry_events",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column(
        "model_id", Integer, ForeignKey("registered_models.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=True
    ),
    Column("kind", String(32), nullable=False),
    Column("actor", String(ACTOR_LENGTH), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("details", JSON, nullable=False),
    # A model's history and a version's history, in order.
    Index(None, "model_id", "id"),
    Index(None, "version_id", "id"),
)
