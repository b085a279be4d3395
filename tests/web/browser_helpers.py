"""What the browser tests share: Debian's Chromium, a page's console problems, screenshots,
logging in and clicking the pipeline graph.

Imported by name (like kafka_helpers); the ``browser`` fixture is in this folder's conftest.
"""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Deployed replicas start a Python process each; give them time on a busy machine.
START_TIMEOUT_MS = 90_000
# Assertions wait up to 15 s, not Playwright's 5: the suite runs in two processes on two cores,
# and a page's first request can queue behind the other process's work.
expect.set_options(timeout=15_000)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
# The screen the pipeline must be readable on.
WIDE_VIEWPORT = {"width": 1440, "height": 900}


class Problems:
    """Console errors and uncaught exceptions of a page, except the expected 401 of the
    session check a logged-out page makes."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if "status of 401" in message.text and url.endswith("/api/auth/me"):
            return
        self.found.append(f"console: {message.text} ({url})")


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def log_in(page: Page, user: str, password: str) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Headwater")).to_be_visible()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def open_by_clicking(target: Locator, opened: Locator, timeout: float = 30) -> None:
    """Click a graph element until ``opened`` shows: a poll that changes the graph can
    re-lay it out between Playwright's stability check and the click."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            target.click(timeout=5_000)
            expect(opened).to_be_visible(timeout=2_000)
            return
        except (AssertionError, PlaywrightTimeoutError):
            if time.monotonic() > deadline:
                raise
            # Bring the whole graph back into the pane, in case it grew past the last fit.
            target.page.get_by_role("button", name="Fit View").click()


def go_to(page: Page, section: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=section).click()
