"""``headwater up`` as a real process: its own broker, the server, the demo with data flowing,
and nothing left running after Ctrl-C; a second start on the same data directory."""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from kafka_helpers import read_all, wait_until

from headwater.errors import ConfigError
from headwater.kafka.broker import free_port
from headwater.platform.demo_project import DEMO_PROJECT, DEMO_TOPICS, SCORES_TOPIC
from headwater.platform.projects.templates import template_files
from headwater.platform.settings import PlatformSettings
from headwater.platform.up import UpOptions, listen

PASSWORD = "up-admin-password-1"
UP = (sys.executable, "-m", "headwater.cli", "up")
APPS = ("demo-events", "demo-features", "demo-scorer")


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from the parent ids in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, p in parents.items() if p == parent}
        found |= children
        todo.extend(children)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextmanager
def headwater_up(data_dir: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``headwater up`` on a free port; yields the process and the server's URL."""
    port = free_port()
    env = {**os.environ, "HEADWATER_ADMIN_PASSWORD": PASSWORD}
    with open(data_dir.parent / f"up-{port}.log", "wb") as output:
        process = subprocess.Popen(
            [*UP, "--data-dir", str(data_dir), "--port", str(port), *extra],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process, f"http://127.0.0.1:{port}"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def logged_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as client:
        login = {"username": "admin", "password": PASSWORD}
        response = client.post("/api/auth/login", json=login)
        assert response.status_code == 200, response.text
        yield client


def running_replicas(client: httpx.Client, deployment_id: int) -> int:
    replicas = client.get(f"/api/deployments/{deployment_id}/replicas").json()
    return sum(r["status"] == "running" for r in replicas)


def check_demo_runs(url: str) -> str:
    """The demo's three apps run and scores arrive; returns the broker's address."""
    wait_until(lambda: healthy(url), timeout=60, interval=0.2)
    with logged_in(url) as client:
        assert [p["name"] for p in client.get("/api/projects").json()] == [DEMO_PROJECT]
        assert [u["username"] for u in client.get("/api/users").json()] == ["admin"]
        deployments = client.get(f"/api/projects/{DEMO_PROJECT}/deployments").json()
        assert sorted(d["app"] for d in deployments) == list(APPS)
        assert {d["desired_state"] for d in deployments} == {"running"}
        for deployment in deployments:
            wait_until(lambda d=deployment: running_replicas(client, d["id"]) == 1, timeout=30)
        bootstrap: str = client.get("/api/clusters/default").json()["bootstrap_servers"]
    scores = wait_until(lambda: read_all(bootstrap, [SCORES_TOPIC]), timeout=60, interval=0.5)
    value = scores[0].value()
    assert b'"score"' in value and b'"customer_id"' in value
    return bootstrap


def stop_and_check_nothing_is_left(process: subprocess.Popen[bytes]) -> None:
    started = descendants(process.pid)
    assert len(started) >= 4, started  # the broker and one replica per app, at least
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    wait_until(lambda: not any(alive(pid) for pid in started), timeout=10)


def test_the_demo_chain_runs_and_up_creates_the_topics_its_apps_declare(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for path, data in template_files("demo", DEMO_PROJECT).items():
        (tmp_path / path).write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path))
    run = {
        name: runpy.run_path(str(tmp_path / f"{name}.py"), run_name="demo")
        for name in ("events", "features", "scorer")
    }
    declared = {run["events"]["ORDERS"].name: run["events"]["ORDERS"].partitions}
    for name in ("features", "scorer"):
        app = run[name]["app"]
        declared |= {t.name: t.partitions for t in [*app.input_topics, *app.output_topics]}
    assert declared == {t.name: t.partitions for t in DEMO_TOPICS}
    orders = [
        {"customer_id": "c1", "price": 300.0, "quantity": 3, "event_time": 1_000},
        {"customer_id": "c2", "price": 2.0, "quantity": 1, "event_time": 2_000},
    ]
    features = run["features"]["app"].test({"demo-orders": orders}).outputs["demo-features"]
    scored = run["scorer"]["app"].test({"demo-features": features.to_dict("records")})
    flagged = scored.outputs[SCORES_TOPIC].set_index("customer_id")["flagged"].to_dict()
    assert flagged == {"c1": True, "c2": False}


def test_up_serves_the_demo_with_data_flowing_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with headwater_up(data_dir) as (process, url):
        check_demo_runs(url)
        stop_and_check_nothing_is_left(process)
    # A second start: the same admin and project, the topics made again on the new broker.
    with headwater_up(data_dir) as (process, url):
        check_demo_runs(url)
        stop_and_check_nothing_is_left(process)


def test_up_with_a_given_broker_and_no_demo_creates_no_project(
    tmp_path: Path, bootstrap: str
) -> None:
    with headwater_up(tmp_path / "data", "--broker", bootstrap, "--no-demo") as (process, url):
        wait_until(lambda: healthy(url), timeout=60, interval=0.2)
        with logged_in(url) as client:
            assert client.get("/api/projects").json() == []
            cluster = client.get("/api/clusters/default").json()
            assert cluster["bootstrap_servers"] == bootstrap
        assert descendants(process.pid) == set()  # no broker of its own
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_up_refuses_a_port_in_use_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*UP, "--data-dir", str(tmp_path / "d"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert not (tmp_path / "d").exists()


def time_wait_ports() -> set[int]:
    """Local ports of IPv4 connections in TIME-WAIT, from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "06":  # TCP_TIME_WAIT
            found.add(int(fields[1].rsplit(":", 1)[1], 16))
    return found


def test_the_port_check_accepts_a_port_whose_last_connections_linger_in_time_wait() -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server closes first, as a stopping server does: its end waits
        client.close()
    assert port in time_wait_ports()
    listener = listen("127.0.0.1", port)  # what a restart right after Ctrl-C does
    try:
        assert listener.getsockname()[1] == port
        # A port another server listens on is still refused, naming the option to change.
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            listen("127.0.0.1", port)
    finally:
        listener.close()


def test_the_data_directory_is_absolute_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # Replicas run in checkouts of their own: a relative path would point into each of them.
    assert PlatformSettings(data_dir=Path("headwater-data")).data_dir == tmp_path / "headwater-data"
    assert UpOptions(Path("headwater-data")).data_dir == tmp_path / "headwater-data"
    assert PlatformSettings(data_dir=Path("a/../b")).projects_dir == tmp_path / "b" / "projects"
