"""Inside a running app, as the Flink web UI shows a job: expanding a deployment on the pipeline
graph shows its steps with their rates, a watermark that advances, checkpoint durations, and a
deliberately slow step marked busy (headless Chromium, a live server, a real deployment)."""

from __future__ import annotations

import re
from collections.abc import Callable

from browser_helpers import START_TIMEOUT_MS, WIDE_VIEWPORT, Problems, go_to, log_in, shot
from inside_app import click_feeder, deploy_inside_app
from platform_server import PASSWORD, LiveServer, username
from playwright.sync_api import Browser, expect
from test_web_steps import POSITIVE, while_producing

from headwater.kafka.admin import TopicAdmin

BUSY = re.compile(r"^(?:0\.[5-9]\d*|1(?:\.0+)?)$")  # a share of at least a half
MILLISECONDS = re.compile(r"^\d+(?:\.\d+)?(?:e[-+]?\d+)?$")


def test_an_expanded_app_shows_rates_watermarks_checkpoints_and_its_busy_step(
    browser: Browser,
    web: LiveServer,
    admin: TopicAdmin,
    produce: Callable[..., None],
) -> None:
    with web.client("editor") as editor:
        # Batches of 5: the slow step caps the app at about 16 records a second, so the feeder
        # below keeps it busy whatever the pace of the checks.
        deployed = deploy_inside_app(editor, admin, max_batch_records=5)
    ident = deployed.deployment
    # More than the slow step can take: a backlog, so the step is busy all the time.
    feed = click_feeder(produce, deployed.clicks, per_call=100)
    context = browser.new_context(viewport=WIDE_VIEWPORT, base_url=web.url)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems = Problems(page)
        log_in(page, username("viewer"), PASSWORD)
        go_to(page, "Pipeline")
        node = page.locator(f'[data-node="deployment:{ident}"]')
        expect(node).to_contain_text("1/1 replicas", timeout=START_TIMEOUT_MS)
        node.get_by_role("button", name="▸ steps").click()
        panel = page.get_by_role("region", name="Inside inside-app")
        expect(panel).to_be_visible(timeout=START_TIMEOUT_MS)
        rows = panel.locator("tr.inside-step")
        steps = page.locator(".pipeline-step")
        slow_row = panel.locator('tr.inside-step[data-kind="map_batches"]')
        window_row = panel.locator('tr.inside-step[data-kind="window"]')
        slow_node = page.locator('.pipeline-step[data-kind="map_batches"]')

        def flowing() -> None:
            count = steps.count()
            assert count >= 4
            for index in range(count):
                expect(steps.nth(index)).to_have_attribute("data-in", POSITIVE, timeout=2_000)
                expect(steps.nth(index)).to_have_attribute("data-out", POSITIVE, timeout=2_000)
            # The slow step holds the loop: busy on its node and in the panel.
            expect(slow_node).to_have_attribute("data-busy", BUSY, timeout=2_000)
            expect(slow_node).to_have_class(re.compile(r"\bbusy\b"), timeout=2_000)
            expect(slow_row).to_have_class(re.compile(r"\bbusy\b"), timeout=2_000)
            expect(panel.get_by_test_id("app-busy")).to_have_attribute("data-busy", BUSY)
            expect(window_row).to_have_attribute(
                "data-watermark", re.compile(r"^\d+$"), timeout=2_000
            )
            expect(panel.get_by_test_id("checkpoint-last")).to_have_attribute(
                "data-ms", MILLISECONDS, timeout=2_000
            )

        while_producing(feed, flowing, timeout=150)
        assert rows.count() == steps.count()
        charts = panel.get_by_test_id("checkpoint-chart")
        expect(charts).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
        expect(charts.get_by_text("Checkpoint duration (ms)")).to_be_visible()
        # The watermark advances between two reads while clicks keep coming.
        first = int(window_row.get_attribute("data-watermark") or 0)

        def advanced() -> None:
            mark = int(window_row.get_attribute("data-watermark") or 0)
            assert mark > first, (mark, first)

        while_producing(feed, advanced, timeout=60)
        # Steps other than the slow one are not busy.
        to_topic = panel.locator('tr.inside-step[data-kind="to_topic"]')
        expect(to_topic).not_to_have_class(re.compile(r"\bbusy\b"))
        shot(page, "31-pipeline-inside-app")
        assert problems.found == []
    finally:
        context.close()
        with web.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200
