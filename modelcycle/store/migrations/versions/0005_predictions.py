"""Predictions: the prediction log's files and the labels that arrive later.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_files",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("deployment", sa.String(length=63), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("request_count", sa.BigInteger(), nullable=False),
        sa.Column("min_time", sa.BigInteger(), nullable=False),
        sa.Column("max_time", sa.BigInteger(), nullable=False),
        sa.Column("model_versions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_files")),
        sa.UniqueConstraint("path", name=op.f("uq_prediction_files_path")),
    )
    op.create_index(
        op.f("ix_prediction_files_deployment_day"),
        "prediction_files",
        ["deployment", "day"],
        unique=False,
    )
    op.create_index(op.f("ix_prediction_files_day"), "prediction_files", ["day"], unique=False)
    op.create_table(
        "prediction_labels",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("deployment", sa.String(length=63), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("labelled_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "request_id", "row_index", "deployment", name=op.f("pk_prediction_labels")
        ),
    )
    op.create_index(
        op.f("ix_prediction_labels_deployment"),
        "prediction_labels",
        ["deployment"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("prediction_labels")
    op.drop_table("prediction_files")
