"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import LiveServer

from headwater.platform.db.models import Base
from headwater.platform.migrations import alembic_config, upgrade


def test_migrated_schema_matches_the_models(live: LiveServer) -> None:
    engine = live.context.db.engine
    upgrade(engine)  # a second run at start-up is a no-op
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert head is not None and context.get_current_revision() == head
        assert compare_metadata(context, Base.metadata) == []


def test_health_and_openapi_are_public(live: LiveServer) -> None:
    with live.client() as client:
        health = client.get("/healthz").json()
        assert health == {"status": "ok", "database": live.backend}
        spec = client.get("/openapi.json").json()
        assert spec["info"]["title"] == "Headwater platform"
        for operations in spec["paths"].values():
            for operation in operations.values():
                assert "200" in operation["responses"] or "201" in operation["responses"]
        assert client.get("/docs").status_code == 200
