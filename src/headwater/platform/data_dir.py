"""The data directory: created private, and made private again at every start.

It holds the database (SQLite), the key that encrypts secrets, the projects' repositories and
the deployments' logs: only the server's user may enter it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("headwater.platform.data_dir")
PRIVATE_FILES = ("secret.key", "headwater.db", "headwater.db-wal", "headwater.db-shm")


def prepare_data_dir(folder: Path) -> None:
    """Create ``folder`` (mode 0700) or take group and other access away from an existing one,
    and from the key and database files in it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _private(folder, 0o700)
    for name in PRIVATE_FILES:
        path = folder / name
        if path.exists():
            _private(path, 0o600)


def _private(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077 == 0:
        return
    with contextlib.suppress(PermissionError):  # not ours: say so rather than fail
        os.chmod(path, current & ~0o077 | (mode & 0o700))
        log.warning("%s was readable by other users: made it private (mode %o)", path, mode)
        return
    log.warning("%s is readable by other users and not ours to change: chmod go-rwx it", path)
