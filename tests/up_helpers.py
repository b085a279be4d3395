"""``headwater up`` as a real process, for the tests of `up` and of the browser on its platform.

``readme_up`` runs the README's first command exactly as written, ``./scripts/up.sh`` from the
repository root with the default data directory ``./headwater-data``; only the port is chosen
(``--port``). The password is the one ``up`` generates and prints, as a newcomer reads it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka_helpers import read_all, wait_until

from headwater.kafka.broker import free_port
from headwater.platform.demo_project import DEMO_PROJECT, SCORES_TOPIC

ROOT = Path(__file__).resolve().parents[1]
README_DATA_DIR = ROOT / "headwater-data"
# A developer's own ./headwater-data waits here while the test uses the path; put back after.
KEPT_ASIDE = ROOT / "headwater-data.kept-during-tests"
# Written before a test creates ./headwater-data: a run killed before its clean-up is noticed.
MADE_BY_TESTS = ROOT / "test-artifacts" / "headwater-data.made-by-tests"
ARTIFACTS = ROOT / "test-artifacts"
DEMO_APPS = ("demo-events", "demo-features", "demo-scorer")
# The server's own secrets: a newcomer has none set.
SERVER_ENV = ("HEADWATER_ADMIN_PASSWORD", "HEADWATER_SECRET_KEY")


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


def time_wait_ports() -> set[int]:
    """Local ports of IPv4 connections in TIME-WAIT, from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "06":  # TCP_TIME_WAIT
            found.add(int(fields[1].rsplit(":", 1)[1], 16))
    return found


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def logged_in(url: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        login = {"username": "admin", "password": password}
        response = client.post("/api/auth/login", json=login)
        assert response.status_code == 200, response.text
        yield client


@dataclass
class UpRun:
    """One ``up`` process and what its banner said."""

    command: list[str]
    cwd: Path
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] = field(init=False)
    password: str | None = None
    started: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_up(self, timeout: float = 240) -> None:
        """Until the server answers (set-up included); reads the banner's password once."""

        def ready() -> bool:
            assert self.process.poll() is None, f"up exited:\n{self.output()[-4000:]}"
            return healthy(self.url)

        wait_until(ready, timeout=timeout, interval=0.5)
        found = re.findall(r"password (\S+) \(shown once", self.output())
        if found:
            self.password = found[-1]
        assert self.password, f"no password in the banner:\n{self.output()[-4000:]}"

    def stop(self) -> None:
        """Ctrl-C: ``up`` exits 0 and leaves no process behind."""
        self.started = descendants(self.process.pid)
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=60) == 0, self.output()[-4000:]
        wait_until(lambda: not any(alive(pid) for pid in self.started), timeout=15)

    def kill(self) -> None:
        if self.process.poll() is None:
            leftovers = descendants(self.process.pid)
            self.process.kill()
            self.process.wait()
            for pid in leftovers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def up_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SERVER_ENV}


@contextmanager
def readme_data_dir() -> Iterator[Path]:
    """``./headwater-data`` for a test, as a newcomer's first run finds it: absent.

    A developer's own is moved aside and put back afterwards; the one the test made is removed,
    so the developer's next ``up`` sees what it saw before (a fresh start, or their data). A run
    killed half-way is repaired by the next one.
    """
    if KEPT_ASIDE.exists():
        if README_DATA_DIR.exists():
            assert MADE_BY_TESTS.exists(), f"both {README_DATA_DIR} and {KEPT_ASIDE} exist"
            shutil.rmtree(README_DATA_DIR)
        KEPT_ASIDE.rename(README_DATA_DIR)
    elif MADE_BY_TESTS.exists() and README_DATA_DIR.exists():
        shutil.rmtree(README_DATA_DIR)
    MADE_BY_TESTS.unlink(missing_ok=True)
    kept = README_DATA_DIR.exists()
    if kept:
        README_DATA_DIR.rename(KEPT_ASIDE)
    ARTIFACTS.mkdir(exist_ok=True)
    MADE_BY_TESTS.write_text("./headwater-data was made by a test and is removed after it\n")
    try:
        yield README_DATA_DIR
    finally:
        shutil.rmtree(README_DATA_DIR, ignore_errors=True)
        if kept:
            KEPT_ASIDE.rename(README_DATA_DIR)
        MADE_BY_TESTS.unlink(missing_ok=True)


@contextmanager
def readme_up() -> Iterator[UpRun]:
    """``./scripts/up.sh --port PORT`` from the repository root, the default data directory."""
    port = free_port()
    with readme_data_dir():
        run = UpRun(
            ["./scripts/up.sh", "--port", str(port)],
            ROOT,
            up_env(),
            port,
            ARTIFACTS / f"up-{port}.log",
        )
        run.log.unlink(missing_ok=True)
        run.start()
        try:
            yield run
        finally:
            run.kill()


def up_command(*args: str) -> list[str]:
    """``headwater up`` with the test's Python (for tests that pass their own options)."""
    return [sys.executable, "-m", "headwater.cli", "up", *args]


def demo_statuses(client: httpx.Client) -> dict[str, str]:
    deployments = client.get(f"/api/projects/{DEMO_PROJECT}/deployments").json()
    return {d["app"]: d["status"] for d in deployments}


def valid_scores(bootstrap: str) -> list[dict[str, Any]]:
    """The records of demo-scores if there are some and each holds a valid score, else []."""
    scores = [orjson.loads(m.value()) for m in read_all(bootstrap, [SCORES_TOPIC])]
    for score in scores:
        assert isinstance(score["customer_id"], str) and score["customer_id"]
        assert 0.0 <= score["score"] <= 1.0
        assert score["flagged"] is (score["score"] >= 0.5)
        assert score["orders"] >= 1 and score["spend"] > 0
    return scores


def check_demo_runs(url: str, password: str, timeout: float = 180) -> str:
    """Every demo deployment reports running and demo-scores holds valid scores; returns the
    local broker's address."""
    with logged_in(url, password) as client:
        assert DEMO_PROJECT in [p["name"] for p in client.get("/api/projects").json()]
        deadline = time.monotonic() + timeout
        try:
            wait_until(
                lambda: demo_statuses(client) == dict.fromkeys(DEMO_APPS, "running"),
                timeout=timeout,
                interval=1,
            )
        except AssertionError:
            raise AssertionError(f"demo statuses: {demo_statuses(client)}") from None
        bootstrap: str = client.get("/api/clusters/default").json()["bootstrap_servers"]
    left = max(30.0, deadline - time.monotonic())
    wait_until(lambda: valid_scores(bootstrap), timeout=left, interval=1)
    return bootstrap
