"""The README's first command as a newcomer runs it, and a browser journey on what it serves.

``./scripts/up.sh`` runs from the repository root with the default data directory; only the port
is chosen. The demo must flow (valid scores, every deployment running); a browser then walks
through the platform; finally Ctrl-C stops everything and ``up`` starts again at once, on the same
port, and serves the demo again. ./headwater-data is the test's own while it runs and is removed
after (see ``readme_data_dir``).

The tests share one ``up`` and run in order; each also holds alone (``-k``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from browser_helpers import (
    START_TIMEOUT_MS,
    WIDE_VIEWPORT,
    Problems,
    go_to,
    log_in,
    open_by_clicking,
    shot,
)
from confluent_kafka import Producer
from playwright.sync_api import Browser, Locator, Page, expect
from up_helpers import (
    DEMO_APPS,
    UpRun,
    check_demo_runs,
    logged_in,
    readme_up,
    time_wait_ports,
)

from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.platform.demo_project import DEMO_PROJECT
from headwater.topic import Topic

# The least effective size, in CSS pixels at 1440x900, of a graph node's title at the default fit.
READABLE_PX = 12.0
CRASHING_APP = 'raise RuntimeError("crashing on purpose")\n'
GREETING_LINE = 19  # `return {**event, "greeting": ...}` in the hello-stream template


@pytest.fixture(scope="module")
def up() -> Iterator[UpRun]:
    with readme_up() as run:
        yield run


@pytest.fixture(scope="module")
def bootstrap_of_up(up: UpRun) -> str:
    up.wait_up()
    return check_demo_runs(up.url, password(up))


def password(up: UpRun) -> str:
    assert up.password is not None
    return up.password


@pytest.mark.timeout(600)
def test_the_readme_command_serves_the_demo_with_valid_scores_and_every_app_running(
    up: UpRun, bootstrap_of_up: str
) -> None:
    output = up.output()
    assert "Headwater is up: http://localhost:" in output
    assert "demo:    project 'demo' created, apps deployed: " + ", ".join(DEMO_APPS) in output
    # The default data directory, made absolute: replicas run in folders of their own.
    data_line = next(line for line in output.splitlines() if line.strip().startswith("data:"))
    assert data_line.split("data:", 1)[1].strip().endswith("/headwater-data")
    assert "FileNotFoundError" not in output


def effective_px(element: Locator) -> float:
    """The element's font size as drawn: its CSS size times the zoom of the graph around it."""
    size: float = element.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
        " * e.getBoundingClientRect().height / e.offsetHeight"
    )
    return size


def deployment_ids(client: httpx.Client, project: str) -> dict[str, int]:
    return {d["app"]: d["id"] for d in client.get(f"/api/projects/{project}/deployments").json()}


def produce_pages_topic(bootstrap: str, topic: str, count: int) -> None:
    TopicAdmin(KafkaSettings(bootstrap)).create([Topic(topic, partitions=3)])
    producer = Producer({"bootstrap.servers": bootstrap})
    for n in range(count):
        producer.produce(topic, f'{{"n": {n}}}'.encode(), str(n).encode(), partition=n % 3)
    assert producer.flush(30) == 0


def replace_line(page: Page, line: int, text: str) -> None:
    """Replace a line in the Monaco editor, as typed (without auto-closing brackets)."""
    page.get_by_test_id("code-editor").locator(".view-lines").click()
    page.keyboard.press("Control+g")
    page.keyboard.type(str(line))
    page.keyboard.press("Enter")
    page.keyboard.press("End")
    page.keyboard.press("Shift+Home")
    page.keyboard.insert_text(text)


def commit_all(page: Page, message: str) -> None:
    page.get_by_role("button", name=re.compile(r"^Commit \(\d+\)$")).click()
    dialog = page.get_by_role("dialog", name="Commit changes")
    dialog.get_by_label("Message").fill(message)
    dialog.get_by_role("button", name="Commit", exact=True).click()
    expect(dialog).to_be_hidden()


def status_everywhere(page: Page, deployment: int, status: str) -> None:
    """The deployment's status in its page, the deployments list and the graph alike."""
    page.goto(f"/deployments/{deployment}")
    badge = page.get_by_role("main").get_by_test_id("deployment-status")
    expect(badge).to_have_text(status, timeout=START_TIMEOUT_MS)
    go_to(page, "Deployments")
    expect(page.locator(f'tr[data-deployment="{deployment}"]')).to_have_attribute(
        "data-status", status
    )
    go_to(page, "Pipeline")
    node = page.locator(f'[data-node="deployment:{deployment}"]')
    expect(node.locator(".node-status")).to_have_text(status)
    shot(page, f"up-graph-{status}")


@pytest.mark.timeout(900)
def test_a_journey_through_the_platform_up_serves(
    up: UpRun, bootstrap_of_up: str, browser: Browser
) -> None:
    context = browser.new_context(viewport=WIDE_VIEWPORT, base_url=up.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems = Problems(page)
    project = f"greeter-{uuid.uuid4().hex[:6]}"
    greetings = f"{project}-greetings"
    try:
        with logged_in(up.url, password(up)) as api:
            demo = deployment_ids(api, DEMO_PROJECT)
        log_in(page, "admin", password(up))

        # The graph: the three demo apps running, with rates, readable at 1440x900.
        go_to(page, "Pipeline")
        for app, deployment in demo.items():
            node = page.locator(f'[data-node="deployment:{deployment}"]')
            expect(node.locator(".node-status")).to_have_text("running")
            expect(node).to_contain_text(app)
        events, features, scorer = (demo[app] for app in DEMO_APPS)
        flowing = re.compile(r"^[\d.,]+[kKM]? msg/s (in|out)$")
        out_of_events = page.locator(f'[data-node="deployment:{events}"] .node-figures span')
        expect(out_of_events.filter(has_text=" out")).to_have_text(flowing, timeout=60_000)
        for consumer in (features, scorer):
            figures = page.locator(f'[data-node="deployment:{consumer}"] .node-figures span')
            expect(figures.filter(has_text=" in")).to_have_text(flowing, timeout=60_000)
        orders_edge = page.locator(
            f'[data-topic="demo-orders"][data-target="deployment:{features}"]'
        )
        expect(orders_edge).to_have_text(re.compile(r"^demo-orders · [\d.,]+ msg/s$"))
        title = page.locator(f'[data-node="deployment:{features}"] .node-title')
        expect(title).to_be_in_viewport()
        readable = effective_px(title)
        assert readable >= READABLE_PX, f"node titles are {readable:.1f} px at the default fit"
        shot(page, "up-01-pipeline")

        # An edge's records with their headers; the graph keeps its size under the drawer.
        drawer = page.get_by_role("complementary", name="Topic demo-orders")
        open_by_clicking(orders_edge, drawer)
        records = drawer.get_by_role("table", name="Live records")
        expect(records.locator("th", has_text="headers.producer")).to_be_visible()
        expect(records).to_contain_text("demo-events")
        assert effective_px(title) == pytest.approx(readable)
        shot(page, "up-02-edge-records")
        drawer.get_by_role("button", name="Close panel").click()

        # The dead-letter edge: each record's reason, operator and origin, from its headers.
        dlq = page.locator('[data-topic="demo-features.dlq"]')
        dead = page.get_by_role("complementary", name="Topic demo-features.dlq")
        open_by_clicking(dlq, dead)
        dead.get_by_role("button", name="Pages").click()
        letters = dead.get_by_role("table", name="Records page")
        expect(letters.locator("th", has_text="headers.headwater.error.reason")).to_be_visible()
        operator = letters.locator("td", has_text=re.compile(r"^(decode|timestamp) demo-orders"))
        expect(operator.first).to_be_visible()
        expect(letters.locator("th", has_text="headers.headwater.origin.offset")).to_be_visible()
        shot(page, "up-03-dead-letters")
        dead.get_by_role("button", name="Close panel").click()

        # A project from a template, its topics picked from the cluster's list or made anew.
        go_to(page, "Projects")
        page.get_by_role("button", name="New project").click()
        dialog = page.get_by_role("dialog", name="New project")
        dialog.get_by_label("Name").fill(project)
        dialog.get_by_label(re.compile("Hello stream")).check()
        dialog.get_by_label("Topic for events", exact=True).select_option("demo-orders")
        dialog.get_by_label("Topic for greetings", exact=True).select_option("__new__")
        expect(dialog.get_by_label("New topic for greetings")).to_have_value(greetings)
        dialog.get_by_label("Partitions for greetings").fill("2")
        shot(page, "up-04-new-project")
        dialog.get_by_role("button", name="Create project").click()
        expect(page).to_have_url(re.compile(f"/projects/{project}"))
        editor = page.get_by_test_id("code-editor")
        expect(editor.locator(".view-lines")).to_contain_text('app.topic("demo-orders"')

        # Preview an unsaved change: the panel opens in view and runs the editor's text.
        replace_line(page, GREETING_LINE, 'return {**event, "greeting": "Howdy, unsaved"}')
        expect(page.get_by_text("· unsaved")).to_be_visible()
        page.get_by_role("button", name="Preview").click()
        panel = page.get_by_role("region", name="Preview")
        expect(panel).to_be_in_viewport()
        expect(panel.get_by_test_id("preview-source")).to_contain_text("unsaved changes included")
        panel.get_by_role("button", name="Run preview").click()
        output = panel.get_by_role("table", name=f"Preview output {greetings}")
        expect(output).to_contain_text("Howdy, unsaved", timeout=60_000)
        expect(panel.get_by_test_id("preview-summary")).to_contain_text("unsaved app.py")
        shot(page, "up-05-preview-unsaved")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("· unsaved")).to_be_hidden()
        commit_all(page, "Say howdy")

        # Deploy with CPU and memory set in the dialog.
        page.get_by_role("button", name="Deploy", exact=True).click()
        deploy = page.get_by_role("dialog", name="Deploy")
        deploy.get_by_label("CPU (cores)").fill("0.25")
        deploy.get_by_label("Memory").fill("300Mi")
        shot(page, "up-06-deploy")
        deploy.get_by_role("button", name="Deploy").click()
        expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
        deployment = int(page.url.rsplit("/", 1)[1])
        expect(page.get_by_test_id("resource-cpu")).to_have_text(
            "0.25 (set here; headwater.yaml says 0.5)"
        )
        expect(page.get_by_test_id("resource-memory")).to_have_text(
            "300Mi (set here; headwater.yaml says 256Mi)"
        )
        status = page.get_by_role("main").get_by_test_id("deployment-status")
        expect(status).to_have_text("running", timeout=START_TIMEOUT_MS)

        # Scale up, then back to one replica.
        page.get_by_role("button", name="Add a replica").click()
        expect(page.get_by_test_id("desired-replicas")).to_have_text("2")
        expect(page.get_by_role("main")).to_contain_text("2 of 2 ready", timeout=START_TIMEOUT_MS)
        expect(status).to_have_text("running")
        shot(page, "up-07-scaled")
        page.get_by_role("button", name="Remove a replica").click()
        expect(page.get_by_test_id("desired-replicas")).to_have_text("1")
        expect(page.get_by_role("main")).to_contain_text("1 of 1 ready", timeout=START_TIMEOUT_MS)

        # A commit that crashes: failing in its page, the list and the graph alike.
        page.goto(f"/projects/{project}?file=app.py")
        page.get_by_test_id("code-editor").locator(".view-lines").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(CRASHING_APP)
        page.keyboard.press("Control+s")  # at once: the editor's text, not a lagging draft
        expect(page.get_by_text("· unsaved")).to_be_hidden()
        commit_all(page, "Crash on purpose")
        page.goto(f"/deployments/{deployment}")
        page.get_by_role("button", name="Redeploy at commit…").click()
        redeploy = page.get_by_role("dialog", name="Redeploy at commit")
        crash = redeploy.get_by_label("Commit").locator("option", has_text="Crash on purpose")
        redeploy.get_by_label("Commit").select_option(crash.get_attribute("value"))
        redeploy.get_by_role("button", name="Redeploy").click()
        status_everywhere(page, deployment, "failing")

        # Roll back to the commit before: it recovers.
        page.goto(f"/deployments/{deployment}")
        page.get_by_role("button", name="Redeploy at commit…").click()
        redeploy = page.get_by_role("dialog", name="Redeploy at commit")
        howdy = redeploy.get_by_label("Commit").locator("option", has_text="Say howdy")
        redeploy.get_by_label("Commit").select_option(howdy.get_attribute("value"))
        redeploy.get_by_role("button", name="Roll back").click()
        status_everywhere(page, deployment, "running")

        # Page through a topic from its beginning to its end.
        pages_topic = f"pages-{uuid.uuid4().hex[:6]}"
        produce_pages_topic(bootstrap_of_up, pages_topic, 250)
        page.goto(f"/topics/{pages_topic}")
        page.get_by_role("button", name="Pages").click()
        page.get_by_label("Records per page").select_option("100")
        page.get_by_role("button", name="Apply").click()
        position = page.get_by_test_id("page-status")
        table = page.get_by_role("table", name="Records page")
        expect(position).to_have_text(shown(1, 100))
        expect(table).to_have_attribute("aria-rowcount", "100")
        for expected in (shown(101, 200), shown(201, 250) + " · end of topic"):
            page.get_by_role("button", name="Next").click()
            expect(position).to_have_text(expected)
        expect(table).to_have_attribute("aria-rowcount", "50")
        expect(page.get_by_role("button", name="Next")).to_be_disabled()
        shot(page, "up-08-pages-end")
        page.get_by_role("button", name="Previous").click()
        expect(position).to_have_text(shown(101, 200))
        page.get_by_role("button", name="First page").click()
        expect(position).to_have_text(shown(1, 100))
        assert problems.found == []
    finally:
        context.close()


def shown(first: int, last: int, total: int = 250) -> str:
    """The pager's position line: records first to last (an en dash between) of total."""
    return f"Records {first}\u2013{last} of {total}"


@pytest.mark.timeout(600)
def test_ctrl_c_stops_everything_and_up_starts_again_at_once(
    up: UpRun, bootstrap_of_up: str
) -> None:
    # A connection kept open until the server stops: its end of it lingers in TIME-WAIT.
    with httpx.Client(base_url=up.url) as client:
        assert client.get("/healthz").status_code == 200
        up.stop()
    assert len(up.started) >= 4, up.started  # the broker and the demo's replicas, at least
    assert up.port in time_wait_ports()
    assert "headwater up: stopped" in up.output()

    up.start()  # at once, on the same port, the same data directory
    up.wait_up()
    assert "cannot listen" not in up.output()
    # The same admin and project; the local broker started empty, so the topics are new.
    check_demo_runs(up.url, password(up))
    up.stop()
