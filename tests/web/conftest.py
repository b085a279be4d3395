"""The browser for the web tests (Debian's Chromium, one per test module) and the platform
they drive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS
from platform_server import ADMIN_PASSWORD, LiveServer, live_server
from playwright.sync_api import Browser, sync_playwright

from headwater.platform import PlatformSettings


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/services.sh (it installs Debian's chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, bootstrap: str) -> Iterator[LiveServer]:
    """A live server (SQLite) whose `default` cluster is the test broker."""
    settings = PlatformSettings(
        data_dir=tmp_path_factory.mktemp("web"),
        admin_password=ADMIN_PASSWORD,
        secret_key=None,
    )
    with live_server(settings, "sqlite") as live:
        with live.client("admin") as admin:
            made = admin.post(
                "/api/clusters", json={"name": "default", "bootstrap_servers": bootstrap}
            )
            assert made.status_code == 201, made.text
        yield live
