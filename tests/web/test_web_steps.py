"""The pipeline graph expands a deployment into its app's steps, each with its records in and out
per second (headless Chromium against a live server, a real deployment and the test broker)."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Callable

import orjson
from browser_helpers import (
    START_TIMEOUT_MS,
    WIDE_VIEWPORT,
    Problems,
    go_to,
    log_in,
    shot,
)
from platform_server import PASSWORD, LiveServer, username
from playwright.sync_api import Browser, Locator, expect

from headwater.kafka.admin import TopicAdmin
from headwater.topic import Topic

APP = """
from headwater import App

app = App({group!r}, consumer_config={{"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}})
sdf = app.dataframe(app.topic({events!r}))
sdf = sdf.apply(lambda event: {{**event, "seen": True}})
sdf.to_topic(app.topic({seen!r}))
"""
MANIFEST = """apps:
  - name: steps-app
    entrypoint: app.py
    inputs: [{events}]
    outputs: [{seen}]
"""


# A rate above zero, as a step's data-in / data-out holds it (a JavaScript number).
POSITIVE = re.compile(r"^(?:[1-9]\d*(?:\.\d+)?|0\.\d*[1-9]\d*)(?:e[-+]?\d+)?$")


def while_producing(
    produce_more: Callable[[], None], check: Callable[[], None], timeout: float = 120.0
) -> None:
    """Produce a little, then run ``check`` (short Playwright expectations), until it passes:
    rates need records arriving while the page polls."""
    deadline = time.monotonic() + timeout
    while True:
        produce_more()
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def every_step_flows(steps: Locator, count: int) -> None:
    for index in range(count):
        expect(steps.nth(index)).to_have_attribute("data-in", POSITIVE, timeout=2_000)
        expect(steps.nth(index)).to_have_attribute("data-out", POSITIVE, timeout=2_000)


def test_a_deployment_expands_into_its_steps_with_their_rates(
    browser: Browser,
    web: LiveServer,
    admin: TopicAdmin,
    produce: Callable[..., None],
) -> None:
    token = uuid.uuid4().hex[:8]
    project, events, seen = f"steps-{token}", f"events-{token}", f"seen-{token}"
    admin.create([Topic(events, partitions=2), Topic(seen)])
    with web.client("editor") as editor:
        made = editor.post("/api/projects", json={"name": project, "template": "hello-stream"})
        assert made.status_code == 201, made.text
        files = {
            "app.py": APP.format(group=project, events=events, seen=seen),
            "headwater.yaml": MANIFEST.format(events=events, seen=seen),
        }
        for path, content in files.items():
            put = editor.put(f"/api/projects/{project}/files/{path}", json={"content": content})
            assert put.status_code == 200, put.text
        committed = editor.post(f"/api/projects/{project}/commits", json={"message": "steps"})
        assert committed.status_code == 201, committed.text
        made = editor.post(
            f"/api/projects/{project}/deployments", json={"app": "steps-app", "replicas": 1}
        )
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
    context = browser.new_context(viewport=WIDE_VIEWPORT, base_url=web.url)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems = Problems(page)
        # A viewer sees the steps: they are part of the graph, not a control.
        log_in(page, username("viewer"), PASSWORD)
        go_to(page, "Pipeline")
        node = page.locator(f'[data-node="deployment:{ident}"]')
        expect(node).to_contain_text("1/1 replicas", timeout=START_TIMEOUT_MS)
        toggle = node.get_by_role("button", name="▸ steps")
        toggle.click()
        steps = page.locator(".pipeline-step")
        # The replica reports its steps once it has joined its group.
        expect(steps).to_have_count(3, timeout=START_TIMEOUT_MS)
        expect(node.get_by_role("button", name="▾ steps")).to_have_attribute(
            "aria-expanded", "true"
        )
        expect(steps.nth(0)).to_have_attribute("data-kind", "source")
        expect(steps.nth(1)).to_have_attribute("data-kind", "apply")
        expect(steps.nth(2)).to_have_attribute("data-kind", "to_topic")
        # Opening the steps leaves the deployment's panel closed.
        expect(page.get_by_role("complementary", name="Deployment")).to_have_count(0)
        # Records keep arriving until every step shows some in and out per second (the
        # platform scrapes the replica every few seconds and needs two scrapes for a rate).
        sequence = itertools.count()

        def feed() -> None:
            records = [(b"k", orjson.dumps({"n": next(sequence)})) for _ in range(30)]
            produce(events, records)

        while_producing(feed, lambda: every_step_flows(steps, 3))
        expect(steps.nth(0).get_by_test_id("step-in")).to_have_text(re.compile(r"^[\d.]+/s in$"))
        shot(page, "30-pipeline-steps")
        # Closing the steps brings the node back as it was.
        node.get_by_role("button", name="▾ steps").click()
        expect(steps).to_have_count(0)
        assert problems.found == []
    finally:
        context.close()
        with web.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200
