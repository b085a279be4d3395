"""The order the suite's files start in, longest first, and the per-file times of a run.

The suite runs in two processes a file at a time (``--dist loadfile``), each process taking the
next file when it runs short. A long file taken last ends the run alone while the other process
idles, so the files measured long start first (``--no-loadscope-reorder`` keeps this order)
and the many short ones fill in at the end. The times are seconds measured on two cores while the
suite ran; ``test-artifacts/file-seconds.json``, written after every run, gives fresh ones.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

# Seconds per file (setup, call and teardown of all its tests), from a run of the whole suite or
# of these files one at a time on a busy two-core machine, whichever was longer. Only the order
# matters; a file not listed starts after these.
SECONDS: dict[str, float] = {
    "tests/runtime/commit/test_crash_loop.py": 224,
    "tests/web/test_web_up.py": 203,
    "tests/platform/test_platform_fuzz.py": 180,
    "tests/web/test_web_app_inside.py": 158,
    "tests/runtime/commit/test_crash.py": 154,
    "tests/web/test_web_journey.py": 115,
    "tests/web/test_web_models.py": 96,
    "tests/runtime/operators/test_windows_live.py": 76,
    "tests/runtime/commit/test_learning_crash.py": 74,
    "tests/runtime/loop/test_bounded.py": 69,
    "tests/web/test_web_canvas.py": 55,
    "tests/platform/test_platform_app_inside.py": 49,
    "tests/runtime/operators/test_joins_live.py": 48,
    "tests/state/test_rebalance.py": 39,
    "tests/runtime/loop/test_history_equals_live.py": 36,
    "tests/runtime/commit/test_joins_crash.py": 35,
    "tests/runtime/commit/test_exactly_once.py": 32,
    "tests/state/test_failover.py": 28,
    "tests/runtime/commit/test_windows_crash.py": 22,
    "tests/web/test_web_steps.py": 21,
}


def longest_first(items: list[pytest.Item]) -> None:
    """Sort ``items`` so the files listed in ``SECONDS`` come first, longest first; the rest
    keep pytest's order (a stable sort), which groups tests by their shared fixtures."""
    items.sort(key=lambda item: -SECONDS.get(item.nodeid.split("::", 1)[0], 0.0))


class FileTimes:
    """Adds up each file's test phases as their reports arrive (in the controlling process
    when the suite runs in several)."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::", 1)[0]] += report.duration

    def write(self, path: Path) -> None:
        ranked = sorted(self.seconds.items(), key=lambda entry: -entry[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({name: round(s, 1) for name, s in ranked}, indent=1) + "\n")
