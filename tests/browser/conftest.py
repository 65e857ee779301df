"""Browser tests: Playwright's sync API drives Debian's Chromium against ``live_server``.

Locally the tests skip when /usr/bin/chromium is missing; with ``CI=true`` they fail instead,
so a CI image without a browser cannot pass silently.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_REASON = "Chromium not installed: apt-get install chromium"
IN_CI = os.environ.get("CI") == "true"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct horse battery"  # tests.factories.UserFactory's password

_skipped: list[str] = []


def _unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where a missing browser must not pass unnoticed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests must not skip)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or IN_CI:
        return
    skip = pytest.mark.skip(reason=MISSING_REASON)
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(skip)
            _skipped.append(item.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say why the browser tests did not run, even without ``-rs``."""
    if _skipped:
        terminalreporter.write_line(
            f"{len(_skipped)} browser test(s) skipped: {MISSING_REASON}", yellow=True
        )


class _OneRequestAtATime(ThreadedWSGIServer):
    """The live server, answering one request at a time (each on its own thread, so a
    browser's kept-alive connections never block each other).

    With SQLite the live server shares the test's one in-memory connection between its
    threads; two requests at once (the map editor saves as a factor is dragged) can then
    run statements on it together, and SQLite refuses to commit while another's statement is
    in progress. A deployed server has a connection per thread, so this is the test
    harness's constraint, not the app's."""

    lock = threading.Lock()

    def set_app(self, application: Any) -> None:
        def serially(environ: Any, start_response: Any) -> list[bytes]:
            with self.lock:
                return list(application(environ, start_response))

        super().set_app(serially)


@pytest.fixture(scope="session", autouse=True)
def _live_server_one_request_at_a_time() -> Iterator[None]:
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    previous = LiveServerThread.server_class
    LiveServerThread.server_class = _OneRequestAtATime
    try:
        yield
    finally:
        LiveServerThread.server_class = previous


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    if not CHROMIUM.exists():
        _unavailable(MISSING_REASON)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright not installed: pip install -e '.[dev]'")

    # The sync API keeps an asyncio loop running in this thread, so Django would refuse
    # database access from the test body (factories, flushes) without this.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# Every page reports what its Content-Security-Policy blocked, through a binding the browser
# context provides (init scripts and bindings are not subject to the page's policy).
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__amniyatCspViolation(
    event.effectiveDirective + " blocked " + (event.blockedURI || "inline") + " at "
    + event.sourceFile + ":" + event.lineNumber + " " + (event.sample || "")
  );
});
"""


def _new_page(browser: Browser, **context_options: Any) -> Iterator[Page]:
    """A page in a fresh context. The test fails at teardown if the page's
    Content-Security-Policy blocked anything: a script, a style or an image the app needs
    would otherwise be missing unnoticed, and an injected one must never be there to block."""
    context = browser.new_context(locale="en-GB", **context_options)
    context.set_default_timeout(10_000)
    violations: list[str] = []

    def blocked(source: dict[str, Any], text: str) -> None:
        violations.append(f"{source['frame'].url}: {text}")

    def logged(message: Any) -> None:
        # Chromium also logs each refusal (some, as eval, before any event fires).
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.expose_binding("__amniyatCspViolation", blocked)
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on("console", logged)
    try:
        yield page
    finally:
        # Let the last requests finish: the live server shares the test's database
        # connection, and the flush after the test must not race a request.
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=5_000)
        context.close()
    if violations:
        pytest.fail("The Content-Security-Policy blocked:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def page(chromium: Browser, live_server: Any) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop size."""
    yield from _new_page(chromium, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone_page(chromium: Browser, live_server: Any) -> Iterator[Page]:
    """A fresh browser context the size of a small Android phone."""
    yield from _new_page(
        chromium,
        viewport={"width": 360, "height": 740},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
    )


def sign_in(page: Page, base_url: str, username: str, *, screenshot: Path | None = None) -> None:
    """Sign in through the real login form."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(f"{base_url}/accounts/login/")
    expect(page.locator("header.topbar")).to_contain_text(username)
