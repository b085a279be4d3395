"""Secrets belong to a project, main can be protected, user names are unique ignoring case.

Each existing (platform-wide) secret is copied into every project whose deployments name it; a
secret no deployment names is copied into every project, so nothing is lost (an admin deletes
the copies a project does not need).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from headwater.platform.db.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "projects",
        sa.Column("protect_main", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    _unique_names_ignoring_case()
    project_secrets = op.create_table(
        "project_secrets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("project", "name", name="uq_project_secrets_project_name"),
    )
    connection = op.get_bind()
    projects = [row[0] for row in connection.execute(sa.text("SELECT name FROM projects"))]
    users: dict[str, set[str]] = {}
    deployments = sa.text("SELECT project, secrets_json FROM deployments")
    for project, refs in connection.execute(deployments):
        for name in json.loads(refs or "{}").values():
            users.setdefault(name, set()).add(project)
    rows = []
    secrets = connection.execute(
        sa.text("SELECT name, ciphertext, created_at, updated_at FROM secrets")
    )
    for name, ciphertext, created_at, updated_at in secrets:
        for project in sorted(users.get(name) or projects):
            rows.append(
                {
                    "project": project,
                    "name": name,
                    "ciphertext": ciphertext,
                    "created_at": created_at,
                    "updated_at": updated_at,
                }
            )
    if rows:
        op.bulk_insert(project_secrets, rows)
    op.drop_table("secrets")


def _unique_names_ignoring_case() -> None:
    connection = op.get_bind()
    clashes = connection.execute(
        sa.text("SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1")
    ).all()
    if clashes:
        names = ", ".join(row[0] for row in clashes)
        raise RuntimeError(
            f"user names that differ only in case exist ({names}): user names are now unique "
            "ignoring case; delete or rename the extra users with the previous version first"
        )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_username_lower", "users")
    op.create_table(
        "secrets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.drop_table("project_secrets")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("protect_main")
