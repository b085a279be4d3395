"""Requests that used to cost the server dearly or pass loose values: refused by field, bounded,
or budgeted; and the accounts' rules (passwords, tokens, names, headers, the data directory)."""

from __future__ import annotations

import stat
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from platform_server import (
    ADMIN_PASSWORD,
    PASSWORD,
    LiveServer,
    live_server,
    postgres_schema_in,
)
from service_helpers import POSTGRES_URL

from headwater.platform import PlatformSettings
from headwater.platform.live import FILTER_STEPS

EXPONENTIAL = "value" + ".[@, @]" * 30
HEAVY = "length(value.items[*].[@, @][][*].[@, @]) > `0`"


def test_absurd_limits_and_nul_bytes_are_refused_by_field_and_store_nothing(
    live: LiveServer, bootstrap: str
) -> None:
    project = f"lim-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post(
            "/api/clusters", json={"name": f"c-{project}", "bootstrap_servers": bootstrap}
        )
        assert made.status_code == 201
    cluster = f"c-{project}"
    cases = [
        ({"memory": "99999999999999999999999Mi"}, "memory"),
        ({"memory": "8Mi"}, "memory"),
        ({"cpu": 1e-300}, "cpu"),
        ({"replicas": "2"}, "replicas"),
        ({"env": {"A": "x\u0000y"}}, "env"),
        ({"env": {"A": "x" * 70_000}}, "env"),
    ]
    with live.client("editor") as editor:
        assert editor.post(
            "/api/projects", json={"name": project, "template": "hello-stream"}
        ).is_success
        base = f"/api/projects/{project}/deployments"
        for extra, field in cases:
            body = {"app": project, "cluster": cluster, "state": "stopped", **extra}
            refused = editor.post(base, json=body)
            assert refused.status_code == 422, (extra, refused.text)
            assert refused.json()["errors"][0]["field"] == field, refused.json()
        assert editor.get(base).json() == []
        made = editor.post(base, json={"app": project, "cluster": cluster, "state": "stopped"})
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
        for extra, field in cases:
            refused = editor.patch(f"/api/deployments/{ident}", json=extra)
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
        assert editor.get(f"/api/deployments/{ident}").json()["memory"] == "256Mi"
        # The same bounds hold in headwater.yaml, which is refused before it is written.
        manifest = editor.get(f"/api/projects/{project}/files/headwater.yaml").json()["content"]
        absurd = manifest.replace("256Mi", "99999999999999999999999Mi")
        written = editor.put(
            f"/api/projects/{project}/files/headwater.yaml", json={"content": absurd}
        )
        assert written.status_code == 422 and "memory" in written.json()["errors"][0]["field"]
        deep = editor.put(
            f"/api/projects/{project}/files/headwater.yaml", json={"content": "[" * 5000}
        )
        assert deep.status_code == 422 and "nests too deeply" in deep.json()["detail"]
        assert editor.delete(f"/api/deployments/{ident}").is_success
        topic = editor.post(
            "/api/topics",
            params={"cluster": cluster},
            json={"name": f"t-{project}", "retention_ms": 1e30},
        )
        assert topic.status_code == 422 and topic.json()["errors"][0]["field"] == "retention_ms"


def test_an_exponential_filter_is_refused_and_a_costly_one_stopped(
    live: LiveServer, bootstrap: str
) -> None:
    from test_platform_preview import ensure_topic

    topic = f"filter-{uuid.uuid4().hex[:6]}"
    ensure_topic(bootstrap, topic)
    cluster = f"c-{topic}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": cluster, "bootstrap_servers": bootstrap})
        assert made.status_code == 201
    _produce(bootstrap, topic, b'{"items": [%s]}' % b",".join(b"1" for _ in range(FILTER_STEPS)))
    with live.client("viewer") as viewer:
        for expression, words in (
            (EXPONENTIAL, "multiplies each record"),
            ("!" * 400 + "value", "levels deep"),
        ):
            started = time.monotonic()
            refused = viewer.get(
                f"/api/topics/{topic}/export", params={"filter": expression, "cluster": cluster}
            )
            assert refused.status_code in (400, 422), refused.text[:300]
            assert words in refused.text, refused.text[:300]
            assert time.monotonic() - started < 2
        # Allowed by its shape, too costly on this record: the tail says so and ends.
        with viewer.stream(
            "GET",
            f"/api/topics/{topic}/tail",
            params={"filter": HEAVY, "from": "beginning", "cluster": cluster},
        ) as tail:
            events = "".join(_until(tail.iter_text(), "event: error", seconds=30))
        assert "needed more than" in events


def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, value)
    assert producer.flush(30) == 0


def _until(chunks: Iterator[str], text: str, seconds: float) -> Iterator[str]:
    deadline = time.monotonic() + seconds
    seen = ""
    for chunk in chunks:
        seen += chunk
        yield chunk
        # The error event's data line follows it: read to its end.
        if text in seen and "\n\n" in seen.split(text, 1)[1]:
            return
        assert time.monotonic() < deadline, seen[-500:]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def guarded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server of its own with small login budgets: flooding it must not lock out the others."""
    backend: str = request.param
    with postgres_schema_in(POSTGRES_URL, "hw_flood") as url:
        settings = PlatformSettings(
            data_dir=tmp_path_factory.mktemp(f"flood-{backend}"),
            database_url=url if backend == "postgresql" else None,
            admin_password=ADMIN_PASSWORD,
            secret_key=None,
            login_attempts=3,
            login_attempts_per_address=10,
            login_failures=40,
            login_window_seconds=60,
        )
        with live_server(settings, backend) as live:
            yield live


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_login_flood_is_budgeted_and_does_not_slow_other_requests(guarded: LiveServer) -> None:
    before = _rss()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def flood(address: str) -> None:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=guarded.url, transport=transport, timeout=30) as client:
            while not stop.is_set():
                name = f"nobody-{uuid.uuid4().hex}"  # a new name every time
                response = client.post(
                    "/api/auth/login",
                    json={"username": name, "password": "guess-guess-guess"},
                    headers={"X-Forwarded-For": f"10.0.0.{len(name)}"},  # not believed
                )
                with lock:
                    statuses[response.status_code] += 1

    threads = [
        threading.Thread(target=flood, args=(f"127.0.0.{2 + i}",), daemon=True) for i in range(12)
    ]
    for thread in threads:
        thread.start()
    latencies = []
    try:
        with guarded.client("admin") as admin:
            # Until the budgets refuse the flood: it ran long enough to spend them all.
            deadline = time.monotonic() + 120
            while statuses[429] < 50:
                assert time.monotonic() < deadline, statuses
                started = time.monotonic()
                assert admin.get("/api/auth/me").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[429] > 0 and statuses[401] > 0
    # Each address got at most its budget of real checks, all addresses the server's budget
    # (plus the checks under way when it was spent: two at a time).
    assert statuses[401] <= 40 + 2
    # Password checks run two at a time beside the other requests, never ahead of them: the
    # typical request stays quick, and none waits behind the flood (a starved event loop or
    # thread pool would hold one for the clients' 30 s timeout). The bounds leave room for a
    # loaded machine's scheduling, which is not what this measures.
    assert statistics.median(latencies) < 1.0, latencies
    assert max(latencies) < 10.0, latencies
    assert _rss() - before < 300 << 20
    assert guarded.context.login_limiter.entries() <= 2 * 40
    # A legitimate user from a fresh address is refused only while the whole-server budget is
    # spent; their session and token requests never are.
    with httpx.Client(base_url=guarded.url, timeout=30) as client:
        login = client.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 429 and "on this server" in login.json()["detail"]


def test_passwords_tokens_names_headers_and_the_data_directory(live: LiveServer) -> None:
    name = f"Casey-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        for weak, words in (("short-1", "at least 12"), ("password1234", "too easy to guess")):
            refused = admin.post(
                "/api/users", json={"username": name, "password": weak, "role": "viewer"}
            )
            assert refused.status_code == 422 and words in refused.text, refused.text
        made = admin.post("/api/users", json={"username": name, "password": PASSWORD})
        assert made.status_code == 201
        user = made.json()["id"]
        twin = admin.post("/api/users", json={"username": name.lower(), "password": PASSWORD})
        assert twin.status_code == 409 and "ignoring case" in twin.json()["detail"]
    # Logging in ignores case; a password change revokes the user's tokens.
    client, csrf = live.login(name.upper(), PASSWORD)
    token = client.post("/api/tokens", json={"name": "t"}, headers={"X-CSRF-Token": csrf})
    assert token.status_code == 201
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    assert httpx.get(f"{live.url}/api/auth/me", headers=bearer).status_code == 200
    new = f"{PASSWORD}-{uuid.uuid4().hex[:4]}"
    changed = client.put(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": new},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 200, changed.text
    assert httpx.get(f"{live.url}/api/auth/me", headers=bearer).status_code == 401
    # Found by the fuzzer: a password over 72 characters (where zxcvbn stops) was a 500. Such
    # a password is rated by its start: refused when that is weak, taken when it is strong.
    for long, status in (("a" * 500, 422), (new + "-" + "x" * 500, 200)):
        answer = client.put(
            "/api/auth/password",
            json={"current_password": new, "new_password": long},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == status, answer.text
        new = long if status == 200 else new
    # Wrong current passwords are budgeted like logins.
    codes = [
        client.put(
            "/api/auth/password",
            json={"current_password": "wrong-wrong-wrong", "new_password": new + "x"},
            headers={"X-CSRF-Token": csrf},
        ).status_code
        for _ in range(live.context.settings.login_attempts + 1)
    ]
    assert codes[-1] == 429 and set(codes[:-1]) == {403}
    # An admin lists and revokes another user's tokens.
    second = client.post("/api/tokens", json={"name": "t2"}, headers={"X-CSRF-Token": csrf})
    with live.client("admin") as admin:
        listed = admin.get(f"/api/users/{user}/tokens").json()
        assert [t["name"] for t in listed] == ["t2"]
        assert admin.delete(f"/api/users/{user}/tokens/{listed[0]['id']}").status_code == 200
        assert admin.get(f"/api/users/{user}/tokens").json() == []
    bearer = {"Authorization": f"Bearer {second.json()['token']}"}
    assert httpx.get(f"{live.url}/api/auth/me", headers=bearer).status_code == 401
    client.close()
    # Security headers, on the app and the API.
    for path in ("/", "/api/auth/me"):
        headers = httpx.get(f"{live.url}{path}").headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
    data_dir = live.context.settings.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_a_world_readable_data_directory_is_made_private(tmp_path: Path) -> None:
    from headwater.platform.data_dir import prepare_data_dir

    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / "secret.key").write_text("key")
    (folder / "secret.key").chmod(0o644)
    prepare_data_dir(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "secret.key").stat().st_mode) == 0o600
