"""Clusters name where their deployments run: this machine, or a Kubernetes namespace.

Revision ID: 0007_targets
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_targets"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clusters") as batch:
        batch.add_column(
            sa.Column("deploy_target_json", sa.Text(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("clusters") as batch:
        batch.drop_column("deploy_target_json")
