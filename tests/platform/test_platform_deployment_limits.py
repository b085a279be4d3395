"""Limits of user code on real child processes: applied before the code runs, memory (shared
memory included) and processes capped, and a failure to apply them never leaves a process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka_helpers import wait_until

from headwater.platform.deployments.limits import Enforcement, Enforcer, Limits
from headwater.platform.deployments.supervisor import DeploymentSpec, Supervisor
from headwater.platform.sandbox import Sandbox

CHILD = """
import mmap, os, sys
print(len(os.sched_getaffinity(0)), flush=True)
try:
    block = bytearray(int(sys.argv[1]))
except MemoryError:
    print("MemoryError", flush=True)
else:
    print("allocated", flush=True)
"""
SHARED = """
import mmap, sys
size = int(sys.argv[1])
shared = mmap.mmap(-1, size, flags=mmap.MAP_SHARED)
for offset in range(0, size, 4096):  # every page, so each is really used
    shared[offset:offset + 1] = b"x"
print("kept", flush=True)
"""
FORKS = """
import os, sys, time
started = 0
for _ in range(int(sys.argv[1])):
    try:
        if os.fork() == 0:
            time.sleep(2)
            os._exit(0)
    except OSError:
        break
    started += 1
print(started, flush=True)
"""
SLEEPER = 'import time\nif __name__ == "__main__":\n    time.sleep(3600)  # {marker}\n'


def run(
    enforcer: Enforcer, limits: Limits, code: str, *args: str
) -> subprocess.CompletedProcess[str]:
    key = f"test-{uuid.uuid4().hex[:8]}"
    command = enforcer.command([sys.executable, "-c", code, *args], key, limits)
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    finally:
        enforcer.release(key)


def test_rlimit_caps_private_memory_and_pins_cores() -> None:
    enforcer = Enforcer(Enforcement.rlimit)
    cores = len(os.sched_getaffinity(0))
    capped = run(enforcer, Limits(cpu=0.5, memory_bytes=64 << 20), CHILD, str(256 << 20))
    assert capped.stdout.split() == ["1", "MemoryError"]
    roomy = run(enforcer, Limits(cpu=8, memory_bytes=1 << 30), CHILD, str(64 << 20))
    assert roomy.stdout.split() == [str(min(cores, 8)), "allocated"]


@pytest.fixture(scope="module")
def cgroups() -> Enforcer:
    enforcer = Enforcer.detect()
    if enforcer.mode not in (Enforcement.cgroup, Enforcement.cgroup_v1):
        pytest.skip(f"no writable cgroup here ({enforcer.mode}); rlimits cannot cap these")
    return enforcer


def test_a_cgroup_counts_shared_memory_and_caps_processes(cgroups: Enforcer) -> None:
    limits = Limits(cpu=1, memory_bytes=128 << 20, processes=20)
    small = run(cgroups, limits, SHARED, str(32 << 20))
    assert small.stdout.split() == ["kept"]
    # Shared memory escapes RLIMIT_DATA; a cgroup counts it, and the process is killed.
    large = run(cgroups, limits, SHARED, str(512 << 20))
    assert large.returncode == -9 and "kept" not in large.stdout
    forks = run(cgroups, limits, FORKS, "200")
    assert 0 < int(forks.stdout) < 20


def test_limits_are_described_for_the_api() -> None:
    text = Enforcer(Enforcement.rlimit).describe(Limits(cpu=1.5, memory_bytes=256 << 20))
    assert text == "RLIMIT_DATA=268435456 bytes, CPU affinity to 2 core(s); no process limit"
    assert Enforcer.detect().mode in (Enforcement.cgroup, Enforcement.cgroup_v1, Enforcement.rlimit)


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def spec(
    root: Path, ident: int, limits: Limits, env: dict[str, str] | None = None
) -> DeploymentSpec:
    """A deployment of a script that sleeps, checked out under ``root`` (no broker needed)."""
    commit = "c" * 40
    marker = f"sleeper_{uuid.uuid4().hex}"  # in the command line, as the entrypoint's name
    folder = root / "commits" / commit
    folder.mkdir(parents=True)
    (folder / f"{marker}.py").write_text(SLEEPER.format(marker=marker))
    return DeploymentSpec(
        id=ident,
        name=f"test/{marker}",
        root=root,
        commit=commit,
        entrypoint=f"{marker}.py",
        bootstrap="127.0.0.1:1",
        replicas=1,
        limits=limits,
        env=env or {},
    )


def log_of(supervisor: Supervisor, ident: int) -> str:
    return "\n".join(line.text for line in supervisor.log(ident).tail(1000))


def test_limits_that_cannot_apply_or_a_nul_byte_never_start_a_process_nor_stall_others(
    tmp_path: Path,
) -> None:
    enforcer = Enforcer.detect()
    # A limit this host refuses: a CPU quota under the kernel's minimum for cgroups, a memory
    # size prlimit cannot parse for rlimits.
    impossible = (
        Limits(cpu=0.00001, memory_bytes=256 << 20)
        if enforcer.mode in (Enforcement.cgroup, Enforcement.cgroup_v1)
        else Limits(cpu=0.5, memory_bytes=2**80)
    )
    fine = Limits(cpu=0.5, memory_bytes=256 << 20)
    supervisor = Supervisor(enforcer, grace_seconds=2, sandbox=Sandbox.detect("auto"))
    bad_limits = spec(tmp_path / "bad-limits", 1, impossible)
    bad_env = spec(tmp_path / "bad-env", 2, fine, env={"BROKEN": "a\x00b"})
    good = spec(tmp_path / "good", 3, fine)
    supervisor.start()
    try:
        for each in (bad_limits, bad_env, good):
            supervisor.deploy(each)
        wait_until(lambda: [r.status for r in supervisor.replicas(3)] == ["running"], timeout=30)
        wait_until(lambda: log_of(supervisor, 2).count("cannot start") >= 2, timeout=30)
        if enforcer.mode is Enforcement.rlimit:  # prlimit refuses, before the app starts
            wait_until(lambda: "exited with code 1 " in log_of(supervisor, 1), timeout=30)
        else:
            wait_until(lambda: log_of(supervisor, 1).count("cannot start") >= 2, timeout=30)
        # No process of the broken deployments ever ran, and restarts back off.
        for broken in (bad_limits, bad_env):
            assert processes_with(broken.name.split("/")[1]) == []
        assert len(processes_with(good.name.split("/")[1])) >= 1
        assert supervisor.replicas(2)[0].restarts == 0
        assert "NUL" in log_of(supervisor, 2) or "null" in log_of(supervisor, 2)
    finally:
        supervisor.shutdown()
    wait_until(lambda: not processes_with(good.name.split("/")[1]), timeout=30)
