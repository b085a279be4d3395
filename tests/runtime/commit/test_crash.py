"""SIGKILL a stateful app at random moments, restart it each time: exactly-once writes every
update exactly once; at-least-once loses none, and every key's state ends right."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from crash_harness import (
    CrashHarness,
    Workload,
    at_least_once_problems,
    changelog_state,
    exactly_once_problems,
    read_updates,
    run_with_kills,
    stored_state,
)

from headwater.state import read_key

pytestmark = pytest.mark.broker

RECORDS = 200_000
KEYS = 2_000
PARTITIONS = 3


def _crash_run(
    guarantee: str,
    seed: int,
    bootstrap: str,
    make_topic: Callable[..., str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> tuple[CrashHarness, Workload]:
    caplog.set_level(logging.INFO, logger="crash_harness")
    source = make_topic("crash-in", partitions=PARTITIONS)
    workload = Workload(RECORDS, KEYS, seed=seed)
    workload.produce(bootstrap, source)
    assert sum(workload.ends.values()) == RECORDS
    # 50 ms of work per batch of up to 1,000 records: about 15 s of processing in all, so
    # every kill lands mid-stream on this 2-core machine.
    harness = CrashHarness(
        bootstrap,
        tmp_path,
        source=source,
        partitions=PARTITIONS,
        guarantee=guarantee,
        max_batch_records=1_000,
        batch_work=0.05,
    )
    try:
        run_with_kills(harness, workload, seed=seed, processing_kills=4, recovery_kills=2)
    finally:
        harness.close()
    kills = harness.kills
    assert len(kills) >= 5
    # The kills really landed where they were meant to: while outputs were being written
    # (under exactly-once, inside an open transaction), and while a store was replaying.
    assert any(k.kind == "processing" and k.outputs_flowing for k in kills), kills
    assert any(k.kind == "recovery" and k.recovering for k in kills), kills
    assert len({k.progress for k in kills if k.kind == "processing"}) >= 3, kills
    return harness, workload


def _check_state(harness: CrashHarness, workload: Workload, bootstrap: str) -> None:
    expected = workload.final_state()
    # The replica's own RocksDB stores after its graceful stop...
    on_disk = stored_state(
        harness.state_dir(), harness.group, harness.source, list(range(PARTITIONS))
    )
    wrong = {k: (on_disk.get(k), v) for k, v in expected.items() if on_disk.get(k) != v}
    assert not wrong, f"{len(wrong)} keys with a wrong stored state, e.g. {list(wrong.items())[:3]}"
    # ... what another replica would rebuild from the changelog...
    logged = changelog_state(bootstrap, harness.group)
    wrong = {k: (logged.get(k), v) for k, v in expected.items() if logged.get(k) != v}
    assert not wrong, f"{len(wrong)} keys with a wrong changelog, e.g. {list(wrong.items())[:3]}"
    # ... and the public way to read a key's state.
    key = min(expected)
    assert read_key(harness.group, "totals", key, settings=bootstrap) == expected[key]


def test_exactly_once_output_is_exact_across_sigkills(
    bootstrap: str, make_topic: Callable[..., str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness, workload = _crash_run(
        "exactly-once", 20261124, bootstrap, make_topic, tmp_path, caplog
    )

    found = read_updates(bootstrap, harness.sink)
    problems = exactly_once_problems(found, workload.expected())
    assert not problems, f"{len(problems)} keys differ from the exact output:\n" + "\n".join(
        problems[:10]
    )
    assert sum(len(u) for u in found.values()) == RECORDS
    _check_state(harness, workload, bootstrap)


def test_at_least_once_loses_nothing_across_sigkills(
    bootstrap: str, make_topic: Callable[..., str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness, workload = _crash_run("at-least-once", 7, bootstrap, make_topic, tmp_path, caplog)

    found = read_updates(bootstrap, harness.sink)
    problems = at_least_once_problems(found, workload.expected())
    assert not problems, f"{len(problems)} keys lost or got wrong updates:\n" + "\n".join(
        problems[:10]
    )
    # Kills did cost work already written out: it was redone, and shows as repeated updates.
    assert sum(len(u) for u in found.values()) > RECORDS
    _check_state(harness, workload, bootstrap)
