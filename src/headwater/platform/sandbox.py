"""User code in a sandbox: previews and replicas see their own folder and the Python
environment, nothing else of the server.

With bubblewrap (``bwrap``, from the distribution's package) each run gets new mount, PID, IPC,
UTS, cgroup and user namespaces and no capabilities. Its file system is built from nothing:
the system's ``/usr``, a few files of ``/etc`` (name resolution, certificates, time zones), the
Python installation and the ``headwater`` package, all read-only; its own folder read-write; a
small private ``/tmp``; its own ``/proc``, where only its processes exist. The platform's data
directory (database, key file, other projects, logs) is not in it, nor are the server's
environment, command line or processes. The network is shared: apps must reach their brokers.

When the sandbox's first process exits, the kernel ends every process of its PID namespace, so
a process that detached (``setsid``, a double fork) cannot outlive its replica or preview.

Without bubblewrap (``HEADWATER_SANDBOX=none``, or ``auto`` on a host without it) user code runs
as a plain child process with a minimal environment: it is then as trusted as the server. See
docs/security.md.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import headwater
from headwater.errors import ConfigError
from headwater.platform.settings import SANDBOX_ENV

log = logging.getLogger("headwater.platform.sandbox")

SANDBOX_CHOICES = ("auto", "bubblewrap", "none")
# The only variables of the server's environment a child sees; all else it gets is set for it
# (its app's env and secrets, the cluster's options, the broker's address).
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
# What of /etc a Python app needs: name resolution, TLS certificates, time zones, libraries.
ETC_ENTRIES = (
    "resolv.conf",
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "gai.conf",
    "services",
    "protocols",
    "localtime",
    "timezone",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "crypto-policies",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "mime.types",
    "passwd",
    "group",
    "os-release",
)
SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
TMP_BYTES = 256 << 20  # the size of a sandbox's /tmp and /dev/shm (memory, counted by cgroups)


class SandboxMode(StrEnum):
    bubblewrap = "bubblewrap"
    none = "none"


@dataclass(frozen=True)
class Jail:
    """One sandboxed run: ``workdir`` is its working folder and HOME, read-write; ``writable``
    are more read-write folders (status files, the preview's result); ``readable`` are
    folders it may only read (its project's model registry)."""

    workdir: Path
    writable: tuple[Path, ...] = ()
    readable: tuple[Path, ...] = ()


class Sandbox:
    """Builds the command lines and environments of user code for one server."""

    def __init__(self, mode: SandboxMode, hidden: tuple[Path, ...] = ()) -> None:
        self.mode = mode
        self._hidden = tuple(path.resolve() for path in hidden)
        self._bwrap = shutil.which("bwrap") or "bwrap"

    @classmethod
    def detect(cls, setting: str, hidden: tuple[Path, ...] = ()) -> Sandbox:
        """The sandbox ``setting`` asks for: ``bubblewrap`` (an error if it cannot run here),
        ``none``, or ``auto``: bubblewrap when it works on this host."""
        if setting not in SANDBOX_CHOICES:
            choices = ", ".join(SANDBOX_CHOICES)
            raise ConfigError(f"{SANDBOX_ENV}={setting!r} is not a sandbox; use one of {choices}")
        if setting == "none":
            return cls(SandboxMode.none, hidden)
        sandbox = cls(SandboxMode.bubblewrap, hidden)
        problem = sandbox.probe()
        if problem is None:
            return sandbox
        if setting == "bubblewrap":
            raise ConfigError(
                f"the bubblewrap sandbox cannot run here ({problem}); install it (Debian: apt-get "
                f"install bubblewrap), allow user namespaces, or set {SANDBOX_ENV}=none"
            )
        log.warning(
            "user code runs WITHOUT a sandbox: %s; install bubblewrap (apt-get install "
            "bubblewrap) to confine previews and deployments",
            problem,
        )
        return cls(SandboxMode.none, hidden)

    def probe(self) -> str | None:
        """Why the bubblewrap sandbox cannot run here, or None when it can."""
        if shutil.which("bwrap") is None:
            return "bwrap is not installed"
        try:
            done = subprocess.run(
                self.command([sys.executable, "-c", "pass"], Jail(Path("/"))),
                env=self.environment({}, Jail(Path("/"))),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)
        if done.returncode != 0:
            return done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        return None

    def environment(self, env: dict[str, str], jail: Jail) -> dict[str, str]:
        """The child's whole environment: a few of the server's variables, then ``env``."""
        base = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        base.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        base["HOME"] = str(jail.workdir)
        if self.mode is SandboxMode.bubblewrap:
            base["TMPDIR"] = "/tmp"
        return {**base, **env}

    def command(self, argv: list[str], jail: Jail) -> list[str]:
        """``argv`` run inside the sandbox, in ``jail.workdir``."""
        if self.mode is SandboxMode.none:
            return argv
        args = [
            self._bwrap,
            "--unshare-all",
            "--unshare-user",
            "--share-net",
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--hostname",
            "headwater",
        ]
        readonly = [Path("/usr")]
        args += ["--ro-bind", "/usr", "/usr"]
        for name in SYSTEM_LINKS:
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
                readonly.append(path)
        for name in ETC_ENTRIES:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        args += ["--size", str(TMP_BYTES), "--tmpfs", "/dev/shm"]
        # After the private /tmp: an environment or checkout under /tmp stays visible.
        for path in _python_paths():
            if not any(path.is_relative_to(done) for done in readonly):
                args += ["--ro-bind", str(path), str(path)]
                readonly.append(path)
        for hidden in self._hidden:  # in case the data directory sits under a path bound above
            if any(hidden.is_relative_to(path) for path in readonly):
                args += ["--tmpfs", str(hidden)]
        for path in (jail.workdir, *jail.writable):
            if path != Path("/"):
                args += ["--bind", str(path), str(path)]
        for path in jail.readable:
            args += ["--ro-bind", str(path), str(path)]
        args += ["--chdir", str(jail.workdir), "--", *argv]
        return args

    def describe(self) -> str:
        if self.mode is SandboxMode.bubblewrap:
            return "bubblewrap: own file system, processes and user namespace, no capabilities"
        return "none: user code runs as the server's user and can read what the server can"


def _python_paths() -> list[Path]:
    """The Python installation, the environment and the ``headwater`` package (which may be
    installed in development mode, outside the environment)."""
    found: list[Path] = []
    for text in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix):
        found.append(Path(text).resolve())
    found.append(Path(sys.executable).resolve().parent)
    found.append(Path(headwater.__file__).resolve().parent)
    unique: list[Path] = []
    for path in sorted(set(found), key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(kept) for kept in unique):
            unique.append(path)
    return unique
