"""Fixtures of the state tests: a changelog producer and StateManagers closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from state_helpers import changelog_producer

from headwater.state import StateManager


@pytest.fixture
def producer(bootstrap: str) -> Producer:
    return changelog_producer(bootstrap)


@pytest.fixture
def new_manager(
    bootstrap: str, tmp_path: Path, unique: Callable[[str], str]
) -> Iterator[Callable[..., StateManager]]:
    made: list[StateManager] = []
    app = unique("app")

    def make(state_dir: Path | None = None, app_name: str = app, **kwargs: Any) -> StateManager:
        manager = StateManager(app_name, state_dir or tmp_path / "state", bootstrap, **kwargs)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()
