"""``headwater up``: the demo's apps and topics, a given broker, the port check and absolute
paths. The README's own command, the demo flowing and a restart right after Ctrl-C are tested in
tests/web/test_web_up.py, with the browser on the platform it serves."""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka_helpers import wait_until
from up_helpers import descendants, healthy, logged_in, time_wait_ports, up_command

from headwater.errors import ConfigError
from headwater.kafka.broker import free_port
from headwater.platform.demo_project import DEMO_PROJECT, DEMO_TOPICS, SCORES_TOPIC
from headwater.platform.projects.templates import template_files
from headwater.platform.settings import PlatformSettings
from headwater.platform.up import UpOptions, listen

PASSWORD = "up-admin-password-1"


@contextmanager
def headwater_up(data_dir: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``headwater up`` on a free port with a data directory of the test's; yields the process
    and the server's URL. (The README's own command is tested in tests/web/test_web_up.py.)"""
    port = free_port()
    env = {**os.environ, "HEADWATER_ADMIN_PASSWORD": PASSWORD}
    with open(data_dir.parent / f"up-{port}.log", "wb") as output:
        process = subprocess.Popen(
            [*up_command("--data-dir", str(data_dir), "--port", str(port)), *extra],
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


def test_up_with_a_given_broker_and_no_demo_creates_no_project(
    tmp_path: Path, bootstrap: str
) -> None:
    with headwater_up(tmp_path / "data", "--broker", bootstrap, "--no-demo") as (process, url):
        wait_until(lambda: healthy(url), timeout=60, interval=0.2)
        with logged_in(url, PASSWORD) as client:
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
            up_command("--data-dir", str(tmp_path / "d"), "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert not (tmp_path / "d").exists()


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
