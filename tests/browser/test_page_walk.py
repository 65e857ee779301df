"""The page walk: every page of the product, for every role, in Tajik and in Uzbek, on a phone
360 px wide, served as a deployment serves it (tests/browser/walk.py).

The pages are the GET routes of the URL resolver that answer a role with an HTML page, found
and filled as the access matrix does it (``walk_routes``, ``KWARG_REGISTRY`` and the matrix's
scene, tests/test_access_matrix.py), so a page added later is walked without an edit here; a
route whose arguments the registry cannot fill fails the walk by name. For every page, role and
language, what a facilitator on a phone over 3G would notice:

* ``cold``: at most 150 kB transferred (compressed bodies and headers) with an empty cache;
* ``warm``: at most 30 kB once the page's static files are cached (measured where the cold
  load came near that: a second load never receives more than the first, give or take the
  hundred bytes of padding and headers of its HTML);
* ``compressed``: the HTML itself came compressed;
* ``width``: ``document.documentElement.scrollWidth`` at most 360 px (+2 px of rounding), so
  the page never scrolls sideways (a wide table scrolls inside its own box);
* ``console``: no console error and no Content-Security-Policy violation.

:data:`KNOWN` lists today's failures with their reasons. The walk fails on a failure it does
not list, and on a listed one that now passes for every role and language, so the list only
shrinks. Each page is photographed in each language (and each failing view too) into
``var/screenshots/walk/<language>/``; every measurement goes to
``var/screenshots/walk/measurements.tsv``.
"""

from __future__ import annotations

import re
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.test import Client, override_settings
from django.urls import reverse

from amniyat.accounts.models import User
from tests.browser.conftest import SCREENSHOTS
from tests.browser.walk import Load, PageMeter, collect_static, deployed_server
from tests.factories import shipped_place
from tests.test_access_matrix import (
    GET_QUERIES,
    KWARG_REGISTRY,
    ROLES,
    Role,
    Route,
    World,
    _fill,
    build_world,
    walk_routes,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

COLD_BUDGET = 150_000  # bytes on an empty cache, compressed, headers included
WARM_BUDGET = 30_000  # bytes once the page's static files are cached
WARM_MARGIN = 1_000  # bytes a second load may receive beyond the first (padding, headers)
WIDTH = 360
TOLERANCE = 2  # px of sub-pixel rounding
LANGUAGES = ("tg", "uz")
ANONYMOUS = "anonymous"
WALKERS = (ANONYMOUS, *ROLES)
# What Chromium asks for when it navigates.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
OUT = SCREENSHOTS / "walk"

# (route name, check) -> why it fails today. Remove an entry once its page passes: the walk
# fails while a listed page passes for every role and language.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Problem:
    route: str
    check: str
    walker: str
    language: str
    measured: str
    amount: float  # to name the worst case first


@pytest.fixture(scope="session")
def served_static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The static files collected once per session into a temporary STATIC_ROOT (removed
    afterwards: tens of megabytes), and the settings that serve them."""
    root = tmp_path_factory.mktemp("collected-static")
    yield collect_static(root, brotli=False)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def scene(transactional_db: None, settings: Any, tmp_path: Path) -> World:
    """The access matrix's scene, as its ``world`` fixture makes it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    shipped_place("TJ-KT-VAK")  # the shipped places, if a transactional test flushed them
    return build_world()


def unfillable(routes: list[Route]) -> list[Route]:
    return [
        route
        for route in routes
        if set(route.kwargs) - {"format"} - set(KWARG_REGISTRY.get(route.name, {}))
    ]


def _client(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def pages_of(walker: str, world: World, routes: list[Route]) -> list[tuple[Route, str]]:
    """The routes that answer ``walker`` with an HTML page, with their addresses filled from
    the walker's own objects. Files, JSON, htmx fragments, redirects and refusals are not
    pages; a server error is kept, for the walk to report."""
    client = _client(world.users.get(walker))
    objects = world.own[walker if walker in world.own else Role.LEAD]
    pages = []
    for route in routes:
        url = route.url(_fill(route, KWARG_REGISTRY, objects)) + GET_QUERIES.get(route.name, "")
        response = client.get(url, HTTP_ACCEPT=BROWSER_ACCEPT)
        if response.status_code >= 500 or (
            response.status_code == 200
            and response.get("Content-Type", "").startswith("text/html")
            and not response.streaming
            and b"<html" in response.content[:2000].lower()
        ):
            pages.append((route, url))
    return pages


def session_cookies(user: User | None, language: str, base_url: str) -> list[Any]:
    """The cookies of a browser signed in as ``user`` that chose ``language`` with the
    language switch (which also remembers it on the account)."""
    client = _client(user)
    client.post(reverse("core:set_language"), {"language": language, "next": "/"})
    return [
        {"name": cookie.key, "value": cookie.value, "url": base_url}
        for cookie in client.cookies.values()
    ]


def check(cold: Load, warm: Load | None, width: int) -> list[tuple[str, str, float]]:
    """(check, what was measured, how much) for each check the page fails."""
    failed: list[tuple[str, str, float]] = []
    if cold.status != 200:
        failed.append(("load", f"answered {cold.status}", cold.status))
    if cold.received > COLD_BUDGET:
        failed.append(
            (
                "cold",
                f"{cold.received:,} B on a cold cache ({cold.requests} requests)",
                cold.received,
            )
        )
    if warm is not None and warm.received > WARM_BUDGET:
        failed.append(("warm", f"{warm.received:,} B with static files cached", warm.received))
    if cold.content_encoding not in ("gzip", "br"):
        encoding = cold.content_encoding or "none"
        failed.append(("compressed", f"HTML sent with Content-Encoding {encoding}", 1))
    if width > WIDTH + TOLERANCE:
        failed.append(("width", f"{width} px wide", width))
    errors = list(dict.fromkeys(cold.errors + (warm.errors if warm is not None else [])))
    if errors:
        failed.append(("console", " | ".join(errors)[:500], len(errors)))
    return failed


def walk_one(
    chromium: Browser,
    base_url: str,
    walker: str,
    language: str,
    user: User | None,
    pages: list[tuple[Route, str]],
    rows: list[dict[str, Any]],
    problems: list[Problem],
    photographed: set[tuple[str, str]],
) -> None:
    """Every page of one walker in one language, in one browser context."""
    context = chromium.new_context(
        viewport={"width": WIDTH, "height": 740},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale={"tg": "tg-TJ", "uz": "uz-UZ"}[language],
    )
    context.set_default_timeout(15_000)
    folder = OUT / language
    folder.mkdir(parents=True, exist_ok=True)
    try:
        context.add_cookies(session_cookies(user, language, base_url))
        meter = PageMeter(context)
        for route, url in pages:
            began = time.monotonic()
            try:
                meter.cache(enabled=False)
                cold = meter.load(base_url + url)
                meter.cache(enabled=True)
                warm = (
                    meter.load(base_url + url)
                    if cold.received + WARM_MARGIN > WARM_BUDGET
                    else None
                )
                width = meter.scroll_width()
                failed = check(cold, warm, width)
                # One photograph of each page in each language, and one of each failing view.
                if failed or (route.name, language) not in photographed:
                    photographed.add((route.name, language))
                    meter.page.screenshot(
                        path=str(folder / f"{route.name.replace(':', '-')}.{walker}.png"),
                        full_page=True,
                    )
            except Exception as error:  # any failure to open the page is the finding
                message = f"{type(error).__name__}: {error}".splitlines()[0]
                problems.append(Problem(route.name, "load", walker, language, message, 0))
                continue
            for name, measured, amount in failed:
                problems.append(Problem(route.name, name, walker, language, measured, amount))
            rows.append(
                {
                    "route": route.name,
                    "role": walker,
                    "language": language,
                    "url": url,
                    "cold_bytes": cold.received,
                    "cold_requests": cold.requests,
                    "warm_bytes": warm.received if warm is not None else "",
                    "width": width,
                    "errors": len(cold.errors) + (len(warm.errors) if warm is not None else 0),
                    "seconds": round(time.monotonic() - began, 2),
                }
            )
    finally:
        context.close()


def verdict(problems: list[Problem], walked: set[str]) -> list[str]:
    """The failures KNOWN does not list, and the KNOWN entries that now pass everywhere."""
    found: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for problem in problems:
        found[(problem.route, problem.check)].append(problem)
    lines = []
    for (route, name), cases in sorted(found.items()):
        if (route, name) in KNOWN:
            continue
        worst = max(cases, key=lambda p: p.amount)
        where = ", ".join(f"{p.walker} {p.language}" for p in cases)
        lines.append(
            f"{route} · {name}: {worst.measured} ({worst.walker} {worst.language}) [{where}]"
        )
    for (route, name), reason in sorted(KNOWN.items()):
        if (route, name) not in found:
            how = "now passes for every role and language" if route in walked else "was not walked"
            lines.append(f"KNOWN[({route!r}, {name!r})] {how}: remove it ({reason})")
    return lines


def write_measurements(rows: list[dict[str, Any]], seconds: float, finding: float) -> None:
    columns = list(rows[0]) if rows else []
    lines = ["\t".join(columns), *("\t".join(str(row[c]) for c in columns) for row in rows)]
    lines.append(
        f"# {len(rows)} page views walked in {seconds:.0f} s "
        f"({finding:.0f} s of it finding which routes are pages)"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "measurements.tsv").write_text("\n".join(lines) + "\n")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_page_is_light_fits_a_phone_and_logs_no_error(
    chromium: Browser, served_static: dict[str, Any], scene: World
) -> None:
    started = time.monotonic()
    routes = walk_routes()
    cannot = unfillable(routes)
    failures = [
        f"{route.name} ({route.label}) takes {sorted(set(route.kwargs) - {'format'})}, which "
        "the walk cannot fill: add it to KWARG_REGISTRY in tests/test_access_matrix.py"
        for route in cannot
    ]
    routes = [route for route in routes if route not in cannot]
    shutil.rmtree(OUT, ignore_errors=True)
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    walked: set[str] = set()
    photographed: set[tuple[str, str]] = set()
    finding = 0.0  # seconds spent finding which routes are pages
    with deployed_server(served_static) as base_url:
        for walker in WALKERS:
            sorting = time.monotonic()
            pages = pages_of(walker, scene, routes)
            finding += time.monotonic() - sorting
            walked |= {route.name for route, _ in pages}
            user = scene.users.get(walker)
            for language in LANGUAGES:
                walk_one(
                    chromium, base_url, walker, language, user, pages, rows, problems, photographed
                )
    write_measurements(rows, time.monotonic() - started, finding)
    failures += verdict(problems, walked)
    assert not failures, (
        f"The page walk ({len(rows)} page views, {len(walked)} pages) found:\n"
        + "\n".join(failures)
    )


# ----------------------------------------------------------------------------------------
# What the walk cannot see over the live server's plain HTTP.


@pytest.mark.django_db
def test_static_files_are_hashed_compressed_and_kept_for_a_year(tmp_path: Path) -> None:
    """Brotli where the browser takes it (browsers ask for it over HTTPS), else gzip, and a
    year and more in the browser's cache. The apps' own files suffice: no vendored package."""
    served = collect_static(tmp_path, STATICFILES_DIRS=[])
    with override_settings(**served):
        url = staticfiles_storage.url("amniyat/app.css")
        assert re.fullmatch(r"/static/amniyat/app\.[0-9a-f]{12}\.css", url), url
        client = Client()
        for accepted, encoding in (("gzip, deflate, br, zstd", "br"), ("gzip, deflate", "gzip")):
            response = client.get(url, HTTP_ACCEPT_ENCODING=accepted)
            assert response.status_code == 200
            assert response["Content-Encoding"] == encoding
            assert response["Cache-Control"] == "max-age=315360000, public, immutable"
            assert "Accept-Encoding" in response["Vary"]


def _padding(body: bytes) -> int:
    """The length of the file name Django's GZipMiddleware writes into the gzip header: its
    random padding (-1: no name, so no padding)."""
    assert body[:2] == b"\x1f\x8b", "not gzip"
    if not body[3] & 0x08:  # FNAME
        return -1
    return body.index(b"\x00", 10) - 10


@pytest.mark.django_db
def test_pages_are_compressed_with_random_padding_against_breach() -> None:
    """Up to 100 random bytes in every compressed page (Django's "Heal The Breach"), so that
    its length does not follow its content."""
    client = Client()
    paddings = []
    for _ in range(12):
        response = client.get(reverse("accounts:login"), HTTP_ACCEPT_ENCODING="gzip, deflate")
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
        paddings.append(_padding(response.content))
    assert min(paddings) >= 0, paddings
    assert len(set(paddings)) > 1, paddings
