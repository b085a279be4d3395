"""CPU, memory and process limits of user code: cgroups where the server may write them, else
resource limits and CPU affinity.

- ``cgroup-v2``: each replica gets its own child cgroup with ``memory.max``, ``cpu.max`` and
  ``pids.max``: the exact Kubernetes-like limit.
- ``cgroup-v1`` (hosts and containers with the v1 hierarchies, writable): the same through
  ``memory.limit_in_bytes``, ``cpu.cfs_quota_us`` and ``pids.max``. Both count every page the
  processes use, shared memory and files in their ``/tmp`` included.
- ``rlimit``: ``RLIMIT_DATA`` caps each process's private memory and CPU affinity pins it to
  ``ceil(cpu)`` cores; no process limit (``RLIMIT_NPROC`` counts every process of the user).
  ``RLIMIT_DATA`` rather than ``RLIMIT_AS``: a Python process with librdkafka reserves far more
  address space than it uses.

The limits are applied before the user's code starts, never after: the command is wrapped in a
small shell step that joins the cgroups (or in ``prlimit`` and ``taskset``) and then ``exec``s
it. If a limit cannot be applied, the wrapper exits with code 125 and the code never runs.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

CGROUP_MOUNT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000
DEFAULT_PROCESSES = 512  # processes and threads per replica: a fork bomb stops here
LIMIT_FAILED = 125  # the exit code of a wrapper that could not apply a limit
# Joins each cgroup given before `--`, then runs the command after it.
JOIN_SCRIPT = (
    'while [ "$1" != -- ]; do echo $$ > "$1" || '
    '{ echo "headwater: cannot apply the limits ($1); the app was not started" >&2; exit 125; }; '
    'shift; done; shift; exec "$@"'
)


class Enforcement(StrEnum):
    cgroup = "cgroup-v2"
    cgroup_v1 = "cgroup-v1"
    rlimit = "rlimit"
    none = "none"


@dataclass(frozen=True)
class Limits:
    cpu: float  # cores, 0.5 = half a core
    memory_bytes: int
    processes: int = DEFAULT_PROCESSES


class Enforcer:
    """Applies ``Limits`` to user processes by the one mechanism this host allows.

    ``roots`` maps each cgroup controller folder this server may write (``memory``, ``cpu``,
    ``pids``; one folder for all three with cgroup v2) to where its children go.
    """

    def __init__(self, mode: Enforcement, roots: dict[str, Path] | None = None) -> None:
        self.mode = mode
        self._roots = roots or {}

    @classmethod
    def detect(cls) -> Enforcer:
        """cgroup v2 or v1 if a child cgroup can be made here, else rlimits, else none."""
        name = f"headwater-{os.getpid()}-{uuid.uuid4().hex[:6]}"  # one per server: no clashes
        v2 = _writable_v2(name)
        if v2 is not None:
            return cls(Enforcement.cgroup, {"v2": v2})
        v1 = _writable_v1(name)
        if v1 is not None:
            return cls(Enforcement.cgroup_v1, v1)
        if shutil.which("prlimit") and shutil.which("taskset"):
            return cls(Enforcement.rlimit)
        return cls(Enforcement.none)

    def describe(self, limits: Limits) -> str:
        quota = int(limits.cpu * CPU_PERIOD_US)
        if self.mode is Enforcement.cgroup:
            return (
                f"cgroup v2: memory.max={limits.memory_bytes} cpu.max={quota} {CPU_PERIOD_US} "
                f"pids.max={limits.processes}"
            )
        if self.mode is Enforcement.cgroup_v1:
            return (
                f"cgroup v1: memory.limit_in_bytes={limits.memory_bytes} "
                f"cpu.cfs_quota_us={quota} pids.max={limits.processes}"
            )
        if self.mode is Enforcement.rlimit:
            return (
                f"RLIMIT_DATA={limits.memory_bytes} bytes, CPU affinity to "
                f"{_core_count(limits.cpu)} core(s); no process limit"
            )
        return "not enforced on this host (no writable cgroup, no prlimit)"

    def command(self, argv: list[str], key: str, limits: Limits, spread: int = 0) -> list[str]:
        """``argv`` wrapped so that it runs under ``limits``; ``key`` names its cgroups,
        ``spread`` picks cores. OSError if the cgroups cannot be made."""
        if self.mode is Enforcement.cgroup:
            group = self._roots["v2"] / key
            group.mkdir(exist_ok=True)
            (group / "memory.max").write_text(str(limits.memory_bytes))
            (group / "cpu.max").write_text(f"{int(limits.cpu * CPU_PERIOD_US)} {CPU_PERIOD_US}")
            with contextlib.suppress(FileNotFoundError):  # pids may not be delegated
                (group / "pids.max").write_text(str(limits.processes))
            return _join([group / "cgroup.procs"], argv)
        if self.mode is Enforcement.cgroup_v1:
            files = []
            for controller, settings in (
                ("memory", {"memory.limit_in_bytes": limits.memory_bytes}),
                (
                    "cpu",
                    {
                        "cpu.cfs_period_us": CPU_PERIOD_US,
                        "cpu.cfs_quota_us": int(limits.cpu * CPU_PERIOD_US),
                    },
                ),
                ("pids", {"pids.max": limits.processes}),
            ):
                if controller not in self._roots:
                    continue
                group = self._roots[controller] / key
                group.mkdir(exist_ok=True)
                for name, value in settings.items():
                    (group / name).write_text(str(value))
                files.append(group / "cgroup.procs")
            return _join(files, argv)
        if self.mode is Enforcement.rlimit:
            cores = sorted(os.sched_getaffinity(0))
            count = min(_core_count(limits.cpu), len(cores))
            chosen = sorted({cores[(spread + i) % len(cores)] for i in range(count)})
            memory = limits.memory_bytes
            return [
                "prlimit",
                f"--data={memory}:{memory}",
                "--core=0:0",
                "--",
                "taskset",
                "--cpu-list",
                ",".join(str(core) for core in chosen),
                *argv,
            ]
        return argv

    def release(self, key: str) -> None:
        """End every process left in the key's cgroups and remove them (after the main process
        exited): a process that detached from its group ends with its replica."""
        for root in self._roots.values():
            group = root / key
            if not group.is_dir():
                continue
            with contextlib.suppress(OSError):
                if (group / "cgroup.kill").exists():
                    (group / "cgroup.kill").write_text("1")
                else:
                    for pid in (group / "cgroup.procs").read_text().split():
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.kill(int(pid), signal.SIGKILL)
            # Still busy (processes dying): the next start of the key reuses it.
            with contextlib.suppress(OSError):
                group.rmdir()

    def close(self) -> None:
        """Remove this server's cgroup folders (once every replica is released)."""
        for root in self._roots.values():
            with contextlib.suppress(OSError):
                root.rmdir()


def _join(procs: list[Path], argv: list[str]) -> list[str]:
    return ["/bin/sh", "-c", JOIN_SCRIPT, "headwater-limits", *map(str, procs), "--", *argv]


def _core_count(cpu: float) -> int:
    return max(1, math.ceil(cpu))


def _writable_v2(name: str) -> Path | None:
    """A cgroup v2 folder for replicas with memory and cpu enabled for children, or None."""
    if not (CGROUP_MOUNT / "cgroup.controllers").exists():
        return None  # cgroup v1 or hybrid: /sys/fs/cgroup itself is not a cgroup v2 tree
    own = _own_cgroups().get("")
    if own is None:
        return None
    base = CGROUP_MOUNT / own.lstrip("/")
    try:
        available = set((base / "cgroup.controllers").read_text().split())
        if not {"memory", "cpu"} <= available:
            return None
        wanted = {"memory", "cpu"} | ({"pids"} & available)
        enabled = set((base / "cgroup.subtree_control").read_text().split())
        if not wanted <= enabled:
            # Refused (EBUSY) when the server's own cgroup holds processes and is not the root.
            (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
        root = base / name
        root.mkdir(exist_ok=True)
        # Children of ``root`` get the controllers; ``root`` itself holds no process.
        (root / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
        return root
    except OSError:
        return None


def _writable_v1(name: str) -> dict[str, Path] | None:
    """Per v1 controller (memory and cpu required, pids if present), a folder for replicas
    under the server's own cgroup, or None."""
    own = _own_cgroups()
    roots: dict[str, Path] = {}
    for controller in ("memory", "cpu", "pids"):
        mount = CGROUP_MOUNT / controller
        path = own.get(controller)
        if path is None or not (mount / "cgroup.procs").exists():
            continue
        root = mount / path.lstrip("/") / name
        try:
            root.mkdir(exist_ok=True)
        except OSError:
            continue
        roots[controller] = root
    if not {"memory", "cpu"} <= roots.keys():
        for root in roots.values():
            with contextlib.suppress(OSError):
                root.rmdir()
        return None
    return roots


def _own_cgroups() -> dict[str, str]:
    """The server's cgroup per v1 controller, and its v2 cgroup under ``""``."""
    found: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found
