"""A status file for supervisors: the partitions this process owns, rewritten on each rebalance.

Set ``HEADWATER_STATUS_FILE`` to a path and the runner keeps it up to date as JSON
``{"pid": ..., "group": ..., "assigned": [["topic", 0], ...], "inputs": [...], "outputs": [...],
"metrics": "HOST:PORT" or null, "steps": [...], "updated": unix-seconds}``. A supervisor running
several replicas of one app reads it to show which replica owns what, and which topics the app
reads and writes (repartition topics and the dead-letter topic included) for the pipeline graph.
``metrics`` is where the app serves its step counters (see ``steps.py``), ``steps`` its steps
(``id``, ``kind``, ``label``, ``inputs``): what the platform draws inside a deployment.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from headwater.environment import STATUS_FILE_ENV as STATUS_FILE_ENV


class StatusFile:
    """Writes the assignment where ``HEADWATER_STATUS_FILE`` says; does nothing without it."""

    def __init__(
        self,
        group: str,
        path: str | None = None,
        inputs: list[str] | None = None,
        outputs: list[str] | None = None,
        metrics: str | None = None,
        steps: list[dict[str, Any]] | None = None,
    ) -> None:
        chosen = path if path is not None else os.environ.get(STATUS_FILE_ENV)
        self.path = Path(chosen) if chosen else None
        self.group = group
        self.inputs = sorted(set(inputs or []))
        self.outputs = sorted(set(outputs or []))
        self.metrics = metrics
        self.steps = list(steps or [])

    def write(self, assigned: set[tuple[str, int]]) -> None:
        if self.path is None:
            return
        data = {
            "pid": os.getpid(),
            "group": self.group,
            "assigned": sorted([topic, partition] for topic, partition in assigned),
            "inputs": self.inputs,
            "outputs": self.outputs,
            "metrics": self.metrics,
            "steps": self.steps,
            "updated": time.time(),
        }
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, self.path)  # readers never see half a file
