"""Runs a preview child for one app of a project and returns what it reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from headwater.kafka.settings import KafkaSettings

# Environment variables the child inherits: none of the server's own (database URL, keys).
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR")
MAX_LOG_BYTES = 64 * 1024


@dataclass(frozen=True)
class PreviewRequest:
    files: dict[str, bytes]  # the project's files, path -> content
    entrypoint: str
    env: dict[str, str]
    settings: KafkaSettings
    records: int | None  # the last N records of each input topic ...
    seconds: float | None  # ... or what is produced during the next T seconds
    timeout: float
    max_outputs: int = 1000


def _logs(data: bytes) -> str:
    if len(data) > MAX_LOG_BYTES:
        data = b"[... earlier output cut ...]\n" + data[-MAX_LOG_BYTES:]
    return data.decode("utf-8", "backslashreplace")


def run_preview(request: PreviewRequest) -> dict[str, Any]:
    """The child's JSON result plus ``logs`` and ``timed_out``; kills the child at the timeout."""
    with tempfile.TemporaryDirectory(prefix="headwater-preview-") as folder:
        project = Path(folder) / "project"
        for path, data in request.files.items():
            target = project / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        result_path = Path(folder) / "result.json"
        payload = orjson.dumps(
            {
                "project": str(project),
                "entrypoint": request.entrypoint,
                "bootstrap_servers": request.settings.bootstrap_servers,
                "options": request.settings.options,  # on stdin: never in the process list
                "records": request.records,
                "seconds": request.seconds,
                "max_outputs": request.max_outputs,
                "result": str(result_path),
            }
        )
        env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
        env.update(request.env)
        env["PYTHONUNBUFFERED"] = "1"
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "headwater.platform.preview.child"],
            cwd=project,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout kills what it started too
        )
        timed_out = False
        try:
            output, _ = child.communicate(payload, timeout=request.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(child.pid, signal.SIGKILL)
            output, _ = child.communicate()
        result: dict[str, Any] = {
            "inputs": {},
            "outputs": {},
            "output_counts": {},
            "dead_letters": [],
            "error": None,
        }
        if result_path.exists():
            result.update(orjson.loads(result_path.read_bytes()))
        elif timed_out:
            result["error"] = {
                "stage": "timeout",
                "type": "TimeoutError",
                "message": f"the preview did not finish within {request.timeout:g} s and was "
                "stopped; read fewer records or raise the timeout",
                "traceback": "",
                "frames": [],
            }
        else:
            result["error"] = {
                "stage": "crash",
                "type": "ChildProcessError",
                "message": f"the preview process exited with code {child.returncode} before "
                "reporting; see the logs",
                "traceback": "",
                "frames": [],
            }
        result["logs"] = _logs(output or b"")
        result["timed_out"] = timed_out
        result.setdefault("duration_ms", round((time.monotonic() - started) * 1000))
        return result
