"""Deployments remember which of replicas, cpu and memory were set on them, not taken from
headwater.yaml: a redeploy applies the manifest's values to the others.

Revision ID: 0003_overrides
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_overrides"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.add_column(
            sa.Column("overrides_json", sa.Text(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.drop_column("overrides_json")
