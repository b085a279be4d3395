"""The browser app end to end: headless Chromium (Debian's) against a live server and broker.

Each page's screenshot lands in test-artifacts/screenshots/. Any console error or unhandled
promise rejection fails the test.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator

import orjson
import pytest
from browser_helpers import (
    START_TIMEOUT_MS,
    VIEWPORT,
    Problems,
    go_to,
    log_in,
    open_by_clicking,
    shot,
)
from confluent_kafka import Consumer, TopicPartition
from kafka_helpers import wait_until
from platform_server import ADMIN_PASSWORD, PASSWORD, LiveServer, username
from playwright.sync_api import Browser, Page, expect

from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.topic import Topic


@pytest.fixture
def open_page(browser: Browser, web: LiveServer) -> Iterator[Callable[[], tuple[Page, Problems]]]:
    contexts = []

    def make() -> tuple[Page, Problems]:
        context = browser.new_context(viewport=VIEWPORT, base_url=web.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page, Problems(page)

    yield make
    for context in contexts:
        context.close()


def purchases(user: str, seconds: list[int]) -> list[tuple[bytes, bytes]]:
    """Purchases of `user` at these seconds of event time (a recent whole minute first), keyed
    by user as the windowed-features template expects."""
    start = (int(time.time()) // 60 - 10) * 60_000
    return [
        (user.encode(), orjson.dumps({"user": user, "amount": 10.0 + i, "ts": start + s * 1000}))
        for i, s in enumerate(seconds)
    ]


def while_producing(
    produce_more: Callable[[], None], check: Callable[[], None], timeout: float = 90.0
) -> None:
    """Produce a little, then run `check` (a short Playwright expectation), until it passes:
    rates and closed windows need records arriving while the page polls."""
    deadline = time.monotonic() + timeout
    while True:
        produce_more()
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_wrong_password_is_explained_inline(
    open_page: Callable[[], tuple[Page, Problems]],
) -> None:
    page, _ = open_page()
    page.goto("/")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong user name or password")
    shot(page, "01-login-error")


def test_edit_commit_diff_and_roll_back_a_project(
    open_page: Callable[[], tuple[Page, Problems]],
    web: LiveServer,
    make_topic: Callable[..., str],
    bootstrap: str,
    produce: Callable[..., None],
) -> None:
    page, problems = open_page()
    topic = make_topic("web-orders", partitions=2)
    project = f"features-{uuid.uuid4().hex[:6]}"
    features = f"{project}-features"  # the template's output, named after the project
    TopicAdmin(KafkaSettings(bootstrap)).create([Topic("purchases")], exist_ok=True)

    page.goto("/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    shot(page, "00-login")
    log_in(page, "admin", ADMIN_PASSWORD)
    for section in ("Pipeline", "Projects", "Topics", "Deployments", "Settings"):
        expect(page.get_by_role("link", name=section, exact=True)).to_be_visible()

    # A project from the windowed-features template opens on its app.
    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("button", name="New project").click()
    dialog = page.get_by_role("dialog", name="New project")
    dialog.get_by_label("Name").fill(project)
    dialog.get_by_label(re.compile("Windowed features")).check()
    # Its input is picked from the cluster's topics, its output made anew with the project's name.
    expect(dialog.get_by_label("Topic for purchases", exact=True)).to_have_value("purchases")
    expect(dialog.get_by_label("Topic for features", exact=True)).to_have_value("__new__")
    expect(dialog.get_by_label("New topic for features")).to_have_value(features)
    shot(page, "02-new-project")
    dialog.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(f"/projects/{project}"))
    editor = page.get_by_test_id("code-editor")
    expect(editor.locator(".view-lines")).to_contain_text("Windowed features")
    # How to clone it, with what as the password and where that is made.
    hint = page.get_by_test_id("clone-hint")
    expect(hint).to_contain_text(f"git clone {web.url}/git/{project}.git")
    expect(hint).to_contain_text("an API token as the password")
    expect(hint.get_by_role("link", name="make a token")).to_have_attribute(
        "href", "/settings/tokens"
    )
    shot(page, "03-project-editor")

    # Edit in Monaco, save with Ctrl+S, commit.
    editor.locator(".view-lines").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("# tuned in the browser")
    page.keyboard.press("Escape")  # closes word suggestions, which Enter would accept
    page.keyboard.press("Enter")
    expect(page.get_by_text("· unsaved")).to_be_visible()
    page.keyboard.press("Control+s")
    expect(page.get_by_text("· unsaved")).to_be_hidden()
    page.get_by_role("button", name="Commit (1)").click()
    commit = page.get_by_role("dialog", name="Commit changes")
    expect(commit).to_contain_text("app.py")
    commit.get_by_label("Message").fill("Note the tuning")
    shot(page, "04-commit-dialog")
    commit.get_by_role("button", name="Commit", exact=True).click()
    expect(commit).to_be_hidden()
    expect(page.get_by_role("button", name="Commit", exact=True)).to_be_visible()

    # Preview over the template's input: windows close once later records pass the watermark.
    buyer = f"ann-{uuid.uuid4().hex[:6]}"
    produce("purchases", purchases(buyer, [0, 20, 40, 75, 130]))
    page.get_by_role("button", name="Preview").click()
    panel = page.get_by_role("region", name="Preview")
    panel.get_by_label("Records").fill("5")
    panel.get_by_role("button", name="Run preview").click()
    output = panel.get_by_role("table", name=f"Preview output {features}")
    expect(output).to_contain_text(buyer, timeout=60_000)
    expect(panel.get_by_test_id("preview-summary")).to_contain_text("Read 5 from purchases")
    output.scroll_into_view_if_needed()
    shot(page, "04b-preview")

    # Deploy with the manifest's 2 replicas; the deployment page shows them running, then 3.
    page.get_by_role("button", name="Deploy").click()
    deploy = page.get_by_role("dialog", name="Deploy")
    expect(deploy.get_by_label("Replicas")).to_have_value("2")
    deploy.get_by_role("button", name="Deploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
    deployment_id = int(page.url.rsplit("/", 1)[1])
    try:
        replicas = page.get_by_role("table", name="Replicas").locator("tbody tr")
        running = page.locator('tr[data-status="running"]')
        expect(running).to_have_count(2, timeout=START_TIMEOUT_MS)
        expect(page.get_by_test_id("deployment-logs")).to_contain_text("[supervisor]")
        shot(page, "04c-deployment")
        # The pipeline: the deployment between its input and output topics, live rates on the
        # edges, drawers with the output's records and the deployment's panel. Purchases keep
        # coming, 20 s of event time apart, so windows close into the features while it polls.
        go_to(page, "Pipeline")
        node = page.locator(f'[data-node="deployment:{deployment_id}"]')
        expect(node).to_contain_text("2/2 replicas")
        on_node = f"deployment:{deployment_id}"
        edge_into = page.locator(f'[data-topic="purchases"][data-target="{on_node}"]')
        edge_out = page.locator(f'[data-topic="{features}"][data-source="{on_node}"]')
        expect(edge_into).to_be_visible()
        expect(edge_out).to_be_visible()
        feeder = f"dee-{uuid.uuid4().hex[:6]}"
        event_seconds = iter(range(400, 100_000, 20))

        def feed() -> None:
            produce("purchases", purchases(feeder, [next(event_seconds)]))

        flowing = re.compile(r"^purchases · (?!0 msg/s)[\d.]+[kKM]? msg/s$")
        while_producing(feed, lambda: expect(edge_into).to_have_text(flowing, timeout=2_000))
        shot(page, "14-pipeline")
        drawer = page.get_by_role("complementary", name=f"Topic {features}")
        open_by_clicking(edge_out, drawer)
        expect(drawer.get_by_test_id("tail-status")).to_contain_text("live")
        records = drawer.get_by_role("table", name="Live records")
        # The replicas' group join comes first: give the first windows time to close.
        while_producing(
            feed, lambda: expect(records).to_contain_text(feeder, timeout=2_000), timeout=150
        )
        expect(drawer.get_by_label("Chart field")).to_be_visible()
        shot(page, "15-pipeline-topic-drawer")
        drawer.get_by_role("button", name="Close panel").click()
        expect(drawer).to_have_count(0)
        panel = page.get_by_role("complementary", name="Deployment")
        open_by_clicking(node, panel)
        expect(panel.get_by_role("heading", name=project)).to_be_visible()
        expect(panel.get_by_test_id("desired-replicas")).to_have_text("2")
        expect(panel.get_by_role("link", name="Open full page")).to_have_attribute(
            "href", f"/deployments/{deployment_id}"
        )
        shot(page, "16-pipeline-deployment-drawer")
        # "Add deployment" picks the project first, then an app of its manifest.
        page.get_by_role("button", name="Add deployment").click()
        adding = page.get_by_role("dialog", name="Deploy")
        adding.get_by_label("Project").select_option(project)
        expect(adding.get_by_label("App")).to_have_value(project)
        adding.get_by_role("button", name="Cancel").click()
        expect(adding).to_be_hidden()
        panel.get_by_role("link", name="Open full page").click()
        expect(page).to_have_url(re.compile(f"/deployments/{deployment_id}$"))
        page.get_by_role("button", name="Add a replica").click()
        expect(page.get_by_test_id("desired-replicas")).to_have_text("3")
        expect(running).to_have_count(3, timeout=START_TIMEOUT_MS)
        expect(replicas).to_have_count(3)
        shot(page, "04d-deployment-scaled")
        # Memory changed on the running deployment overrides headwater.yaml, and says so.
        memory = page.get_by_test_id("resource-memory")
        expect(memory).to_have_text("512Mi (from headwater.yaml)")
        page.get_by_role("button", name="Resources…").click()
        sizing = page.get_by_role("dialog", name="Resources")
        sizing.get_by_label("Memory from headwater.yaml").uncheck()
        sizing.get_by_label("Memory per replica").fill("600Mi")
        sizing.get_by_role("button", name="Apply").click()
        expect(sizing).to_be_hidden()
        expect(memory).to_have_text("600Mi (set here; headwater.yaml says 512Mi)")

        # Redeploy the template's first commit (a roll back), then stop.
        with web.client("viewer") as viewer:
            first = viewer.get(f"/api/projects/{project}/commits").json()[-1]["id"]
        page.get_by_role("button", name="Redeploy at commit").click()
        redeploy = page.get_by_role("dialog", name="Redeploy at commit")
        redeploy.get_by_label("Commit").select_option(first)
        redeploy.get_by_role("button", name="Roll back").click()
        expect(page.get_by_test_id("deployment-commit")).to_have_text(first[:8])
        expect(memory).to_have_text("600Mi (set here; headwater.yaml says 512Mi)")
        on_first = page.locator('tr[data-status="running"]', has_text=first[:8])
        expect(on_first).to_have_count(3, timeout=START_TIMEOUT_MS)
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text("No replica runs")).to_be_visible(timeout=START_TIMEOUT_MS)
        page.get_by_role("button", name="Start").click()
        expect(running).to_have_count(3, timeout=START_TIMEOUT_MS)
        go_to(page, "Deployments")
        row = page.locator(f'tr[data-deployment="{deployment_id}"]')
        expect(row).to_contain_text(project)
        # Ready replicas: each has joined the group after the restart.
        expect(row).to_contain_text("3 / 3", timeout=START_TIMEOUT_MS)
        shot(page, "04e-deployments")

        # The input topic live: records produced now arrive in the table.
        go_to(page, "Topics")
        page.get_by_role("link", name="purchases", exact=True).click()
        expect(page.get_by_test_id("tail-status")).to_contain_text("live")
        later = f"bob-{uuid.uuid4().hex[:6]}"
        produce("purchases", purchases(later, [200, 201, 202]))
        live_records = page.get_by_role("table", name="Live records")
        expect(live_records).to_contain_text(later)
        expect(page.get_by_label("Chart field")).to_have_value("amount")
        page.get_by_label("Time axis").select_option("ts")
        shot(page, "04f-topic-live")
        # Paused, new records are held back and shown on resume.
        page.get_by_role("button", name="Pause").click()
        held = f"cy-{uuid.uuid4().hex[:6]}"
        produce("purchases", purchases(held, [300]))
        expect(page.get_by_test_id("tail-status")).to_contain_text("1 held")
        expect(live_records).not_to_contain_text(held)
        page.get_by_role("button", name="Resume").click()
        expect(live_records).to_contain_text(held)
        page.get_by_role("button", name="JSON").click()
        expect(page.get_by_label("Live records as JSON")).to_contain_text(f'"user":"{held}"')

    finally:
        with web.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{deployment_id}").status_code == 200
    go_to(page, "Projects")
    page.get_by_role("link", name=project).click()

    # History: two commits; the newest's diff shows the added line.
    page.get_by_role("tab", name="History").click()
    commits = page.get_by_role("list", name="Commits").get_by_role("listitem")
    expect(commits).to_have_count(2)
    expect(commits.first).to_contain_text("Note the tuning")
    diff = page.get_by_test_id("diff-editor")
    # Monaco renders spaces as no-break spaces.
    expect(diff.locator(".modified-in-monaco-diff-editor")).to_contain_text(
        re.compile(r"#\stuned\sin\sthe\sbrowser")
    )
    shot(page, "05-history-diff")

    # Roll back to the first commit: a third commit restoring the template's files.
    commits.nth(1).get_by_role("button").click()
    page.get_by_role("button", name="Roll back to this commit").click()
    page.get_by_role("dialog").get_by_role("button", name="Roll back").click()
    expect(commits).to_have_count(3)
    expect(commits.first).to_contain_text("Roll back to")
    with web.client("viewer") as viewer:
        head = viewer.get(f"/api/projects/{project}/files/app.py", params={"ref": "HEAD"})
        assert head.status_code == 200
        assert "tuned in the browser" not in head.json()["content"]
        assert head.json()["content"].startswith('"""Windowed features')
    shot(page, "06-history-rolled-back")

    # Topics: the broker's topic with its partitions.
    page.get_by_role("link", name="Topics", exact=True).click()
    row = page.locator(f'tr[data-topic="{topic}"]')
    expect(row).to_be_visible()
    expect(row.locator("td").nth(1)).to_have_text("2")
    shot(page, "07-topics")

    # Settings: the cluster, a token shown once, a write-only secret.
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("table", name="Clusters")).to_contain_text("default")
    shot(page, "08-settings-clusters")
    # A second cluster whose deployments run in a Kubernetes namespace: the form refuses a
    # namespace Kubernetes would, and the target is kept as given.
    page.get_by_role("button", name="Add cluster").click()
    added = page.get_by_role("dialog", name="Add cluster")
    added.get_by_label("Name", exact=True).fill("k8s")
    added.get_by_label("Bootstrap servers").fill("kafka.streaming.svc:9092")
    added.get_by_label("Deployments run on", exact=True).select_option("kubernetes")
    added.get_by_label("Namespace").fill("Bad_NS")
    expect(added.get_by_text("lowercase letters, digits and -")).to_be_visible()
    expect(added.get_by_role("button", name="Save")).to_be_disabled()
    added.get_by_label("Namespace").fill("streaming")
    added.get_by_label("State volume per replica").fill("2Gi")
    added.get_by_role("button", name="Save").click()
    k8s_row = page.get_by_role("table", name="Clusters").get_by_role("row").filter(has_text="k8s")
    expect(k8s_row.get_by_test_id("deploy-target")).to_have_text("Kubernetes · streaming")
    with web.client("viewer") as viewer:
        target = next(c for c in viewer.get("/api/clusters").json() if c["name"] == "k8s")
        assert target["deploy_target"]["kind"] == "kubernetes"
        assert target["deploy_target"]["namespace"] == "streaming"
        assert target["deploy_target"]["state_size"] == "2Gi"
    shot(page, "08b-settings-kubernetes-target")
    k8s_row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete cluster").click()
    expect(k8s_row).to_have_count(0)
    page.get_by_role("tab", name="API tokens").click()
    page.get_by_label("Token name").fill("from-the-browser")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("new-token")).to_have_text(re.compile(r"^\S{20,}$"))
    shot(page, "09-settings-tokens")
    page.get_by_role("tab", name="Secrets").click()
    page.get_by_role("button", name="Add secret").click()
    secret = page.get_by_role("dialog", name="Add secret")
    secret.get_by_label("Name").fill("web-secret")
    secret.get_by_label("Value").fill("s3cret-value")
    secret.get_by_role("button", name="Save").click()
    expect(page.get_by_role("table", name="Secrets")).to_contain_text("web-secret")
    expect(page.get_by_text("s3cret-value")).to_have_count(0)
    shot(page, "10-settings-secrets")
    page.get_by_role("tab", name="Users and roles").click()
    expect(page.get_by_role("table", name="Users")).to_contain_text(username("viewer"))
    # Another user's role can be changed here, one's own only by another admin.
    expect(page.get_by_label(f"Role of {username('viewer')}")).to_be_enabled()
    expect(page.get_by_label("Role of admin", exact=True)).to_be_disabled()
    shot(page, "11-settings-users")
    page.get_by_role("link", name="Pipeline", exact=True).click()
    shot(page, "12-pipeline")

    assert problems.found == []


FAILING_APP = """\
from headwater import App

app = App("inverter", on_error="raise")
numbers = app.topic("{topic}", value="json")


def invert(value):
    return {{"inverse": 1 / value["n"]}}


app.dataframe(numbers).apply(invert).to_topic(app.topic("{topic}-out"))
"""
FAILING_LINE = 8  # 1 / value["n"]


def test_a_failing_preview_shows_the_traceback_and_marks_the_line(
    open_page: Callable[[], tuple[Page, Problems]],
    web: LiveServer,
    make_topic: Callable[..., str],
    produce: Callable[..., None],
) -> None:
    topic = make_topic("numbers")
    produce(topic, [(None, b'{"n": 0}')])
    project = f"failing-{uuid.uuid4().hex[:6]}"
    files = {
        "app.py": FAILING_APP.format(topic=topic),
        "headwater.yaml": (
            f"apps:\n  - name: inverter\n    entrypoint: app.py\n    inputs: [{topic}]\n"
        ),
    }
    with web.client("editor") as editor:
        assert editor.post("/api/projects", json={"name": project}).status_code == 201
        for path, content in files.items():
            put = editor.put(f"/api/projects/{project}/files/{path}", json={"content": content})
            assert put.status_code == 200, put.text
    page, problems = open_page()
    log_in(page, username("editor"), PASSWORD)
    page.goto(f"/projects/{project}?file=app.py")
    editor_view = page.get_by_test_id("code-editor")
    expect(editor_view.locator(".view-lines")).to_contain_text("inverse")
    page.get_by_role("button", name="Preview").click()
    panel = page.get_by_role("region", name="Preview")
    panel.get_by_role("button", name="Run preview").click()
    error = panel.get_by_role("alert")
    expect(error).to_contain_text("ZeroDivisionError", timeout=60_000)
    expect(error).to_contain_text(f"app.py:{FAILING_LINE} in invert")
    marked = editor_view.locator(".margin-view-overlays > div:has(.error-line-margin)")
    expect(marked).to_have_count(1)
    expect(marked.locator(".line-numbers")).to_have_text(str(FAILING_LINE))
    shot(page, "13-preview-error")
    assert problems.found == []


def test_a_viewer_sees_no_write_controls(
    open_page: Callable[[], tuple[Page, Problems]],
    web: LiveServer,
    make_topic: Callable[..., str],
) -> None:
    project = f"viewed-{uuid.uuid4().hex[:6]}"
    topic = make_topic("viewed")
    with web.client("editor") as editor:
        made = editor.post("/api/projects", json={"name": project, "template": "hello-stream"})
        assert made.status_code == 201, made.text
        # Stopped, so no process starts: the page is what matters here.
        deployed = editor.post(
            f"/api/projects/{project}/deployments", json={"app": project, "state": "stopped"}
        )
        assert deployed.status_code == 201, deployed.text
        deployment_id = deployed.json()["id"]
    page, problems = open_page()
    log_in(page, username("viewer"), PASSWORD)
    expect(page.get_by_role("link", name=project)).to_be_visible()
    expect(page.get_by_role("button", name="New project")).to_have_count(0)
    page.get_by_role("link", name=project).click()
    expect(page.get_by_test_id("code-editor").locator(".view-lines")).to_be_visible()
    expect(page.get_by_text("read only")).to_be_visible()
    for control in ("Save", "Commit", "New file", "Preview", "Deploy"):
        expect(page.get_by_role("button", name=control)).to_have_count(0)
    shot(page, "20-viewer-project")
    page.get_by_role("tab", name="History").click()
    expect(page.get_by_role("list", name="Commits").get_by_role("listitem")).to_have_count(1)
    page.get_by_role("link", name="Topics", exact=True).click()
    expect(page.get_by_role("table", name="Topics").get_by_text(topic)).to_be_visible()
    expect(page.get_by_role("button", name="New topic")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete topic"))).to_have_count(0)
    page.get_by_role("link", name=topic).click()  # its settings, read only
    settings = page.get_by_role("region", name="Configuration")
    expect(settings.locator("tr[data-setting='partitions']")).to_be_visible()
    for control in ("Edit settings", "Grow partitions"):
        expect(settings.get_by_role("button", name=control)).to_have_count(0)
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("table", name="Clusters")).to_be_visible()
    expect(page.get_by_role("button", name="Add cluster")).to_have_count(0)
    expect(page.get_by_role("tab", name="Users and roles")).to_have_count(0)
    shot(page, "21-viewer-settings")
    go_to(page, "Deployments")
    row = page.locator(f'tr[data-deployment="{deployment_id}"]')
    row.locator(f'a[href="/deployments/{deployment_id}"]').click()  # the app's link
    expect(page.get_by_role("heading", name=project)).to_be_visible()
    expect(page.get_by_test_id("deployment-logs")).to_be_visible()
    for control in ("Add a replica", "Remove a replica", "Stop", "Start", "Redeploy"):
        expect(page.get_by_role("button", name=control)).to_have_count(0)
    shot(page, "22-viewer-deployment")
    # The pipeline: the node's drawer without scale or stop controls, no "Add deployment".
    go_to(page, "Pipeline")
    node = page.locator(f'[data-node="deployment:{deployment_id}"]')
    expect(node).to_be_visible()
    expect(page.get_by_role("button", name="Add deployment")).to_have_count(0)
    panel = page.get_by_role("complementary", name="Deployment")
    open_by_clicking(node, panel)
    expect(panel.get_by_role("heading", name=project)).to_be_visible()
    expect(panel.get_by_test_id("deployment-logs")).to_be_visible()
    for control in ("Add a replica", "Remove a replica", "Stop", "Start", "Redeploy"):
        expect(panel.get_by_role("button", name=control)).to_have_count(0)
    shot(page, "23-viewer-pipeline")
    with web.client("editor") as editor:
        assert editor.delete(f"/api/deployments/{deployment_id}").status_code == 200
    assert problems.found == []


def test_the_deploy_dialog_creates_the_topics_an_app_lacks(
    open_page: Callable[[], tuple[Page, Problems]],
    web: LiveServer,
    make_topic: Callable[..., str],
    bootstrap: str,
) -> None:
    events = make_topic("deploy-events")
    project = f"lacking-{uuid.uuid4().hex[:6]}"
    missing = f"{project}-greetings"
    with web.client("editor") as editor:
        made = editor.post(
            "/api/projects",
            json={
                "name": project,
                "template": "hello-stream",
                "topics": {"events": {"name": events}, "greetings": {"name": missing}},
            },
        )
        assert made.status_code == 201, made.text
    page, problems = open_page()
    log_in(page, username("editor"), PASSWORD)
    page.goto(f"/projects/{project}")
    page.get_by_role("button", name="Deploy", exact=True).click()
    deploy = page.get_by_role("dialog", name="Deploy")
    topics = deploy.get_by_role("table", name="Topics it reads and writes")
    expect(topics.locator(f'tr[data-topic="{events}"]')).to_contain_text("exists")
    expect(topics.locator(f'tr[data-topic="{missing}"]')).to_contain_text("new topic")
    deploy.get_by_label(f"Partitions of {missing}").fill("2")
    deploy.get_by_role("button", name="Deploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
    deployment = int(page.url.rsplit("/", 1)[1])
    with web.client("editor") as editor:
        assert editor.delete(f"/api/deployments/{deployment}").status_code == 200
    created = TopicAdmin(KafkaSettings(bootstrap)).list_topics()
    assert created[missing].partitions == 2
    assert problems.found == []


def test_an_admin_adds_a_secret_and_deletes_it_after_confirming(
    open_page: Callable[[], tuple[Page, Problems]], web: LiveServer
) -> None:
    name = f"WEB_SECRET_{uuid.uuid4().hex[:6]}"
    project = f"secrets-{uuid.uuid4().hex[:6]}"
    with web.client("admin") as admin:
        assert admin.post("/api/projects", json={"name": project}).status_code == 201
    page, problems = open_page()
    log_in(page, "admin", ADMIN_PASSWORD)
    go_to(page, "Settings")
    page.get_by_role("tab", name="Secrets").click()
    page.get_by_label("Project").select_option(project)
    page.get_by_role("button", name="Add secret").click()
    dialog = page.get_by_role("dialog", name="Add secret")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Value").fill("s3cret-value")
    dialog.get_by_role("button", name="Save").click()
    table = page.get_by_role("table", name="Secrets")
    row = table.locator("tr", has_text=name)
    expect(row).to_contain_text("write-only")
    expect(table).not_to_contain_text("s3cret-value")
    # Deleting asks first; cancelling keeps the secret.
    row.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name=f"Delete secret {name}?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    expect(row).to_be_visible()
    row.get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Delete secret").click()
    expect(row).to_have_count(0)
    with web.client("admin") as admin:
        secrets = admin.get(f"/api/projects/{project}/secrets").json()
        assert name not in {s["name"] for s in secrets}
    assert problems.found == []


def test_an_admin_deletes_a_topic_after_typing_its_name(
    open_page: Callable[[], tuple[Page, Problems]],
    make_topic: Callable[..., str],
    bootstrap: str,
) -> None:
    topic = make_topic("doomed")
    page, problems = open_page()
    log_in(page, "admin", ADMIN_PASSWORD)
    go_to(page, "Topics")
    page.get_by_role("button", name=f"Delete topic {topic}").click()
    confirm = page.get_by_role("dialog", name=f"Delete topic {topic}?")
    button = confirm.get_by_role("button", name="Delete topic")
    expect(button).to_be_disabled()  # until the name is typed
    confirm.get_by_label(re.compile("to confirm")).fill(topic)
    button.click()
    expect(confirm).to_have_count(0)
    expect(page.get_by_role("table", name="Topics").get_by_text(topic, exact=True)).to_have_count(0)
    admin = TopicAdmin(KafkaSettings(bootstrap))
    wait_until(lambda: topic not in admin.list_topics(), timeout=15)
    assert problems.found == []


def test_an_editor_changes_a_topics_settings_grows_it_and_watches_a_groups_lag(
    open_page: Callable[[], tuple[Page, Problems]],
    make_topic: Callable[..., str],
    produce: Callable[..., None],
    bootstrap: str,
) -> None:
    # A group with one member that has read partition 0 up to 1 of 3 records, 1 up to 2 of 2.
    read_topic = make_topic("web-group-input", partitions=2)
    for partition in (0, 1):
        produce(read_topic, [(b"k", b"v")] * (3 - partition), partition=partition)
    group = f"web-readers-{uuid.uuid4().hex[:6]}"
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "web-lag-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    try:
        consumer.subscribe([read_topic])
        wait_until(lambda: consumer.poll(0.2) is None and len(consumer.assignment()) == 2, 60)
        consumer.commit(
            offsets=[TopicPartition(read_topic, 0, 1), TopicPartition(read_topic, 1, 2)],
            asynchronous=False,
        )

        page, problems = open_page()
        log_in(page, username("editor"), PASSWORD)
        go_to(page, "Topics")
        settings_topic = f"web-settings-{uuid.uuid4().hex[:6]}"
        page.get_by_role("button", name="New topic").click()
        create = page.get_by_role("dialog", name="New topic")
        create.get_by_label("Name").fill(settings_topic)
        create.get_by_label("Partitions").fill("2")
        create.get_by_role("button", name="Create topic").click()
        page.get_by_role("link", name=settings_topic).click()

        settings = page.get_by_role("region", name="Configuration")
        expect(settings.locator("tr[data-setting='partitions']")).to_contain_text("2")
        expect(settings.locator("tr[data-setting='cleanup.policy']")).to_contain_text("delete")
        retention = settings.locator("tr[data-setting='retention.ms']")
        expect(retention).to_contain_text("default")

        # The broker refuses a retention that is not a number; the dialog says so and stays.
        settings.get_by_role("button", name="Edit settings").click()
        edit = page.get_by_role("dialog", name=f"Settings of {settings_topic}")
        edit.get_by_label("retention.ms").fill("soon")
        edit.get_by_role("button", name="Save settings").click()
        expect(edit.locator(".error-box")).to_contain_text("retention.ms")
        edit.get_by_label("retention.ms").fill("3600000")
        edit.get_by_role("button", name="Save settings").click()
        expect(edit).to_have_count(0)
        expect(retention).to_contain_text("3600000")
        expect(retention).to_contain_text("set on topic")
        page.reload()  # read back from the broker, not the form
        expect(retention).to_contain_text("3600000")

        settings.get_by_role("button", name="Grow partitions").click()
        grow = page.get_by_role("dialog", name=f"Grow {settings_topic} to more partitions?")
        expect(grow.get_by_role("alert")).to_contain_text(
            "Keyed records will map to different partitions"
        )
        expect(grow.get_by_role("alert")).to_contain_text("co-partitioned")
        confirm = grow.get_by_role("button", name="Grow partitions")
        expect(confirm).to_be_disabled()  # until the warning is acknowledged
        grow.get_by_role("spinbutton", name=re.compile("^Partitions")).fill("3")
        grow.get_by_label("I understand that existing keys move to other partitions").check()
        confirm.click()
        expect(grow).to_have_count(0)
        expect(settings.locator("tr[data-setting='partitions']")).to_contain_text("3")
        topics = TopicAdmin(KafkaSettings(bootstrap)).list_topics()
        assert topics[settings_topic].partitions == 3
        shot(page, "topic-settings")

        go_to(page, "Consumer groups")
        groups = page.get_by_role("table", name="Consumer groups")
        groups.get_by_role("link", name=group).click()
        members = page.get_by_role("table", name="Members")
        member = members.locator("tr[data-member='web-lag-reader']")
        expect(member).to_be_visible()
        expect(member.get_by_test_id("assignment")).to_have_text(f"{read_topic}[0,1]")
        lags = page.get_by_role("table", name="Lag per partition")
        expect(
            lags.locator(f"tr[data-partition='{read_topic}/0']").get_by_test_id("lag")
        ).to_have_text("2")
        expect(
            lags.locator(f"tr[data-partition='{read_topic}/1']").get_by_test_id("lag")
        ).to_have_text("0")
        # The platform samples lag every few seconds: the chart has points once it has.
        chart = page.get_by_test_id("lag-chart")
        expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
        expect(chart.get_by_role("img", name="Lag per partition")).to_be_visible()
        shot(page, "consumer-group")
        # The one failed request is the refused retention, which the dialog showed.
        assert [p for p in problems.found if "status of 422" not in p] == []
        assert len(problems.found) == 1, problems.found
    finally:
        consumer.close()
