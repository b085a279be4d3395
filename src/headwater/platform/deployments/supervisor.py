"""The local runner: one process per replica, kept at the desired count, restarted with backoff.

A single monitor thread reconciles what runs with what is desired a few times a second, so API
calls only record the wish and return. Each replica is its own session (process group): stopping
or killing it reaches every process it started. Stopping sends SIGTERM to the group, then SIGKILL
after the grace period. Replicas run in the server's sandbox (see ``sandbox.py``), under their
limits from the first instruction on; a process that left the group still ends with its replica
(its PID namespace, or its cgroup, goes). One deployment that cannot start never holds up others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from headwater.environment import METRICS_ADDRESS_ENV, STATUS_FILE_ENV
from headwater.platform.deployments.checkout import replica_dir
from headwater.platform.deployments.limits import Enforcer, Limits
from headwater.platform.deployments.logs import MAX_LINE, DeploymentLog
from headwater.platform.deployments.steps import (
    REPLICA_METRICS_ADDRESS,
    StepInfo,
    metrics_address,
    parse_steps,
)
from headwater.platform.sandbox import Jail, Sandbox, SandboxMode

log = logging.getLogger("headwater.platform.supervisor")

TICK_SECONDS = 0.2
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
HEALTHY_AFTER = 30.0  # a replica that ran this long restarts quickly again after a crash
READY_AFTER = 30.0  # a replica that never reports its partitions counts as ready after this
MIN_MASKED = 4  # shorter secret values are not masked in logs: they would mask ordinary text

ReplicaStatus = Literal["running", "backoff", "stopping"]


@dataclass(frozen=True)
class DeploymentSpec:
    """Everything needed to run one deployment's replicas (``env`` holds decrypted secrets)."""

    id: int
    name: str  # project/app, for log lines
    root: Path  # the deployment's folder: checkouts, logs, status files
    commit: str
    entrypoint: str
    bootstrap: str
    replicas: int
    limits: Limits
    env: dict[str, str] = field(repr=False)
    # Secret values among ``env``: masked in the deployment's log, as CI systems do.
    secret_values: frozenset[str] = field(default=frozenset(), repr=False)
    # Folders replicas may read besides their checkout: the project's model registry.
    readable: tuple[Path, ...] = ()

    def same_processes(self, other: DeploymentSpec) -> bool:
        """True if a replica of ``other`` may keep running for this spec (only the count moved)."""
        return (self.commit, self.entrypoint, self.bootstrap, self.limits, self.env) == (
            other.commit,
            other.entrypoint,
            other.bootstrap,
            other.limits,
            other.env,
        )


@dataclass(frozen=True)
class ReplicaInfo:
    index: int
    status: ReplicaStatus
    pid: int | None
    commit: str
    restarts: int
    started_at: datetime | None
    last_exit_code: int | None
    partitions: list[tuple[str, int]] | None  # None: the replica has not reported yet
    # Reported its partitions, or up READY_AFTER seconds without reporting (see status.py).
    ready: bool = False
    # From the same report: the app's consumer group and the topics its topology reads / writes.
    group: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    # Also from the report: where the replica serves its step counters, and the app's steps.
    metrics: str | None = None
    steps: tuple[StepInfo, ...] = ()


@dataclass(eq=False)  # compared by identity: each is one process slot
class _Replica:
    index: int
    spec: DeploymentSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: datetime | None = None
    started_mono: float = 0.0
    restarts: int = 0
    backoff: float = FIRST_BACKOFF
    next_start: float = 0.0
    last_exit_code: int | None = None
    kill_at: float | None = None  # set while stopping: SIGKILL the group at this time

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def status_file(self) -> Path:
        # A folder per replica: the only one of the deployment's folders its sandbox may write.
        return self.spec.root / "status" / f"replica-{self.index}" / "status.json"


class Supervisor:
    """Runs deployments' replicas as local processes; thread-safe, one per server."""

    def __init__(
        self,
        enforcer: Enforcer | None = None,
        grace_seconds: float = 10.0,
        python: str = sys.executable,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.enforcer = enforcer if enforcer is not None else Enforcer.detect()
        self.sandbox = sandbox if sandbox is not None else Sandbox(SandboxMode.none)
        self._grace = grace_seconds
        self._python = python
        self._lock = threading.RLock()
        self._desired: dict[int, DeploymentSpec] = {}
        self._replicas: dict[int, dict[int, _Replica]] = {}
        self._retiring: list[_Replica] = []  # replaced or scaled away, still stopping
        self._logs: dict[int, DeploymentLog] = {}
        # Per deployment, the latest report naming the app's group and topics: it stays known
        # while replicas restart and have not reported again.
        self._reported: dict[int, ReplicaInfo] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # The API other code calls
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._monitor, name="deployment-supervisor", daemon=True
            )
            self._thread.start()

    def deploy(self, spec: DeploymentSpec) -> None:
        """Run ``spec`` from now on: scale, replace changed replicas or start them all."""
        with self._lock:
            self.log(spec.id, spec.root)
            previous = self._desired.get(spec.id)
            self._desired[spec.id] = spec
            if previous is None or previous != spec:
                self.log(spec.id).write(
                    None,
                    f"deploying {spec.name} at {spec.commit[:12]} with {spec.replicas} "
                    f"replica(s); limits: {self.enforcer.describe(spec.limits)}",
                )
            self._reconcile()

    def stop(self, deployment_id: int) -> None:
        """Stop every replica of the deployment (its log stays readable)."""
        with self._lock:
            if self._desired.pop(deployment_id, None) is not None:
                self.log(deployment_id).write(None, "stopping every replica")
            self._reconcile()

    def forget(self, deployment_id: int) -> None:
        """Stop the deployment and drop its log (after the deployment is deleted)."""
        self.stop(deployment_id)
        with self._lock:
            found = self._logs.pop(deployment_id, None)
            self._reported.pop(deployment_id, None)
        if found is not None:
            found.close()

    def replicas(self, deployment_id: int) -> list[ReplicaInfo]:
        with self._lock:
            current = self._replicas.get(deployment_id, {})
            found = [self._info(r) for r in current.values()]
            found += [self._info(r) for r in self._retiring if r.spec.id == deployment_id]
            reported = next((r for r in found if r.group is not None), None)
            if reported is not None:
                self._reported[deployment_id] = reported
        return sorted(found, key=lambda r: (r.index, r.status != "running"))

    def last_reported(self, deployment_id: int) -> ReplicaInfo | None:
        """The latest report, as of the last ``replicas()`` call, that named the app's consumer
        group and topics; kept while every replica restarts (a crash, a redeploy)."""
        with self._lock:
            return self._reported.get(deployment_id)

    def metrics_addresses(self) -> dict[int, list[str]]:
        """Where each live replica that has reported serves its step counters, by deployment
        (replicas still stopping included: they count until they end)."""
        with self._lock:
            alive = [r for c in self._replicas.values() for r in c.values() if r.alive]
            alive += [r for r in self._retiring if r.alive]
            replicas = [(r.spec.id, r.status_file, r.started_at) for r in alive]
        found: dict[int, list[str]] = {}
        for deployment_id, status_file, started_at in replicas:
            report = _report(status_file, started_at)
            address = metrics_address(report.get("metrics")) if report else None
            if address is not None:
                found.setdefault(deployment_id, []).append(address)
        return found

    def log(self, deployment_id: int, root: Path | None = None) -> DeploymentLog:
        """The deployment's log; ``root`` creates it if the supervisor has none yet."""
        with self._lock:
            found = self._logs.get(deployment_id)
            if found is None:
                if root is None:
                    raise KeyError(deployment_id)
                found = self._logs[deployment_id] = DeploymentLog(root / "logs" / "output.log")
            return found

    def shutdown(self) -> None:
        """Stop every replica (SIGTERM, SIGKILL after the grace period) and the monitor."""
        with self._lock:
            self._desired.clear()
            self._reconcile()
        deadline = time.monotonic() + self._grace + 5
        while time.monotonic() < deadline:
            with self._lock:
                self._reap()
                if not self._retiring and not any(self._replicas.values()):
                    break
            time.sleep(TICK_SECONDS / 4)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            for found in self._logs.values():
                found.close()
            self._logs.clear()
        self.enforcer.close()

    # Reconciliation
    def _monitor(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                with self._lock:
                    self._reconcile()
            except Exception:  # the monitor must outlive any one bad replica
                log.exception("supervisor tick failed")

    def _reconcile(self) -> None:
        self._reap()
        for deployment_id in list(self._replicas):
            try:
                self._retire_unwanted(deployment_id)
            except Exception:  # one deployment's failure must not hold up the others
                log.exception("cannot reconcile deployment %s", deployment_id)
        for spec in list(self._desired.values()):
            try:
                self._start_wanted(spec)
            except Exception as exc:
                log.exception("cannot start replicas of deployment %s", spec.id)
                self.log(spec.id, spec.root).write(None, f"cannot start replicas: {exc}")

    def _retire_unwanted(self, deployment_id: int) -> None:
        spec = self._desired.get(deployment_id)
        current = self._replicas[deployment_id]
        for index in list(current):
            replica = current[index]
            if spec is None or index >= spec.replicas:
                self._retire(current, replica)
            elif not spec.same_processes(replica.spec) and not replica.alive:
                self._retire(current, replica)  # nothing runs: replace it at once
        if spec is not None:
            # A rolling replacement: one replica at a time, the next once the new one is
            # ready, so the group always keeps members (and a failing commit stops there).
            changed = [r for r in current.values() if not spec.same_processes(r.spec)]
            if changed and not self._rolling(spec, current):
                self._retire(current, min(changed, key=lambda r: r.index))
        if not current and spec is None:
            del self._replicas[deployment_id]

    def _start_wanted(self, spec: DeploymentSpec) -> None:
        now = time.monotonic()
        current = self._replicas.setdefault(spec.id, {})
        for index in range(spec.replicas):
            if index not in current:
                current[index] = _Replica(index, spec)
            replica = current[index]
            if spec.same_processes(replica.spec):
                replica.spec = spec  # only the count moved: the process keeps running
            due = replica.process is None and now >= replica.next_start
            if due and not self._index_busy(spec.id, index):
                self._launch(replica)

    def _retire(self, current: dict[int, _Replica], replica: _Replica) -> None:
        del current[replica.index]
        if replica.alive:
            self._terminate(replica)
            self._retiring.append(replica)
        else:
            self.enforcer.release(_cgroup_key(replica))

    def _rolling(self, spec: DeploymentSpec, current: dict[int, _Replica]) -> bool:
        """True while a replacement is under way: an old replica stops or a new one is not
        ready (joined its group, or alive for ``READY_AFTER`` seconds if it never reports)."""
        if any(r.spec.id == spec.id for r in self._retiring):
            return True
        for replica in current.values():
            if not spec.same_processes(replica.spec) or replica.index >= spec.replicas:
                continue
            if replica.process is None or not replica.alive:
                return True
            reported = _report(replica.status_file, replica.started_at) is not None
            if not _ready(replica, reported):
                return True
        return False

    def _index_busy(self, deployment_id: int, index: int) -> bool:
        # The replaced process of this index still stops: its files (state) may still be open.
        return any(
            r.spec.id == deployment_id and r.index == index and r.alive for r in self._retiring
        )

    def _reap(self) -> None:
        """Notice exited processes: schedule restarts, finish stops."""
        now = time.monotonic()
        for current in self._replicas.values():
            for replica in current.values():
                process = replica.process
                if process is None or process.poll() is None:
                    continue
                _kill_group(process.pid)  # leftovers of a crashed replica go with it
                ran = now - replica.started_mono
                replica.backoff = FIRST_BACKOFF if ran >= HEALTHY_AFTER else replica.backoff
                replica.last_exit_code = process.returncode
                replica.process = None
                replica.next_start = now + replica.backoff
                replica.restarts += 1
                self.enforcer.release(_cgroup_key(replica))
                self._note(
                    replica,
                    f"exited with code {process.returncode} after {ran:.1f} s; restarting in "
                    f"{replica.backoff:.0f} s",
                )
                replica.backoff = min(MAX_BACKOFF, replica.backoff * 2)
        still: list[_Replica] = []
        for replica in self._retiring:
            process = replica.process
            assert process is not None
            if process.poll() is not None:
                _kill_group(process.pid)
                self.enforcer.release(_cgroup_key(replica))
                self._note(replica, f"stopped (pid {process.pid}, code {process.returncode})")
                continue
            if replica.kill_at is not None and now >= replica.kill_at:
                _kill_group(process.pid)
                replica.kill_at = None
            still.append(replica)
        self._retiring = still

    def _note(self, replica: _Replica, text: str) -> None:
        found = self._logs.get(replica.spec.id)  # gone once the deployment is deleted
        if found is not None:
            found.write(replica.index, text)

    def _launch(self, replica: _Replica) -> None:
        """Start the replica's process, or note why it cannot start and retry after a backoff:
        whatever fails here (a checkout, a limit, a bad environment value), nothing is left
        running that the supervisor does not track."""
        spec = replica.spec
        output = self.log(spec.id, spec.root)
        try:
            process = self._start_process(replica)
        except Exception as exc:
            output.write(replica.index, f"cannot start: {exc}")
            replica.next_start = time.monotonic() + replica.backoff
            replica.backoff = min(MAX_BACKOFF, replica.backoff * 2)
            return
        replica.process = process
        replica.started_at = datetime.now(UTC)
        replica.started_mono = time.monotonic()
        replica.kill_at = None
        output.write(replica.index, f"started pid {process.pid} at {spec.commit[:12]}")
        assert process.stdout is not None
        threading.Thread(
            target=_copy_lines,
            args=(process.stdout, output, replica.index, spec.secret_values),
            name=f"replica-{spec.id}-{replica.index}-output",
            daemon=True,
        ).start()

    def _start_process(self, replica: _Replica) -> subprocess.Popen[bytes]:
        spec = replica.spec
        cwd = replica_dir(spec.root, spec.commit, replica.index)
        status = replica.status_file
        status.parent.mkdir(parents=True, exist_ok=True)
        if self.sandbox.mode is SandboxMode.none:
            # A sandboxed replica dies with the server (bubblewrap's --die-with-parent).
            _kill_leftover(status, spec.root)
        status.unlink(missing_ok=True)
        jail = Jail(workdir=cwd, writable=(status.parent,), readable=spec.readable)
        env = self.sandbox.environment(
            {
                **spec.env,
                "HEADWATER_BROKER": spec.bootstrap,
                "HEADWATER_REPLICA": str(replica.index),
                STATUS_FILE_ENV: str(status),
                # A free port each: the replica names the one it got in its status file.
                METRICS_ADDRESS_ENV: REPLICA_METRICS_ADDRESS,
                "PYTHONUNBUFFERED": "1",
                "MALLOC_ARENA_MAX": spec.env.get("MALLOC_ARENA_MAX", "2"),
            },
            jail,
        )
        command = [
            self._python,
            "-m",
            "headwater.cli",
            "-v",
            "run",
            spec.entrypoint,
            "--broker",
            spec.bootstrap,
        ]
        command = self.sandbox.command(command, jail)
        # Limits apply before the app's first instruction: a failure means it never starts.
        command = self.enforcer.command(command, _cgroup_key(replica), spec.limits, replica.index)
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: signals reach its children
        )

    def _terminate(self, replica: _Replica) -> None:
        assert replica.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(replica.process.pid, signal.SIGTERM)
        replica.kill_at = time.monotonic() + self._grace

    def _info(self, replica: _Replica) -> ReplicaInfo:
        alive = replica.alive
        status: ReplicaStatus = "running" if alive else "backoff"
        if replica in self._retiring:
            status = "stopping"
        pid = replica.process.pid if replica.process is not None and alive else None
        report = _report(replica.status_file, replica.started_at) if pid is not None else None
        return ReplicaInfo(
            index=replica.index,
            status=status,
            pid=pid,
            commit=replica.spec.commit,
            restarts=replica.restarts,
            started_at=replica.started_at if alive else None,
            last_exit_code=replica.last_exit_code,
            partitions=None
            if report is None
            else [(str(topic), int(partition)) for topic, partition in report.get("assigned", [])],
            ready=alive and status != "stopping" and _ready(replica, report is not None),
            group=None if report is None else report.get("group"),
            inputs=tuple(report.get("inputs", ())) if report else (),
            outputs=tuple(report.get("outputs", ())) if report else (),
            metrics=metrics_address(report.get("metrics")) if report else None,
            steps=parse_steps(report.get("steps")) if report else (),
        )


def _ready(replica: _Replica, reported: bool) -> bool:
    """An alive replica is ready once it reported, or after READY_AFTER seconds without."""
    return reported or time.monotonic() - replica.started_mono >= READY_AFTER


def _cgroup_key(replica: _Replica) -> str:
    return f"deployment-{replica.spec.id}-replica-{replica.index}"


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_leftover(status: Path, root: Path) -> None:
    """Kill a replica left running by a server that died without stopping it (the status file
    names its pid; its working folder proves it is ours and not a reused pid)."""
    try:
        pid = int(json.loads(status.read_text(encoding="utf-8"))["pid"])
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except (OSError, ValueError, KeyError, TypeError):
        return
    if cwd.is_relative_to(root):
        _kill_group(pid)


def _copy_lines(
    stream: IO[bytes], output: DeploymentLog, index: int, secrets: frozenset[str]
) -> None:
    with stream:
        while raw := stream.readline(MAX_LINE):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            if not raw.endswith(b"\n"):  # an overlong line: the rest is dropped, not buffered
                cut = 0
                while (more := stream.readline(MAX_LINE)) and not more.endswith(b"\n"):
                    cut += len(more)
                cut += len(more)
                text += f" [... {cut} more bytes cut]"
            output.write(index, mask(text, secrets))


def mask(text: str, secrets: frozenset[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first, so a secret that
    contains another is masked whole)."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= MIN_MASKED and value in text:
            text = text.replace(value, "***")
    return text


def _report(path: Path, started_at: datetime | None) -> dict[str, Any] | None:
    """The status file the replica started at ``started_at`` wrote, or None if it has not yet.
    (The file is removed before each start, and only that replica's sandbox can write it; its
    time guards against a process of an unsandboxed replica's earlier run.)"""
    try:
        if started_at is None or path.stat().st_mtime < started_at.timestamp() - 1:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
