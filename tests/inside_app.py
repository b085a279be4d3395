"""A deployable app to look inside: event time, a window with state, and a deliberately slow
step (a map_batches that sleeps per batch), shared by the platform and browser tests."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson

from headwater.kafka.admin import TopicAdmin
from headwater.topic import Topic

SLOW_SECONDS = 0.3  # per batch: the step takes most of the loop's time while records flow
APP = """
import time

from headwater import App, agg, windows

fast = {{"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}}
app = App({group!r}, consumer_config=fast, commit_interval=2.0, max_batch_records={batch})
clicks = app.dataframe(app.topic({clicks!r}, timestamp="ts"))


def slow(df):
    time.sleep({slow})  # a deliberately slow step: a fixed cost per batch
    return df


clicks = clicks.map_batches(slow)
per_user = clicks.group_by("user", repartition=False).window(windows.tumbling("1s"))
per_user.agg(n=agg.count()).to_topic(app.topic({counts!r}))
"""
MANIFEST = """apps:
  - name: inside-app
    entrypoint: app.py
    inputs: [{clicks}]
    outputs: [{counts}]
"""


@dataclass
class InsideApp:
    project: str
    clicks: str
    counts: str
    deployment: int


def deploy_inside_app(
    editor: httpx.Client,
    admin: TopicAdmin,
    cluster: str | None = None,
    max_batch_records: int = 10_000,
) -> InsideApp:
    """Create the project with the app, commit it and deploy it with one replica."""
    token = uuid.uuid4().hex[:8]
    project, clicks, counts = f"inside-{token}", f"clicks-{token}", f"counts-{token}"
    admin.create([Topic(clicks, partitions=2), Topic(counts)])
    made = editor.post("/api/projects", json={"name": project, "template": "hello-stream"})
    assert made.status_code == 201, made.text
    files = {
        "app.py": APP.format(
            group=project,
            clicks=clicks,
            counts=counts,
            slow=SLOW_SECONDS,
            batch=max_batch_records,
        ),
        "headwater.yaml": MANIFEST.format(clicks=clicks, counts=counts),
    }
    for path, content in files.items():
        put = editor.put(f"/api/projects/{project}/files/{path}", json={"content": content})
        assert put.status_code == 200, put.text
    committed = editor.post(f"/api/projects/{project}/commits", json={"message": "inside"})
    assert committed.status_code == 201, committed.text
    made = editor.post(
        f"/api/projects/{project}/deployments",
        json={"app": "inside-app", "replicas": 1, **({"cluster": cluster} if cluster else {})},
    )
    assert made.status_code == 201, made.text
    return InsideApp(project, clicks, counts, made.json()["id"])


def click_feeder(
    produce: Callable[..., None], topic: str, per_call: int = 20
) -> Callable[[], None]:
    """Each call sends ``per_call`` clicks stamped now: event time follows the wall clock."""
    sequence = itertools.count()

    def feed() -> None:
        now = int(time.time() * 1000)
        records = [
            (f"u{n % 5}".encode(), orjson.dumps({"user": f"u{n % 5}", "ts": now}))
            for n in itertools.islice(sequence, per_call)
        ]
        produce(topic, records)

    return feed
