"""Exactly-once commits come an interval apart from one commit's start to the next's, so a
record waits for its commit at most the interval plus one commit's round trips."""

from __future__ import annotations

import time
from typing import Any

import pytest

from headwater.runtime.commit.delivery import DeliveryErrors
from headwater.runtime.commit.transaction import TransactionalCheckpoint

COMMIT_SECONDS = 0.3


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _SlowCommits:
    """A transactional producer whose commit takes COMMIT_SECONDS of the clock."""

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.commits = 0

    def begin_transaction(self) -> None:
        pass

    def commit_transaction(self, timeout: float) -> None:
        self.clock.now += COMMIT_SECONDS
        self.commits += 1

    def flush(self, timeout: float = 0) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the commit was not expected to call producer.{name}")


def test_the_next_commit_is_due_an_interval_after_this_one_began(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    producer = _SlowCommits(clock)
    checkpoint = TransactionalCheckpoint(None, producer, DeliveryErrors())  # type: ignore[arg-type]
    checkpoint.begin()
    began = clock.now
    checkpoint.commit()
    assert producer.commits == 1
    assert clock.now == began + COMMIT_SECONDS
    assert checkpoint.started == began
