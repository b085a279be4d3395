"""A project's Models tab: an editor uploads a model and a second version, sees their signature
and metrics, promotes one to production and rolls it back; a bad file is refused with the field
to fix; a viewer sees the versions and no control (headless Chromium against a live server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import VIEWPORT, Problems, log_in, shot
from model_helpers import fraud_model
from platform_server import ADMIN_PASSWORD, PASSWORD, LiveServer, live_server, username
from playwright.sync_api import Browser, Page, expect

from headwater.models.registry import RegistryFolder
from headwater.platform import PlatformSettings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
