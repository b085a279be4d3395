"""Runs a preview child for one app of a project and returns what it reported.

The child runs in the server's sandbox, under the app's limits, with only the app's own
environment: no variable of the server's, no secret.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from headwater.kafka.settings import KafkaSettings
from headwater.models.registry import MODELS_DIR_ENV
from headwater.platform.deployments.limits import Enforcement, Enforcer, Limits
from headwater.platform.projects.paths import inside
from headwater.platform.sandbox import Jail, Sandbox, SandboxMode

MAX_LOG_BYTES = 64 * 1024
MAX_RESULT_BYTES = 64 << 20
RESULT_KEYS = ("inputs", "outputs", "output_counts", "dead_letters", "error", "duration_ms")


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
    sandbox: Sandbox = field(default_factory=lambda: Sandbox(SandboxMode.none))
    limits: Limits | None = None
    enforcer: Enforcer = field(default_factory=lambda: Enforcer(Enforcement.none))
    # The project's model registry, read-only: where models:/NAME@ALIAS resolves (as deployed).
    models_dir: Path | None = None


def _logs(data: bytes) -> str:
    if len(data) > MAX_LOG_BYTES:
        data = b"[... earlier output cut ...]\n" + data[-MAX_LOG_BYTES:]
    return data.decode("utf-8", "backslashreplace")


def _read_result(path: Path) -> dict[str, Any] | None:
    """What the child reported, or None: it runs user code, so its file is checked."""
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return None
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    return {key: data[key] for key in RESULT_KEYS if key in data}


def run_preview(request: PreviewRequest) -> dict[str, Any]:
    """The child's JSON result plus ``logs`` and ``timed_out``; kills the child at the timeout."""
    with tempfile.TemporaryDirectory(prefix="headwater-preview-") as folder:
        project = Path(folder) / "project"
        project.mkdir()
        targets = {path: inside(project, path) for path in request.files}  # all checked first
        for path, data in request.files.items():
            targets[path].parent.mkdir(parents=True, exist_ok=True)
            targets[path].write_bytes(data)
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
        readable = () if request.models_dir is None else (request.models_dir,)
        jail = Jail(workdir=project, writable=(Path(folder),), readable=readable)
        models_env = {} if request.models_dir is None else {MODELS_DIR_ENV: str(request.models_dir)}
        env = request.sandbox.environment(
            {**request.env, **models_env, "PYTHONUNBUFFERED": "1"}, jail
        )
        command = request.sandbox.command(
            [sys.executable, "-m", "headwater.platform.preview.child"], jail
        )
        key = f"preview-{uuid.uuid4().hex[:12]}"
        if request.limits is not None:
            command = request.enforcer.command(command, key, request.limits)
        started = time.monotonic()
        child = subprocess.Popen(
            command,
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
        finally:
            request.enforcer.release(key)
        result: dict[str, Any] = {
            "inputs": {},
            "outputs": {},
            "output_counts": {},
            "dead_letters": [],
            "error": None,
        }
        reported = _read_result(result_path)
        if reported is not None:
            result.update(reported)
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
