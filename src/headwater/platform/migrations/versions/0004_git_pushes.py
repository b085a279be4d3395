"""The push log: who pushed which commits to which ref of a project.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headwater.platform.db.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "git_pushes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("old_commit", sa.String(40), nullable=False),
        sa.Column("new_commit", sa.String(40), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("commits", sa.Integer(), nullable=False),
        sa.Column("authors_json", sa.Text(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("token", sa.String(16), nullable=False),
        sa.Column("pushed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_git_pushes_project", "git_pushes", ["project"])


def downgrade() -> None:
    op.drop_table("git_pushes")
