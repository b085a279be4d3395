"""Replica limits on a real child process: memory capped, CPU pinned (the fallback to cgroups)."""

from __future__ import annotations

import os
import subprocess
import sys

from headwater.platform.deployments.limits import Enforcement, Enforcer, Limits

CHILD = """
import os, sys
sys.stdin.readline()  # wait until the parent has applied the limits
print(len(os.sched_getaffinity(0)), flush=True)
try:
    block = bytearray(int(sys.argv[1]))
except MemoryError:
    print("MemoryError", flush=True)
else:
    print("allocated", flush=True)
"""


def run_limited(limits: Limits, allocate: int) -> list[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(allocate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    enforcer = Enforcer(None)
    assert enforcer.mode is Enforcement.rlimit
    enforcer.apply(child.pid, "test", limits)
    out, _ = child.communicate("go\n", timeout=30)
    return out.split()


def test_rlimit_caps_memory_and_affinity_pins_cores() -> None:
    cores = len(os.sched_getaffinity(0))
    capped = run_limited(Limits(cpu=0.5, memory_bytes=64 << 20), allocate=256 << 20)
    assert capped == ["1", "MemoryError"]
    roomy = run_limited(Limits(cpu=8, memory_bytes=1 << 30), allocate=64 << 20)
    assert roomy == [str(min(cores, 8)), "allocated"]


def test_limits_are_described_for_the_api() -> None:
    text = Enforcer(None).describe(Limits(cpu=1.5, memory_bytes=256 << 20))
    assert text == "RLIMIT_DATA=268435456 bytes, CPU affinity to 2 core(s)"
    assert Enforcer.detect().mode in (Enforcement.cgroup, Enforcement.rlimit)
