"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

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


METHODS = {"get", "put", "post", "delete", "patch"}


def test_every_path_answers_options_and_wrong_methods_with_all_its_methods(
    live: LiveServer,
) -> None:
    # Found by schemathesis: OPTIONS was a 405, and a 405 listed one route's methods only.
    with live.client() as client:
        spec = client.get("/openapi.json").json()
        for template, operations in spec["paths"].items():
            documented = {m.upper() for m in operations if m in METHODS}
            path = re.sub(r"\{[^}]*_id\}", "1", template)
            path = re.sub(r"\{[^}]*\}", "x", path)
            expected = documented | {"OPTIONS"}
            options = client.options(path)
            assert options.status_code == 204, (path, options.text)
            assert set(options.headers["allow"].split(", ")) == expected, path
            # Any method the path lacks, with or without a token: 405 and the same list.
            lacking = sorted({m.upper() for m in METHODS} - documented)[0]
            refused = client.request(lacking, path)
            assert refused.status_code == 405, (lacking, path, refused.text)
            assert set(refused.headers["allow"].split(", ")) == expected, path
            assert "not allowed" in refused.json()["detail"]
        # Paths of the app itself are its own: OPTIONS there is none of the API's business.
        assert "OPTIONS" not in client.options("/projects/x").headers.get("allow", "")
