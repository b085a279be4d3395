"""Joins the two lines of revisions: deployment overrides (0003_overrides) and the security
tables (0003, 0004). A database on either line upgrades to this one; nothing changes here.

Revision ID: 0005
Revises: 0003_overrides, 0004
"""

from __future__ import annotations

revision = "0005"
down_revision = ("0003_overrides", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
