"""Schemathesis against the server's own OpenAPI spec, as an admin: no request makes it fail
with a 5xx, and no request the spec calls valid is refused as invalid (422), outside the
documented exceptions below. A fresh server and data folder, since random requests delete and
change things."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from platform_server import (
    ADMIN_PASSWORD,
    LiveServer,
    live_server,
    postgres_schema_in,
)
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.openapi import from_url
from schemathesis.specs.openapi.checks import status_code_conformance
from service_helpers import POSTGRES_URL

from headwater.platform import PlatformSettings

Operation = APIOperation[Any, Any, Any, Any]
EXAMPLES = 20  # per operation and backend: well under a minute each
# How long a request may take: a preview runs for up to its `timeout` (at most 300 s) and, on a
# loaded machine, starting its sandboxed Python alone can take tens of seconds. A request still
# unanswered after that is a failure.
REQUEST_SECONDS = 330
# Routes that check a password in the body: a wrong one is refused, token or not.
PASSWORDS = ("/api/auth/login", "/api/auth/password")
# Rules the spec cannot state, so a request it calls valid may still be refused by field (422):
# operation -> why. Everything else valid by the spec must not get a 422.
REFUSED_THOUGH_VALID = {
    # A password must not be easy to guess (zxcvbn): no JSON schema can say so.
    "POST /api/users": "password strength",
    "PATCH /api/users/{user_id}": "password strength",
    "PUT /api/auth/password": "password strength",
    # A file path must not leave the project or enter .git, and a manifest must validate and
    # name files that exist: checked against the project, not the schema.
    "PUT /api/projects/{name}/files/{path}": "file paths and manifest contents",
    "GET /api/projects/{name}/files/{path}": "file paths",
    "DELETE /api/projects/{name}/files/{path}": "file paths",
    "POST /api/projects/{name}/renames": "file paths",
    # A project name is checked with its own message; commits and apps must exist at a commit.
    "POST /api/projects": "project names",
    "POST /api/projects/{project}/deployments": "apps and secrets of the commit",
    "PATCH /api/deployments/{deployment_id}": "secrets and commits of the project",
    "POST /api/projects/{name}/preview": "records and seconds exclude each other",
    # A model upload's body must be a model file its framework can load, and its metrics a
    # JSON object of numbers inside a query parameter: loaded and parsed, not described.
    "POST /api/projects/{project}/models/{name}/versions": "model files and their metrics",
    # A topic's setting is judged by the broker (a cleanup policy it knows, a positive size),
    # and partitions grow only past the topic's count, after the keyed-data warning.
    "PATCH /api/topics/{name}/config": "values the broker judges",
    "POST /api/topics/{name}/partitions": "more partitions than the topic has",
    # A port is 1-65535 (the pattern allows five digits); a topic's replication cannot exceed
    # the cluster's brokers.
    "POST /api/clusters": "port range",
    "PATCH /api/clusters/{name}": "port range",
    "POST /api/topics": "replication above the cluster's brokers",
    # A canvas edit is checked against the project: its apps, files, templates, code cells
    # and the manifest it leaves behind.
    "POST /api/projects/{name}/canvas/preview": "apps, files and code of the project",
    "POST /api/projects/{name}/canvas/commit": "apps, files and code of the project",
    # A layout's keys are node names (1-300 characters, no NUL): an object's keys have no
    # pattern in the schema.
    "PUT /api/projects/{name}/canvas/layout": "node names as keys",
}
# Path parameters of what the fixture creates (user 2 is the editor).
KNOWN: dict[str, str | int] = {
    "project": "fuzz",
    "name": "fuzz",
    "path": "app.py",
    "ref": "HEAD",
    "deployment_id": 1,
    "user_id": 2,
}


@pytest.fixture(scope="module")
def fuzz_postgres() -> Iterator[str]:
    """A schema of its own in the test database (another holds the other server)."""
    with postgres_schema_in(POSTGRES_URL, "hw_fuzz") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, bootstrap: str
) -> Iterator[LiveServer]:
    backend: str = request.param
    database_url = request.getfixturevalue("fuzz_postgres") if backend == "postgresql" else None
    data_dir: Path = tmp_path_factory.mktemp(f"platform-fuzz-{backend}")
    platform = PlatformSettings(
        data_dir=data_dir,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        secret_key=None,
        max_file_bytes=10_000,
    )
    with live_server(platform, backend) as live, live.client("admin") as admin:
        # A reachable cluster and a project, so routes get past "not found" to real work.
        made = admin.post("/api/clusters", json={"name": "default", "bootstrap_servers": bootstrap})
        assert made.status_code == 201, made.text
        made = admin.post("/api/projects", json={"name": "fuzz", "template": "hello-stream"})
        assert made.status_code == 201, made.text
        made = admin.post(
            "/api/projects/fuzz/deployments", json={"app": "fuzz", "state": "stopped"}
        )
        assert made.status_code == 201, made.text
        yield live


def operations(live: LiveServer) -> list[Operation]:
    # Server-sent events never end; revoking tokens could revoke the fuzzer's own.
    schema = (
        from_url(f"{live.url}/openapi.json")
        .exclude(path_regex=r"/(tail|logs/stream)$")
        .exclude(method="DELETE", path="/api/tokens/{token_id}")
    )
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation of the spec can be fuzzed
        found.append(result.ok())
    return found


# Every route, 20 requests each, some loading models in the sandbox: longer than one test's
# usual guard on a loaded machine.
@pytest.mark.timeout(900)
def test_no_request_fails_with_a_server_error(fuzz_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {fuzz_server.tokens['admin']}"}
    found = operations(fuzz_server)
    assert len(found) > 40  # the spec was read and nearly every route is fuzzed
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    refused: set[str] = set()
    refused_valid: set[str] = set()
    for operation in found:
        # Valid requests and invalid ones (wrong types, missing fields), half and half.
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE).map(lambda case: (case, True)),
            operation.as_strategy(GenerationMode.NEGATIVE).map(lambda case: (case, False)),
        )

        @given(generated=cases, known=st.booleans())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=False,
            database=None,
        )
        def fuzz(generated: tuple[Case[Operation], bool], known: bool) -> None:
            case, valid = generated
            if case.path_parameters and case.path_parameters.get("user_id") == 1:
                # A new password or a revocation for user 1 revokes the fuzzer's own token.
                case.path_parameters["user_id"] = KNOWN["user_id"]
            if known:  # half the time, aim at things that exist instead of random names
                for param, value in KNOWN.items():
                    if case.path_parameters and param in case.path_parameters:
                        case.path_parameters[param] = value
            response = case.call_and_validate(
                base_url=fuzz_server.url,
                headers=headers,
                checks=[not_a_server_error, status_code_conformance],
                timeout=REQUEST_SECONDS,
            )
            statuses[response.status_code] += 1
            if response.status_code in (401, 403) and case.operation.path not in PASSWORDS:
                refused.add(case.operation.label)  # the admin's token must open every route
            label = case.operation.label
            if valid and response.status_code == 422 and label not in REFUSED_THOUGH_VALID:
                refused_valid.add(f"{label}: {response.text[:300]}")

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures
            failures.append(f"{operation.label}: {_described(exc)}")
    assert not failures, "\n\n".join(failures)
    assert not refused, refused
    assert not refused_valid, "\n".join(sorted(refused_valid))
    # Not only refusals: a good share of the requests did real work.
    assert sum(n for code, n in statuses.items() if code < 300) > len(found) * 2, statuses


def _described(exc: BaseException) -> str:
    """The exception and those it groups (Hypothesis reports a flaky failure as a group, whose
    own message does not say what failed)."""
    nested = getattr(exc, "exceptions", ())
    return "\n".join([f"{type(exc).__name__}: {exc}", *(_described(e) for e in nested)])


def test_ids_too_large_for_the_database_are_refused_by_name(fuzz_server: LiveServer) -> None:
    # Found by the fuzzer: such an id used to crash the database driver (a 500).
    huge = 2**70
    with fuzz_server.client("admin") as admin:
        for method, path, field in (
            ("GET", f"/api/deployments/{huge}", "deployment_id"),
            ("PATCH", f"/api/users/{huge}", "user_id"),
            ("DELETE", f"/api/tokens/{huge}", "token_id"),
        ):
            response = admin.request(method, path, json={} if method == "PATCH" else None)
            assert response.status_code == 422, (path, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [f"path.{field}"]


def test_nul_characters_are_refused_and_change_nothing(fuzz_server: LiveServer) -> None:
    # Found by probing PostgreSQL, which refuses NUL in text: these were 500s there (and SQLite
    # stored them); both backends now refuse them.
    with fuzz_server.client("admin") as admin:
        login = admin.post("/api/auth/login", json={"username": "a\u0000", "password": "x"})
        assert 400 <= login.status_code < 500, login.text
        for path in ("/api/projects/a%00b", "/api/clusters/a%00b"):
            found = admin.get(path)
            assert 400 <= found.status_code < 500, (path, found.text)
        cluster = {"name": "nul-cluster", "bootstrap_servers": "host\u0000:9092"}
        made = admin.post("/api/clusters", json=cluster)
        assert made.status_code == 422 and "NUL" in made.json()["detail"], made.text
        assert "nul-cluster" not in [c["name"] for c in admin.get("/api/clusters").json()]
        # NUL in a name used as a filter, as in the body: refused on either backend.
        assert login.status_code == 422 and "NUL" in login.json()["detail"], login.text


def test_a_cluster_with_invalid_client_settings_is_a_409_naming_the_fix(
    fuzz_server: LiveServer,
) -> None:
    # Found by running the role tests after the secrets tests: SASL without credentials made
    # every topic route of that cluster a 500.
    options = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}
    with fuzz_server.client("admin") as admin:
        made = admin.post(
            "/api/clusters",
            json={"name": "no-credentials", "bootstrap_servers": "127.0.0.1:1", "options": options},
        )
        assert made.status_code == 201, made.text
        try:
            for path in ("/api/topics", "/api/topics/orders", "/api/topics/orders/tail"):
                found = admin.get(path, params={"cluster": "no-credentials"})
                assert found.status_code == 409, (path, found.text)
                assert "PATCH /api/clusters/" in found.json()["detail"]
        finally:
            assert admin.delete("/api/clusters/no-credentials").status_code == 200
