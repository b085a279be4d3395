"""Clusters and project secrets: encrypted at rest, never returned, changed by admins (clusters)
and editors (a project's secrets)."""

from __future__ import annotations

import stat
import uuid

import pytest
from platform_server import LiveServer
from sqlalchemy import text

from headwater.errors import ConfigError
from headwater.platform.db.models import Cluster
from headwater.platform.domain.clusters import kafka_settings
from headwater.platform.secrets import SecretBox


def stored(live: LiveServer, query: str) -> str:
    with live.context.db.engine.connect() as connection:
        return " ".join(str(row[0]) for row in connection.execute(text(query)))


def test_secrets_are_encrypted_and_never_returned(
    live: LiveServer, capfd: pytest.CaptureFixture[str]
) -> None:
    project = f"s-{uuid.uuid4().hex[:6]}"
    name = f"db-password-{uuid.uuid4().hex[:6]}"
    value = f"hunter2-{uuid.uuid4().hex}"
    base = f"/api/projects/{project}/secrets"
    with live.client("editor") as editor:
        assert editor.post("/api/projects", json={"name": project}).status_code == 201
        made = editor.put(f"{base}/{name}", json={"value": value})
        assert made.status_code == 200 and value not in made.text
        assert made.json()["project"] == project
        assert editor.put(f"{base}/{name}", json={"value": value + "x"}).status_code == 200
        listed = editor.get(base)
        assert name in [s["name"] for s in listed.json()] and value not in listed.text
    with live.client("viewer") as viewer:
        assert name in [s["name"] for s in viewer.get(base).json()]
        assert viewer.put(f"{base}/{name}", json={"value": "x"}).status_code == 403
    assert value not in stored(live, "SELECT ciphertext FROM project_secrets")
    assert value not in capfd.readouterr().err
    key_file = live.context.settings.secret_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with live.client("editor") as editor:
        bad = editor.put(f"{base}/bad name!", json={"value": "x"})
        assert bad.status_code == 422
        assert editor.get("/api/projects/no-such-project/secrets").status_code == 404
        assert editor.delete(f"{base}/{name}").status_code == 200
        assert editor.delete(f"{base}/{name}").status_code == 404


def test_cluster_secret_options_are_encrypted_and_only_named(live: LiveServer) -> None:
    name = f"c-{uuid.uuid4().hex[:6]}"
    password = f"sasl-{uuid.uuid4().hex}"
    body = {
        "name": name,
        "bootstrap_servers": "broker-1:9093,broker-2:9093",
        "options": {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"},
        "secret_options": {"sasl.username": "svc", "sasl.password": password},
    }
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json=body)
        assert made.status_code == 201 and password not in made.text
        assert made.json()["secret_options"] == ["sasl.password", "sasl.username"]
        patched = admin.patch(
            f"/api/clusters/{name}", json={"secret_options": {"sasl.username": None}}
        )
        assert patched.json()["secret_options"] == ["sasl.password"]
    with live.client("viewer") as viewer:
        seen = viewer.get(f"/api/clusters/{name}")
        assert seen.json()["options"]["security.protocol"] == "SASL_SSL"
        assert password not in seen.text and password not in viewer.get("/api/clusters").text
    assert password not in stored(live, "SELECT secret_options FROM clusters")
    with live.context.db.session() as session:
        cluster = session.query(Cluster).filter_by(name=name).one()
        settings = kafka_settings(cluster, live.context.secrets)
    assert settings.options["sasl.password"] == password  # for connecting, decrypted
    assert settings.bootstrap_servers == "broker-1:9093,broker-2:9093"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"bootstrap_servers": "localhost"}, "HOST:PORT"),
        ({"options": {"sasl.password": "x"}}, "secret_options"),
        ({"options": {"bootstrap.servers": "a:1"}}, "bootstrap_servers"),
        ({"name": "Not Valid"}, "name"),
    ],
)
def test_bad_cluster_settings_are_refused(
    live: LiveServer, body: dict[str, object], message: str
) -> None:
    name = f"c-{uuid.uuid4().hex[:6]}"
    full = {"name": name, "bootstrap_servers": "localhost:9092", **body}
    with live.client("admin") as admin:
        response = admin.post("/api/clusters", json=full)
        assert response.status_code == 422 and message in response.json()["detail"]
        assert admin.get(f"/api/clusters/{name}").status_code == 404


def test_secret_key_from_the_environment_and_a_wrong_key() -> None:
    from cryptography.fernet import Fernet

    box = SecretBox(Fernet.generate_key().decode())
    token = box.encrypt("s3cret")
    assert box.decrypt(token) == "s3cret"
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        SecretBox(Fernet.generate_key()).decrypt(token)
    with pytest.raises(ConfigError, match="HEADWATER_SECRET_KEY is not a valid key"):
        SecretBox("too-short")
