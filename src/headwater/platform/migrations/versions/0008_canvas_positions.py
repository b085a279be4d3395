"""Where users put the nodes of a project's canvas.

Revision ID: 0008_canvas
Revises: 0007_targets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_canvas"
down_revision = "0007_targets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canvas_positions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("node", sa.String(300), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.UniqueConstraint("project", "node", name="uq_canvas_positions_node"),
    )
    op.create_index("ix_canvas_positions_project", "canvas_positions", ["project"])


def downgrade() -> None:
    op.drop_table("canvas_positions")
