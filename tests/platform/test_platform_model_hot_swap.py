"""Hot swap: a deployment scores a stream with models:/fraud@production while version 2 is
promoted and then rolled back. Every input record is scored exactly once, each by the version
that was live when its batch ran, and the deployment's replica never restarts."""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from confluent_kafka import Consumer, Producer
from deploy_helpers import add_cluster, replicas, waiting
from kafka_helpers import read_all
from model_helpers import SCORER_APP, SCORER_MANIFEST, fraud_model, upload
from platform_server import LiveServer

from headwater import Topic
from headwater.kafka.admin import TopicAdmin
from headwater.models import load_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Stream:
    """Payments produced steadily from a thread until stopped: ids 0, 1, 2..."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        self._topic = topic
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        # About 100 records a second: enough for many batches per version, little enough that a
        # replica on a loaded machine keeps up (a swap shows once the batch after it commits).
        while not self._stop.wait(0.02):
            for _ in range(2):
                value = {"id": self.sent, "amount": float(self.sent % 97), "night": self.sent % 2}
                self._producer.produce(
                    self._topic, json.dumps(value).encode(), key=b"%d" % self.sent
                )
                self.sent += 1
            self._producer.poll(0)

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        assert self._producer.flush(30) == 0


def scores(bootstrap: str, topic: str) -> list[Any]:
    return read_all(bootstrap, [topic], **{"isolation.level": "read_committed"})


def runs(values: list[int]) -> list[int]:
    """``values`` with repeats merged: [1, 1, 2, 2, 1] -> [1, 2, 1]."""
    merged: list[int] = []
    for value in values:
        if not merged or merged[-1] != value:
            merged.append(value)
    return merged


def versions_seen(bootstrap: str, topic: str) -> list[int]:
    """The model versions of the committed scores, in offset order, runs merged."""
    return runs([json.loads(m.value())["model_version"] for m in scores(bootstrap, topic)])


class Watcher:
    """The versions of the scores as they arrive (while the app keeps a transaction open, a
    reader that waits for the partition's end may not see it: this one only polls)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.versions: list[int] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"watcher-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        self._consumer.subscribe([topic])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._consumer.poll(0.2)
            if message is not None and not message.error():
                self.versions.append(json.loads(message.value())["model_version"])

    def runs(self) -> list[int]:
        return runs(list(self.versions))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()


def test_promote_and_roll_back_swap_a_running_deployment(
    live: LiveServer, admin: TopicAdmin, bootstrap: str, tmp_path: Path
) -> None:
    if live.backend != "sqlite":
        pytest.skip("the swap does not depend on the metadata database; once is enough")
    token = uuid.uuid4().hex[:8]
    project, group = f"swap-{token}", f"scorer-{token}"
    payments, output = f"payments-{token}", f"scores-{token}"
    admin.create([Topic(payments, partitions=2), Topic(output, partitions=1)])
    cluster = add_cluster(live, bootstrap)
    first, second = fraud_model(tmp_path), fraud_model(tmp_path, flip=True)
    with live.client("editor") as editor:
        assert editor.post("/api/projects", json={"name": project}).status_code == 201
        for path, content in (
            ("app.py", SCORER_APP.format(group=group, payments=payments, scores=output)),
            ("headwater.yaml", SCORER_MANIFEST.format(payments=payments, scores=output)),
        ):
            written = editor.put(f"/api/projects/{project}/files/{path}", json={"content": content})
            assert written.status_code == 200, written.text
        assert editor.post(
            f"/api/projects/{project}/commits", json={"message": "scorer"}
        ).is_success
        for data in (first.read_bytes(), second.read_bytes()):
            made = upload(editor, project, "fraud", data, filename="fraud.joblib")
            assert made.status_code == 201, made.text
        base = f"/api/projects/{project}/models/fraud/aliases/production"
        assert editor.put(base, json={"version": 1}).status_code == 200
        made = editor.post(
            f"/api/projects/{project}/deployments", json={"app": "scorer", "cluster": cluster}
        )
        assert made.status_code == 201, made.text
        ident = made.json()["id"]

        watcher = Watcher(bootstrap, output)
        with Stream(bootstrap, payments) as stream:
            waiting(live, ident, lambda: watcher.runs() == [1], timeout=90)
            (replica,) = replicas(live, ident)
            promoted = editor.put(base, json={"version": 2})
            assert promoted.status_code == 200, promoted.text
            waiting(live, ident, lambda: watcher.runs() == [1, 2], timeout=60)
            rolled = editor.post(f"{base}/rollback")
            assert rolled.status_code == 200 and rolled.json()["aliases"] == {"production": 1}
            try:
                waiting(
                    live,
                    ident,
                    lambda: watcher.runs() == [1, 2, 1],
                    timeout=60,
                )
            except AssertionError as exc:
                raise AssertionError(f"versions: {watcher.runs()}; {exc}") from None
        watcher.close()
        sent = stream.sent
        waiting(live, ident, lambda: len(scores(bootstrap, output)) >= sent, timeout=60)

    # Never restarted: the same process from the first score to the last.
    (after,) = replicas(live, ident)
    assert after["pid"] == replica["pid"] and after["restarts"] == 0

    records = [json.loads(m.value()) for m in scores(bootstrap, output)]
    ids = [r["id"] for r in records]
    assert sorted(ids) == list(range(sent)), "each payment scored exactly once"
    # Each record scored by the version it names, exactly as that version scores it alone.
    models = {1: load_model(first), 2: load_model(second)}
    by_version: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_version[record["model_version"]].append(record)
    assert set(by_version) == {1, 2}
    for version, scored in by_version.items():
        frame = pl.DataFrame(scored).select("amount", "night")
        own = models[version].score(frame)
        assert [r["prediction"] for r in scored] == own["prediction"].to_list()
        for record, score in zip(scored, own["score"].to_list(), strict=True):
            assert abs(record["score"] - score) <= 1e-9 * max(1.0, abs(score))
    # One replica writes one output partition in batch order: version 1, then 2, then 1
    # again, each a contiguous run, so every batch was scored whole by one version.
    assert versions_seen(bootstrap, output) == [1, 2, 1]
