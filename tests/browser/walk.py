"""The page walk's machinery (tests/browser/test_page_walk.py): a live server that answers as a
deployment does, and a meter that opens one page in Chromium and tells what a phone on a slow
connection would notice.

A deployment serves the static files collected into ``STATIC_ROOT`` (hashed names, gzip and
brotli copies, cached for years) through WhiteNoise, and compresses HTML with
``GZipMiddleware``. pytest-django's ``live_server`` answers ``/static/`` itself, from the source
folders, unhashed, uncompressed and uncached, so a page weighed there would weigh what no
person ever downloads; :func:`deployed_server` takes that handler out.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from django.core.management import call_command
from django.test import override_settings

from tests.browser.conftest import _REPORT_CSP_VIOLATIONS

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response


def served_static_settings() -> dict[str, Any]:
    """The static-file settings of a server that serves collected files (production,
    ``make demo``), read from the settings module itself, so that the walk weighs pages as
    those servers send them."""
    spec = importlib.util.find_spec("amniyat.settings")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, {"AMNIYAT_COLLECTED_STATIC": "1"}):
        spec.loader.exec_module(module)
    names = ["STORAGES", *(name for name in vars(module) if name.startswith("WHITENOISE_"))]
    return {name: getattr(module, name) for name in names}


def collect_static(root: Path, *, brotli: bool = True, **overrides: Any) -> dict[str, Any]:
    """Collect the static files into ``root`` as ``amniyat collectstatic`` does for a
    deployment (``overrides`` apply while collecting); return the settings that serve them.

    ``brotli=False`` writes no brotli copies: Chromium asks for brotli only over HTTPS, so a
    walk over the live server's plain HTTP never receives them, and brotli at its best quality
    takes minutes over the vendored packages."""
    served = {**served_static_settings(), "STATIC_ROOT": root}
    without_brotli = mock.patch("whitenoise.compress.brotli_installed", new=False)
    with override_settings(**served, **overrides), nullcontext() if brotli else without_brotli:
        call_command("collectstatic", interactive=False, verbosity=0)
    return served


def _as_deployed(handler: Any) -> Any:
    """Instead of pytest-django's static-files handler: WhiteNoise answers ``/static/``."""
    return handler


@contextmanager
def deployed_server(served: dict[str, Any]) -> Iterator[str]:
    """A live server with the collected static files; yields its address."""
    from pytest_django.live_server_helper import LiveServer

    with override_settings(**served):
        server = LiveServer("localhost", start=False)
        # Django types it as a handler class; any callable that wraps the application will do.
        server.thread.static_handler = _as_deployed  # type: ignore[assignment]
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


@dataclass
class Load:
    """One page load: what Chromium received over the network and what it logged."""

    received: int  # bytes: compressed bodies and headers of every response (CDP encodedDataLength)
    requests: int
    status: int
    content_type: str
    content_encoding: str
    errors: list[str] = field(default_factory=list)


class PageMeter:
    """Loads pages in one tab and counts, through the Chrome DevTools Protocol, the bytes each
    load received: every response's ``encodedDataLength`` (what came over the wire, headers
    included), redirects too. Requests still running when a load settles are not counted."""

    QUIET = 0.03  # seconds without a request in flight before a load counts as finished
    PATIENCE = 5.0  # seconds a page may keep fetching after its load event

    def __init__(self, context: BrowserContext) -> None:
        self.page: Page = context.new_page()
        self.cdp = context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self._in_flight: set[str] = set()
        self._received = 0
        self._requests = 0
        self._last_activity = time.monotonic()
        self._errors: list[str] = []
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)
        context.expose_binding("__amniyatCspViolation", self._csp_violation)
        context.add_init_script(_REPORT_CSP_VIOLATIONS)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self._errors.append(f"page error: {error}"))

    # --- CDP and page events ---------------------------------------------------------

    def _sent(self, event: dict[str, Any]) -> None:
        redirect = event.get("redirectResponse")
        if redirect is not None:  # the same request id goes on to the next hop
            self._received += int(redirect.get("encodedDataLength", 0))
        else:
            self._requests += 1
        self._in_flight.add(event["requestId"])
        self._last_activity = time.monotonic()

    def _finished(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self._in_flight:
            self._in_flight.discard(event["requestId"])
            self._received += int(event.get("encodedDataLength", 0))
        self._last_activity = time.monotonic()

    def _failed(self, event: dict[str, Any]) -> None:
        self._in_flight.discard(event["requestId"])
        self._last_activity = time.monotonic()

    def _console(self, message: Any) -> None:
        # A browser asks for /favicon.ico by itself, now and then, whenever a page names no
        # icon: not an error of the page.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            where = message.location.get("url", "")
            self._errors.append(f"console: {message.text}" + (f" ({where})" if where else ""))

    def _csp_violation(self, source: dict[str, Any], text: str) -> None:
        self._errors.append(f"Content-Security-Policy: {text}")

    # --- loading -----------------------------------------------------------------------

    def cache(self, *, enabled: bool) -> None:
        """Off, every request goes to the server (what it receives still fills the cache)."""
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": not enabled})

    def load(self, url: str) -> Load:
        self._in_flight.clear()
        self._received = self._requests = 0
        self._errors = []
        response: Response | None = self.page.goto(url, wait_until="load")
        self._settle()
        headers = response.headers if response is not None else {}
        return Load(
            received=self._received,
            requests=self._requests,
            status=response.status if response is not None else 0,
            content_type=headers.get("content-type", ""),
            content_encoding=headers.get("content-encoding", ""),
            errors=list(self._errors),
        )

    def _settle(self) -> None:
        """Wait until no request has been in flight for QUIET seconds (a chart's data, a
        map's graph), or PATIENCE seconds have passed."""
        deadline = time.monotonic() + self.PATIENCE
        self._last_activity = max(self._last_activity, time.monotonic() - self.QUIET / 2)
        while time.monotonic() < deadline:
            if not self._in_flight and time.monotonic() - self._last_activity >= self.QUIET:
                return
            self.page.wait_for_timeout(20)

    def scroll_width(self) -> int:
        return int(self.page.evaluate("document.documentElement.scrollWidth"))
