"""Tables of the metadata database. Changing one needs a new migration in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite keeps no zone), always read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# User names are unique ignoring case: "Ann" and "ann" cannot both exist.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class LoginSession(Base):
    """A browser session; the cookie holds the token, the table only its hash."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """An API token for the CLI and Git; shown once at creation, stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Cluster(Base):
    """A Kafka cluster's connection settings; secret options are stored encrypted."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    bootstrap_servers: Mapped[str] = mapped_column(String(1000))
    options_json: Mapped[str] = mapped_column(Text, default="{}")
    secret_options: Mapped[str] = mapped_column(Text, default="")
    # Where deployments on this cluster run: {} is this machine (the supervisor's processes),
    # {"kind": "kubernetes", "namespace": ...} a Kubernetes namespace (see platform/kubernetes).
    deploy_target_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Secret(Base):
    """A named secret of one project, for its deployments; only its ciphertext is stored."""

    __tablename__ = "project_secrets"
    __table_args__ = (UniqueConstraint("project", "name", name="uq_project_secrets_project_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Project(Base):
    """A project's metadata; its files live in a Git repository under the data directory."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # No force-push to main and no deleting it while set; only an admin clears it.
    protect_main: Mapped[bool] = mapped_column(Boolean, default=True)


class Deployment(Base):
    """An app of a project run at a pinned commit; the supervisor keeps it in ``desired_state``."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("project", "app", name="uq_deployments_project_app"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project: Mapped[str] = mapped_column(String(64), index=True)
    app: Mapped[str] = mapped_column(String(64))
    cluster: Mapped[str] = mapped_column(String(64))
    commit: Mapped[str] = mapped_column(String(40))
    replicas: Mapped[int] = mapped_column(Integer)
    cpu: Mapped[float] = mapped_column(Float)
    memory: Mapped[str] = mapped_column(String(16))
    # Which of replicas, cpu and memory were set on the deployment (a JSON list); the others
    # follow headwater.yaml at the deployed commit.
    overrides_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    env_json: Mapped[str] = mapped_column(Text, default="{}")
    # Environment variable -> secret name; values are decrypted only when a replica starts.
    secrets_json: Mapped[str] = mapped_column(Text, default="{}")
    desired_state: Mapped[str] = mapped_column(String(16), default="running")
    created_by: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GitPush(Base):
    """A ref moved by ``git push``: who pushed (the API token's user), when, and what.

    Authors and committers written in commits are whatever the pusher chose; this row is what
    the platform itself saw. ``authors`` lists the author lines of the commits the push
    brought, so a commit claiming someone else's name shows next to who really pushed it.
    """

    __tablename__ = "git_pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project: Mapped[str] = mapped_column(String(64), index=True)
    ref: Mapped[str] = mapped_column(String(255))
    old_commit: Mapped[str] = mapped_column(String(40))  # 40 zeros: the ref was created
    new_commit: Mapped[str] = mapped_column(String(40))  # 40 zeros: the ref was deleted
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    commits: Mapped[int] = mapped_column(Integer, default=0)
    authors_json: Mapped[str] = mapped_column(Text, default="[]")
    username: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(16))  # the API token's prefix, as listed
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RegisteredModel(Base):
    """A model of a project's registry; its versions' files live beside the data directory's
    other folders (``models/<project>/<name>/``), not in Git."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("project", "name", name="uq_models_project_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModelVersion(Base):
    """One uploaded version: what the platform found when it loaded the file."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_versions_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    framework: Mapped[str] = mapped_column(String(16))
    # The input signature: [{"name": ..., "kind": ...}] in the order the model reads them.
    features_json: Mapped[str] = mapped_column(Text, default="[]")
    outputs_json: Mapped[str] = mapped_column(Text, default="[]")
    metrics_json: Mapped[str] = mapped_column(Text, default="{}")
    description: Mapped[str] = mapped_column(String(500), default="")
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModelAlias(Base):
    """A name (``production``, ``staging``...) pointing at one version of a model."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias", name="uq_model_aliases_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AliasMove(Base):
    """Each move of an alias, newest last: what a rollback undoes and the history shows."""

    __tablename__ = "model_alias_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(64))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int] = mapped_column(Integer)
    rollback: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str] = mapped_column(String(64))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CanvasPosition(Base):
    """Where a user put a node on a project's canvas: presentation, so kept here rather than
    committed (a commit per drag would bury the project's real changes)."""

    __tablename__ = "canvas_positions"
    __table_args__ = (UniqueConstraint("project", "node", name="uq_canvas_positions_node"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project: Mapped[str] = mapped_column(String(64), index=True)
    node: Mapped[str] = mapped_column(String(300))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
