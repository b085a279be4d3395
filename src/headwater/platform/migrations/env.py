"""Alembic's entry: migrates the engine the server hands over (see ``upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from headwater.platform.db.models import Base

engine: Engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
