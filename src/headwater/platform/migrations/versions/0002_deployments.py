"""Deployments: apps of projects run at a pinned commit by the supervisor.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headwater.platform.db.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("commit", sa.String(40), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("cpu", sa.Float(), nullable=False),
        sa.Column("memory", sa.String(16), nullable=False),
        sa.Column("env_json", sa.Text(), nullable=False),
        sa.Column("secrets_json", sa.Text(), nullable=False),
        sa.Column("desired_state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("project", "app", name="uq_deployments_project_app"),
    )
    op.create_index("ix_deployments_project", "deployments", ["project"])


def downgrade() -> None:
    op.drop_table("deployments")
