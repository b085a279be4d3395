"""CPU and memory limits of replica processes: cgroup v2 where the server may write it, else
resource limits and CPU affinity.

With cgroup v2 each replica gets its own child cgroup with ``memory.max`` and ``cpu.max``: the
exact Kubernetes-like limit. Without it (cgroup v1 hosts, containers without a writable cgroup),
``RLIMIT_DATA`` caps the process's private memory and CPU affinity pins it to ``ceil(cpu)`` cores.
``RLIMIT_DATA`` rather than ``RLIMIT_AS``: a Python process with librdkafka reserves about 1 GB of
address space to use 90 MB, so an address-space cap would kill apps that fit their memory.
Limits are applied by the parent right after the child starts (no ``preexec_fn``, which is unsafe
in a threaded server).
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

CGROUP_MOUNT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


class Enforcement(StrEnum):
    cgroup = "cgroup-v2"
    rlimit = "rlimit"


@dataclass(frozen=True)
class Limits:
    cpu: float  # cores, 0.5 = half a core
    memory_bytes: int


class Enforcer:
    """Applies ``Limits`` to replica processes by the one mechanism this host allows."""

    def __init__(self, cgroup_root: Path | None) -> None:
        self._root = cgroup_root

    @classmethod
    def detect(cls, name: str = "headwater-replicas") -> Enforcer:
        """cgroup v2 if a child cgroup with the memory and cpu controllers can be made here."""
        root = _writable_cgroup(name)
        return cls(root)

    @property
    def mode(self) -> Enforcement:
        return Enforcement.cgroup if self._root is not None else Enforcement.rlimit

    def describe(self, limits: Limits) -> str:
        if self._root is not None:
            quota = int(limits.cpu * CPU_PERIOD_US)
            return f"cgroup v2: memory.max={limits.memory_bytes} cpu.max={quota} {CPU_PERIOD_US}"
        return (
            f"RLIMIT_DATA={limits.memory_bytes} bytes, CPU affinity to "
            f"{_core_count(limits.cpu)} core(s)"
        )

    def apply(self, pid: int, key: str, limits: Limits, spread: int = 0) -> None:
        """Limit the running process ``pid``; ``key`` names its cgroup, ``spread`` picks cores."""
        if self._root is not None:
            group = self._root / key
            group.mkdir(exist_ok=True)
            (group / "memory.max").write_text(str(limits.memory_bytes))
            (group / "cpu.max").write_text(f"{int(limits.cpu * CPU_PERIOD_US)} {CPU_PERIOD_US}")
            (group / "cgroup.procs").write_text(str(pid))
            return
        resource.prlimit(pid, resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        cores = sorted(os.sched_getaffinity(0))
        count = min(_core_count(limits.cpu), len(cores))
        chosen = {cores[(spread + i) % len(cores)] for i in range(count)}
        os.sched_setaffinity(pid, chosen)

    def release(self, key: str) -> None:
        """Remove the replica's cgroup once its process has exited (nothing to do otherwise)."""
        if self._root is not None:
            # Still busy or gone: the next start of the key reuses it.
            with contextlib.suppress(OSError):
                (self._root / key).rmdir()


def _core_count(cpu: float) -> int:
    return max(1, math.ceil(cpu))


def _writable_cgroup(name: str) -> Path | None:
    """A cgroup v2 folder for replicas with memory and cpu enabled for children, or None."""
    if not (CGROUP_MOUNT / "cgroup.controllers").exists():
        return None  # cgroup v1 or hybrid: /sys/fs/cgroup itself is not a cgroup v2 tree
    own = _own_cgroup()
    if own is None:
        return None
    base = CGROUP_MOUNT / own.lstrip("/")
    try:
        available = (base / "cgroup.controllers").read_text().split()
        if not {"memory", "cpu"} <= set(available):
            return None
        enabled = (base / "cgroup.subtree_control").read_text().split()
        if not {"memory", "cpu"} <= set(enabled):
            # Refused (EBUSY) when the server's own cgroup holds processes and is not the root.
            (base / "cgroup.subtree_control").write_text("+memory +cpu")
        root = base / name
        root.mkdir(exist_ok=True)
        # Children of ``root`` get the controllers; ``root`` itself holds no process.
        (root / "cgroup.subtree_control").write_text("+memory +cpu")
        return root
    except OSError:
        return None


def _own_cgroup() -> str | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return line[3:]
    except OSError:
        return None
    return None
