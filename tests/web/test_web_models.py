"""A project's Models tab: an editor uploads a model and a second version, sees their signature
and metrics, promotes one to production and rolls it back; a bad file is refused with the field
to fix; a viewer sees the versions and no control. With a deployment scoring, promoting another
version switches the version its scores come from, and the score chart draws the new version's
line (headless Chromium against a live server, a real deployment on the test broker)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from browser_helpers import START_TIMEOUT_MS, VIEWPORT, Problems, log_in, shot
from model_helpers import SCORER_APP, SCORER_MANIFEST, fraud_model
from platform_server import ADMIN_PASSWORD, PASSWORD, LiveServer, live_server, username
from playwright.sync_api import Browser, Page, expect
from test_web_steps import while_producing

from headwater import Topic
from headwater.kafka.admin import TopicAdmin
from headwater.models.registry import RegistryFolder
from headwater.platform import PlatformSettings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
UPLOAD_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = PlatformSettings(
        data_dir=tmp_path_factory.mktemp("web-models"),
        admin_password=ADMIN_PASSWORD,
        secret_key=None,
    )
    with live_server(settings, "sqlite") as live:
        yield live


def upload_in_dialog(page: Page, file: Path, name: str | None = None, metrics: str = "") -> None:
    dialog = page.get_by_role("dialog")
    if name is not None:
        dialog.get_by_label("Model name").fill(name)
    dialog.locator('input[name="model-file"]').set_input_files(str(file))
    dialog.get_by_label("Metrics").fill(metrics)
    dialog.get_by_role("button", name="Upload").click()


def test_upload_promote_and_roll_back_in_the_browser(
    browser: Browser, web: LiveServer, tmp_path: Path
) -> None:
    project = f"models-{uuid.uuid4().hex[:6]}"
    with web.client("editor") as editor:
        assert editor.post("/api/projects", json={"name": project}).status_code == 201
    first, second = fraud_model(tmp_path), fraud_model(tmp_path, flip=True)
    garbage = tmp_path / "broken.joblib"
    garbage.write_bytes(b"not a model")
    context = browser.new_context(viewport=VIEWPORT, base_url=web.url)
    try:
        page = context.new_page()
        problems = Problems(page)
        log_in(page, username("editor"), PASSWORD)
        page.goto(f"/projects/{project}?tab=models")
        expect(page.get_by_role("tab", name="Models")).to_have_attribute("aria-selected", "true")
        expect(page.get_by_text("No models yet")).to_be_visible()

        # A file that is no model: the dialog says which field to fix; nothing is stored.
        page.get_by_role("button", name="Upload model").click()
        upload_in_dialog(page, garbage, name="fraud")
        dialog = page.get_by_role("dialog")
        expect(dialog.locator(".field-error").first).to_contain_text("does not load")
        dialog.press("Escape")
        expect(page.get_by_text("No models yet")).to_be_visible()

        page.get_by_role("button", name="Upload model").click()
        upload_in_dialog(page, first, name="fraud", metrics='{"auc": 0.93}')
        card = page.get_by_test_id("model-fraud")
        v1 = card.get_by_test_id("version-1")
        expect(v1).to_contain_text("sklearn")
        expect(v1).to_contain_text("amount, night")
        expect(v1).to_contain_text("auc 0.93")
        expect(v1).to_contain_text(username("editor"))
        expect(card).to_contain_text("models:/fraud@production")

        card.get_by_role("button", name="New version").click()
        upload_in_dialog(page, second)
        v2 = card.get_by_test_id("version-2")
        expect(v2).to_be_visible()
        aliases = card.get_by_test_id("model-aliases")
        expect(aliases).to_have_text("no alias yet")

        v1.get_by_role("button", name="Promote to production").click()
        expect(aliases).to_have_text("production → v1")
        expect(v1.get_by_role("button", name="Promote to production")).to_have_count(0)
        v2.get_by_role("button", name="Promote to production").click()
        expect(aliases).to_have_text("production → v2")
        expect(v2).to_contain_text("production")
        shot(page, "40-models")
        folder = RegistryFolder(web.context.models.folder(project))
        assert folder.aliases("fraud") == {"production": 2}  # what deployments follow

        card.get_by_role("button", name="Roll back production").click()
        expect(aliases).to_have_text("production → v1")
        assert folder.aliases("fraud") == {"production": 1}
        # The browser reports the refused upload's 422; nothing else may go wrong.
        assert [p for p in problems.found if "filename=broken.joblib" not in p] == []
    finally:
        context.close()

    # A viewer sees the versions and the aliases, and no button that changes them.
    context = browser.new_context(viewport=VIEWPORT, base_url=web.url)
    try:
        page = context.new_page()
        log_in(page, username("viewer"), PASSWORD)
        page.goto(f"/projects/{project}?tab=models")
        card = page.get_by_test_id("model-fraud")
        expect(card.get_by_test_id("version-2")).to_be_visible()
        expect(card.get_by_test_id("model-aliases")).to_have_text("production → v1")
        expect(page.get_by_role("button", name="Upload model")).to_have_count(0)
        expect(page.get_by_role("button", name="Promote to production")).to_have_count(0)
        expect(page.get_by_role("button", name="Roll back production")).to_have_count(0)
    finally:
        context.close()


def test_a_promotion_switches_the_deployments_scores_and_their_chart(
    browser: Browser,
    web: LiveServer,
    admin: TopicAdmin,
    bootstrap: str,
    produce: Callable[..., None],
    tmp_path: Path,
) -> None:
    token = uuid.uuid4().hex[:6]
    project, payments, scores = f"scoring-{token}", f"payments-{token}", f"scores-{token}"
    admin.create([Topic(payments), Topic(scores)])
    with web.client("admin") as platform_admin:
        cluster = f"scoring-{token}"
        made = platform_admin.post(
            "/api/clusters", json={"name": cluster, "bootstrap_servers": bootstrap}
        )
        assert made.status_code == 201, made.text
    with web.client("editor") as editor:
        assert editor.post("/api/projects", json={"name": project}).status_code == 201
        files = {
            "app.py": SCORER_APP.format(group=project, payments=payments, scores=scores),
            "headwater.yaml": SCORER_MANIFEST.format(payments=payments, scores=scores),
        }
        for path, content in files.items():
            put = editor.put(f"/api/projects/{project}/files/{path}", json={"content": content})
            assert put.status_code == 200, put.text
        assert editor.post(
            f"/api/projects/{project}/commits", json={"message": "scorer"}
        ).is_success
    sequence = itertools.count()

    def feed() -> None:
        """A few payments: both versions score some as fraud and some not."""
        records = [
            (b"%d" % n, orjson.dumps({"id": n, "amount": float(n % 97), "night": n % 2}))
            for n in itertools.islice(sequence, 20)
        ]
        produce(payments, records)

    context = browser.new_context(viewport=VIEWPORT, base_url=web.url)
    deployment = None
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems = Problems(page)
        log_in(page, username("editor"), PASSWORD)
        page.goto(f"/projects/{project}?tab=models")
        panel = page.get_by_role("region", name="Scoring in deployments")
        expect(panel).to_contain_text("No deployment has scored with a model yet")
        # The platform loads each upload in its sandbox before keeping it: slow on a busy machine.
        page.get_by_role("button", name="Upload model").click()
        upload_in_dialog(page, fraud_model(tmp_path), name="fraud")
        card = page.get_by_test_id("model-fraud")
        expect(card.get_by_test_id("version-1")).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
        card.get_by_role("button", name="New version").click()
        upload_in_dialog(page, fraud_model(tmp_path, flip=True))
        expect(card.get_by_test_id("version-2")).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
        card.get_by_test_id("version-1").get_by_role("button", name="Promote to production").click()
        expect(card.get_by_test_id("model-aliases")).to_have_text("production → v1")

        with web.client("editor") as editor:
            made = editor.post(
                f"/api/projects/{project}/deployments", json={"app": "scorer", "cluster": cluster}
            )
            assert made.status_code == 201, made.text
            deployment = made.json()["id"]
        scoring = page.get_by_test_id("model-scores-scorer")
        chart = scoring.get_by_test_id("score-chart")

        def scoring_with_v1() -> None:
            expect(scoring.get_by_test_id("scoring-version")).to_have_attribute(
                "data-version", "1", timeout=2_000
            )
            expect(chart).to_have_attribute("data-versions", "1", timeout=2_000)

        while_producing(feed, scoring_with_v1, timeout=START_TIMEOUT_MS / 1000 + 60)
        expect(scoring.get_by_test_id("scoring-rate")).to_contain_text("records/s")
        expect(scoring.get_by_test_id("scoring-batch")).to_contain_text("ms per batch")
        expect(chart.get_by_role("img", name="Mean score, per version")).to_be_visible()
        before = int(chart.get_attribute("data-points") or 0)

        # Promote version 2: the deployment scores with it, and the chart gains its line.
        card.get_by_test_id("version-2").get_by_role("button", name="Promote to production").click()
        expect(card.get_by_test_id("model-aliases")).to_have_text("production → v2")

        def scoring_with_v2() -> None:
            expect(scoring.get_by_test_id("scoring-version")).to_have_attribute(
                "data-version", "2", timeout=2_000
            )
            expect(chart).to_have_attribute("data-versions", "1,2", timeout=2_000)
            assert int(chart.get_attribute("data-points") or 0) > before

        while_producing(feed, scoring_with_v2, timeout=120)
        shot(page, "41-model-scores")
        # What the chart draws: version 2 (the flipped rule) scores these payments higher.
        with web.client("viewer") as viewer:
            (step,) = viewer.get(f"/api/projects/{project}/model-scores").json()["steps"]
        means = {
            version: _mean([p["bins"] for p in step["points"] if p["version"] == version])
            for version in ("1", "2")
        }
        assert means["2"] > 0.5 > means["1"], means
        assert problems.found == []
    finally:
        context.close()
        if deployment is not None:
            with web.client("editor") as editor:
                assert editor.delete(f"/api/deployments/{deployment}").status_code == 200


def _mean(histograms: list[list[float]]) -> float:
    """The mean score of summed histograms per tenth of [0, 1], each bin at its middle."""
    bins = [sum(column) for column in zip(*histograms, strict=True)]
    return sum(n * (i + 0.5) / len(bins) for i, n in enumerate(bins)) / sum(bins)
