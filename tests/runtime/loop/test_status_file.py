"""The runner's status file: what a supervisor reads to learn which partitions a replica owns."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from headwater.runtime.loop.status import STATUS_FILE_ENV, StatusFile


def test_status_file_is_rewritten_whole_on_each_assignment(tmp_path: Path) -> None:
    path = tmp_path / "replica-0.json"
    status = StatusFile("orders-app", str(path))
    status.write({("orders", 2), ("orders", 0)})
    first = json.loads(path.read_text())
    assert first["pid"] == os.getpid() and first["group"] == "orders-app"
    assert first["assigned"] == [["orders", 0], ["orders", 2]]
    status.write(set())  # everything revoked
    assert json.loads(path.read_text())["assigned"] == []
    assert [p.name for p in tmp_path.iterdir()] == ["replica-0.json"]  # no temporary left


def test_without_the_variable_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STATUS_FILE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    StatusFile("orders-app").write({("orders", 0)})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(STATUS_FILE_ENV, str(tmp_path / "s.json"))
    StatusFile("orders-app").write({("orders", 1)})
    assert json.loads((tmp_path / "s.json").read_text())["assigned"] == [["orders", 1]]


def test_status_file_names_the_topics_the_app_reads_and_writes(tmp_path: Path) -> None:
    path = tmp_path / "replica-0.json"
    status = StatusFile(
        "orders-app", str(path), inputs=["orders", "orders-app-repartition"], outputs=["totals"]
    )
    status.write({("orders", 0)})
    data = json.loads(path.read_text())
    assert data["inputs"] == ["orders", "orders-app-repartition"]
    assert data["outputs"] == ["totals"]
