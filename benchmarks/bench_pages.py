"""Page latency: every GET page of the demo programmes, for every role, under gunicorn.

Builds the demo (``amniyat demo``) in a temporary SQLite database, starts a task worker and the
web server as ``make demo`` does (``amniyat worker``; ``amniyat serve``, gunicorn with
``WEB_CONCURRENCY`` workers, 2 unless ``--workers``) on a free port of 127.0.0.1, and signs in
through the login form as each demo account. The pages are every route of the URL resolver
except the admin, the API, the OpenRosa routes (``collect/``) and static files, so a page
added later is measured without anyone listing it; URL arguments are filled with the demo's
objects (:data:`ROUTE_KINDS`, or guessed from the route's name) in each account's programme
(the lead's: both), and a route counts for an account where it answers 200 to a GET.

A warm-up opens every page once per account (it queues the assisted-coding trainings, which
the worker runs; the first open of that page is reported on its own), noting every server
error, and waits for the task queue to empty. Then each page is requested in turn by 1 client
(``--samples`` requests) and by 20 concurrent clients (``--rounds`` requests each, 3: so that
the p95 is read from 60 requests rather than being the second slowest of 20), going round
the accounts that may open it; a page slower than a second alone is not put under load. It
prints p50 and p95 per page for both, the slowest ten at 20 clients, and the floor measured in
the same run the same way: the health check (no database, no template) and one static file.
Target: p95 under 300 ms at 20 clients for every page; the exit status is 1 if a page misses
it, answered an error, or the run ran out of time (``--deadline``, seconds from the start).
Other work on the machine slows every figure, the floor included: compare the ratios.

Run: ``python benchmarks/bench_pages.py [--samples 5] [--rounds 3] [--clients 20]
[--workers 2] [--threads 1] [--language en] [--deadline 300] [--only drivers:,places:list]``;
``--only`` measures the routes whose name contains one of the comma-separated texts.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
ACCOUNTS = [
    "demo-lead",
    "demo-analyst",
    "demo-facilitator",
    "demo-facilitator-uz",
    "demo-member",
    "demo-viewer",
]
SKIPPED_PREFIXES = ("admin/", "collect/", "static/", "media/")
# What fills each route's ``pk`` (and ``member_pk``): url name -> kind of demo object. A route
# not listed here is guessed from its name (:func:`guess_kind`); one that cannot be filled is
# listed as not measured.
ROUTE_KINDS: dict[str, str] = {
    "accounts:token_revoke": "token",
    "accounts:membership_edit": "membership",
    "accounts:organisation_detail": "organisation",
    "places:detail": "place",
    "places:edit": "place",
    "places:partner_area": "organisation",
    "communities:member_edit": "member",
    "fieldwork:form_upload": "assessment",
    "fieldwork:import_create": "form",
    "fieldwork:submission_list": "form",
    "fieldwork:submission_export": "form",
    "fieldwork:device_revoke": "device",
    "findings:assessment": "findings_assessment",
    "findings:gender_gap": "findings_assessment",
    "findings:publish": "findings",
    "drivers:excerpt_create": "source",
    "drivers:redaction_add": "source",
    "drivers:redaction_decide": "redaction_flag",
    "drivers:code_excerpts": "code",
    "drivers:agreement_code": "code",
    "drivers:priority_list_create": "group",
    "accounts:translate_organisation": "organisation",
    "accounts:translate_communitygroup": "group",
    "accounts:translate_assessment": "assessment",
    "accounts:translate_source": "source",
    "accounts:translate_drivermap": "driver_map",
    "accounts:translate_prioritylist": "priority_list",
    "findings:assessment_table": "findings_assessment",
    "findings:gender_gap_table": "findings_assessment",
    "downloads:detail": "download",
    "downloads:progress": "download",
    "downloads:file": "download",
    "api:organisation-detail": "organisation",
    "api:place-detail": "place",
    "api:group-detail": "group",
    "api:member-detail": "member_row",
    "api:assessment-detail": "assessment",
    "api:form-detail": "form",
    "api:submission-detail": "submission",
    "api:import-job-detail": "import_job",
    "api:device-detail": "device",
    "reports:rendering_create": "report",
    "reports:section_add": "report",
    "plans:create": "priority_list",
    "plans:action_edit": "plan_action",
    "accounts:translate_actionplan": "plan",
    "api:report-detail": "report",
    "api:report-file-list": "report_files",
    "api:report-file-detail": "report_file",
    "api:report-file-download": "report_file",
}
# Name prefixes for routes not in ROUTE_KINDS, most specific first.
KIND_BY_PREFIX: list[tuple[str, str]] = [
    ("communities:", "group"),
    ("fieldwork:assessment_", "assessment"),
    ("fieldwork:form_", "form"),
    ("fieldwork:import_", "import_job"),
    ("drivers:source_", "source"),
    ("drivers:excerpt_", "excerpt"),
    ("drivers:code_", "code"),
    ("drivers:priority_list_", "priority_list"),
    ("drivers:priority_", "priority"),
    ("drivers:map_", "driver_map"),
    ("reports:section_", "report_section"),
    ("reports:rendering_", "report_rendering"),
    ("reports:", "report"),
    ("plans:", "plan"),
]
# A query string for pages whose bare address only redirects.
QUERIES: dict[str, str] = {
    "fieldwork:submission_export": "export_format=csv&language=en",
    # A findings page's table as a file: one every such page has.
    "findings:assessment_table": "table=indicators&format=csv",
    "findings:gender_gap_table": "table=gaps&format=csv",
    "findings:change_table": "table=change&format=csv",
}
CANDIDATES = 2  # objects tried per route and programme before a route counts as closed
FLOOR_ROUTES = frozenset({"core:healthz"})  # measured as the floor, not as a page
STATIC_FILE = "/static/vendor/htmx/htmx.min.js"
ASSIST_ROUTE = "drivers:assist"
REQUEST_TIMEOUT = 30.0
# A page whose median alone is this slow already misses the target many times over; 20
# clients on it would only use up the run's time (a download of every submission, …).
TOO_SLOW_ALONE = 1.0


def environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "amniyat.settings",
            "AMNIYAT_HOME": str(home),
            "DATABASE_URL": f"sqlite:///{home / 'pages.sqlite3'}",
            "MEDIA_ROOT": str(home / "media"),
            "STATIC_ROOT": str(home / "static"),
            "AMNIYAT_PROGRESS_DIR": str(home / "progress"),
            "AMNIYAT_NODE_MODULES": str(ROOT / "node_modules"),
            "ALLOWED_HOSTS": HOST,
            "AMNIYAT_ENV": "development",
            "AMNIYAT_DEMO": "1",
            "AMNIYAT_REQUIRE_2FA": "0",
            "DEBUG": "0",
            "LOG_LEVEL": "ERROR",
            "SECRET_KEY": secrets.token_urlsafe(50),
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def amniyat(*args: str) -> list[str]:
    return [sys.executable, "-m", "amniyat.cli", *args]


def start(command: list[str], env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - fixed argument list
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# ----------------------------------------------------------------------------------------
# HTTP: one connection per client, the account's cookies sent with every request.


@dataclass
class Account:
    username: str
    cookies: dict[str, str] = field(default_factory=dict)

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


def request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    account: Account | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, http.client.HTTPResponse]:
    sent = dict(headers or {})
    if account is not None and account.cookies:
        sent["Cookie"] = account.header()
    if body is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    content = response.read()
    if account is not None:
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, val = cookie.partition("=")
                account.cookies[key.strip()] = val.strip()
    return response.status, content, response


def sign_in(port: int, username: str, password: str, language: str) -> Account:
    account = Account(username, {"amniyat_language": language})
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    status, page, _response = request(conn, "GET", "/accounts/login/", account)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or token is None:
        raise SystemExit(f"the login page answered {status}")
    form = {
        "csrfmiddlewaretoken": token.group(1).decode(),
        "username": username,
        "password": password,
    }
    status, _page, _response = request(conn, "POST", "/accounts/login/", account, urlencode(form))
    conn.close()
    if status != 302 or "sessionid" not in account.cookies:
        raise SystemExit(f"{username} could not sign in ({status})")
    return account


def wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            status, _body, _response = request(conn, "GET", "/healthz")
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in time")


# ----------------------------------------------------------------------------------------
# The pages: routes of the resolver, filled with the demo's objects.


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str  # e.g. p/<slug:slug>/drivers/assist/
    kwargs: tuple[str, ...]


def walk_routes() -> list[Route]:
    """Every named GET-able route of the resolver: the pages, and the API's (its router
    writes regular expressions, ``^submissions/(?P<pk>[^/.]+)/$``, read here as
    ``submissions/<pk>/``; their ``.json`` format-suffix twins are left out)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    routes: list[Route] = []

    def visit(resolver: URLResolver, prefix: str, namespace: tuple[str, ...]) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                namespaces = (*namespace, entry.namespace) if entry.namespace else namespace
                visit(entry, prefix + _route_text(entry.pattern), namespaces)
            elif isinstance(entry, URLPattern):
                text = prefix + _route_text(entry.pattern)
                if text.startswith(SKIPPED_PREFIXES) or not entry.name:
                    continue
                if "format>" in text:
                    continue  # the API's format suffixes
                kwargs = tuple(re.findall(r"<(?:[^>:]+:)?([^>]+)>", text))
                routes.append(Route(":".join((*namespace, entry.name)), text, kwargs))

    visit(get_resolver(), "", ())
    return routes


def _route_text(pattern: Any) -> str:
    """A route's text, ``p/<slug:slug>/``, also for a regular expression (``^x/(?P<pk>…)/$``
    → ``x/<pk>/``)."""
    text = str(pattern)
    if not text.startswith("^"):
        return text
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text.removeprefix("^").removesuffix("$"))
    return text.replace("\\.", ".")


def guess_kind(name: str) -> str | None:
    if name in ROUTE_KINDS:
        return ROUTE_KINDS[name]
    return next((kind for prefix, kind in KIND_BY_PREFIX if name.startswith(prefix)), None)


def objects_of(programme: Any) -> dict[str, list[dict[str, Any]]]:
    """Per kind, the URL arguments (besides ``slug``) of some of the programme's objects."""
    from amniyat.accounts.models import Membership, PersonalToken
    from amniyat.communities.models import CommunityGroup, GroupMember
    from amniyat.downloads.models import Download
    from amniyat.drivers.models import (
        Code,
        DriverMap,
        Excerpt,
        Priority,
        PriorityList,
        RedactionFlag,
        Source,
    )
    from amniyat.fieldwork.models import (
        Assessment,
        DeviceUser,
        Form,
        ImportJob,
        Submission,
    )
    from amniyat.findings.models import Findings
    from amniyat.plans.models import Action, ActionPlan
    from amniyat.reports.models import Rendering, Report, Section

    def pks(queryset: Any, limit: int = 6) -> list[dict[str, Any]]:
        return [{"pk": pk} for pk in queryset.order_by("pk").values_list("pk", flat=True)[:limit]]

    groups = CommunityGroup.objects.filter(programme=programme)
    places = list(groups.order_by("pk").values_list("place_id", flat=True)[:4])
    places += list(programme.places.order_by("pk").values_list("pk", flat=True)[:2])
    organisations = list(
        Membership.objects.filter(programme=programme)
        .order_by("organisation_id")
        .values_list("organisation_id", flat=True)
        .distinct()[:6]
    )
    members = GroupMember.objects.filter(group__programme=programme).order_by("pk")
    reports = pks(Report.objects.filter(programme=programme))
    sections = Section.objects.filter(report__programme=programme).order_by("pk")
    renderings = Rendering.objects.filter(report__programme=programme).exclude(file="")
    return {
        "group": pks(groups),
        "member": [{"pk": g, "member_pk": m} for m, g in members.values_list("pk", "group_id")[:6]],
        "place": [{"pk": pk} for pk in places],
        "organisation": [{"pk": pk} for pk in organisations],
        "membership": pks(Membership.objects.filter(programme=programme)),
        "token": pks(PersonalToken.objects.filter(user__memberships__programme=programme)),
        "assessment": pks(Assessment.objects.filter(programme=programme)),
        "findings_assessment": pks(
            Assessment.objects.filter(programme=programme, findings__isnull=False).distinct()
        ),
        "findings": pks(Findings.objects.filter(assessment__programme=programme)),
        "form": pks(Form.objects.filter(assessment__programme=programme)),
        "import_job": pks(ImportJob.objects.filter(form__assessment__programme=programme)),
        "device": pks(DeviceUser.objects.filter(programme=programme)),
        "source": pks(Source.objects.filter(programme=programme)),
        "excerpt": pks(Excerpt.objects.filter(source__programme=programme)),
        "redaction_flag": pks(RedactionFlag.objects.filter(source__programme=programme)),
        "code": pks(Code.objects.filter(programme=programme)),
        "priority_list": pks(PriorityList.objects.filter(group__programme=programme)),
        "priority": pks(Priority.objects.filter(priority_list__group__programme=programme)),
        "driver_map": pks(DriverMap.objects.filter(programme=programme)),
        "download": pks(Download.objects.filter(programme=programme)),
        "member_row": pks(members),
        "plan": pks(ActionPlan.objects.filter(programme=programme)),
        "plan_action": pks(Action.objects.filter(objective__plan__programme=programme)),
        "report": reports,
        "report_files": [{"report_pk": r["pk"]} for r in reports],
        "report_section": [
            {"pk": r, "section_pk": s} for s, r in sections.values_list("pk", "report_id")[:6]
        ],
        "report_rendering": [
            {"pk": r, "rendering_pk": f}
            for f, r in renderings.order_by("pk").values_list("pk", "report_id")[:6]
        ],
        "report_file": [
            {"report_pk": r, "pk": f}
            for f, r in renderings.order_by("pk").values_list("pk", "report_id")[:6]
        ],
        # The newest, as the API lists them (an index reads them; ordering by id would not).
        "submission": [
            {"pk": pk}
            for pk in Submission.objects.filter(form__assessment__programme=programme)
            .order_by("-submitted_at", "-id")
            .values_list("pk", flat=True)[:6]
        ],
    }


def fill(route: Route, slug: str, objects: dict[str, list[dict[str, Any]]]) -> list[str] | None:
    """Candidate addresses of the route in one programme; None when it cannot be filled."""
    from django.urls import reverse

    rest = set(route.kwargs) - {"slug"}
    if not rest:
        candidates: list[dict[str, Any]] = [{}]
    else:
        kind = guess_kind(route.name)
        if kind is None or kind not in objects:
            return None
        if not objects[kind]:
            return []  # none in this programme
        candidates = [c for c in objects[kind] if set(c) == rest]
        if not candidates:
            return None
    query = QUERIES.get(route.name, "")
    addresses = []
    for values in candidates:
        kwargs = {"slug": slug, **values} if "slug" in route.kwargs else dict(values)
        address = reverse(route.name, kwargs=kwargs)
        addresses.append(f"{address}?{query}" if query else address)
    return addresses


# ----------------------------------------------------------------------------------------
# Measuring.


@dataclass
class Page:
    label: str
    pattern: str
    visits: list[tuple[Account, str]] = field(default_factory=list)  # (account, address)
    one: list[float] = field(default_factory=list)  # seconds, 1 client
    many: list[float] = field(default_factory=list)  # seconds, N concurrent clients
    errors: dict[int, int] = field(default_factory=dict)  # status (0: no answer) -> count
    note: str = ""

    def p(self, share: float, *, loaded: bool = True) -> float:
        return percentile(self.many if loaded else self.one, share)

    @property
    def missed(self) -> bool:
        """Over the target at load, or too slow alone to be put under load."""
        return bool(self.note) or self.p(0.95) * 1000 >= TARGET_MS


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (NaN without samples)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def timed_get(
    conn: http.client.HTTPConnection, path: str, account: Account | None
) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        status, _body, _response = request(conn, "GET", path, account)
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0, time.perf_counter() - started
    return status, time.perf_counter() - started


def measure(
    port: int, page: Page, *, samples: int, clients: int, rounds: int, deadline: float
) -> None:
    """``samples`` requests from one client, then ``rounds`` each from ``clients`` at once
    (unless the page is too slow alone for that to finish in time)."""
    lock = threading.Lock()

    def record(target: list[float], status: int, seconds: float) -> None:
        with lock:
            target.append(seconds)
            if status != 200:
                page.errors[status] = page.errors.get(status, 0) + 1

    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    for i in range(samples):
        if time.monotonic() > deadline:
            break
        account, path = page.visits[i % len(page.visits)]
        record(page.one, *timed_get(conn, path, account))
    conn.close()
    alone = page.p(0.5, loaded=False)
    if alone >= TOO_SLOW_ALONE:
        page.note = f"not put under load: {ms(alone)} ms alone"
        return
    barrier = threading.Barrier(clients)

    def client(number: int) -> None:
        own = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        barrier.wait()
        for k in range(rounds):
            if time.monotonic() > deadline:
                break
            account, path = page.visits[(number * rounds + k) % len(page.visits)]
            record(page.many, *timed_get(own, path, account))
        own.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT * rounds + 5)


@dataclass
class Discovery:
    pages: list[Page] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(
        default_factory=lambda: {
            "POST only (405)": [],
            "cannot fill its arguments": [],
            "no such object in the programme": [],
            "no account may open it": [],
        }
    )
    failures: list[str] = field(default_factory=list)  # "status address (account)"
    first_assist: dict[str, float] = field(default_factory=dict)  # account -> seconds


def discover(
    port: int,
    accounts: dict[str, Account],
    programmes: list[Any],
    memberships: dict[str, list[str]],
    parallel: int,
    only: str = "",
) -> Discovery:
    """Every page and the addresses each account may open (answered 200), opening each once
    (the warm-up, ``parallel`` routes at a time); the routes left out, by reason; and the
    addresses that failed (5xx)."""
    objects = {p.slug: objects_of(p) for p in programmes}
    found = Discovery()
    lock = threading.Lock()
    local = threading.local()

    def visit(route: Route) -> tuple[Page, str]:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        page = Page(route.name, route.pattern)
        refused, unfillable, empty = False, True, True
        for username, account in accounts.items():
            slugs = memberships.get(username, []) if "slug" in route.kwargs else [""]
            for slug in slugs:
                addresses = fill(route, slug, objects[slug or programmes[0].slug])
                if addresses is None:
                    continue
                unfillable = False
                empty = empty and not addresses
                for address in addresses[:CANDIDATES]:
                    status, seconds = timed_get(local.conn, address, account)
                    with lock:
                        if route.name == ASSIST_ROUTE:
                            found.first_assist.setdefault(username, seconds)
                        if status >= 500 or status == 0:
                            found.failures.append(f"{status} {address} ({username})")
                            page.errors[status] = page.errors.get(status, 0) + 1
                    refused = status == 405
                    if status == 200:
                        page.visits.append((account, address))
                    if status in (200, 405):
                        break
                if refused:
                    return page, "POST only (405)"
        if unfillable:
            return page, "cannot fill its arguments"
        if empty:
            return page, "no such object in the programme"
        if not page.visits:
            return page, "no account may open it"
        return page, ""

    wanted = [text for text in only.split(",") if text] or [""]
    routes = [
        route
        for route in walk_routes()
        if route.name not in FLOOR_ROUTES and any(text in route.name for text in wanted)
    ]
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for page, reason in pool.map(visit, routes):
            if reason:
                found.left_out[reason].append(page.label)
            else:
                found.pages.append(page)
    return found


def prepared_downloads(programme: Any, usernames: list[str]) -> None:
    """Each account that may asks, as the pages do, for the codebook's .qdpx project and for
    an export of the first form's submissions (CSV, those of its last day, so that a national
    programme's export takes seconds, not the whole run), so that the download's pages have
    an object of each kind to show (the task worker writes them)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from amniyat.accounts import policies
    from amniyat.downloads.services import download_start
    from amniyat.drivers.coding.qdpx import DOWNLOAD
    from amniyat.fieldwork.models import Form, Submission
    from amniyat.fieldwork.submissions import services as submissions

    form = Form.objects.filter(assessment__programme=programme).order_by("pk").first()
    latest = (
        Submission.objects.filter(form=form).order_by("-submitted_at").first() if form else None
    )
    for user in get_user_model().objects.filter(username__in=usernames):
        if policies.can(user, DOWNLOAD.verb, programme):
            download_start(acting_user=user, programme=programme, kind=DOWNLOAD.name)
        if (
            form is not None
            and latest is not None
            and form.current_version() is not None
            and policies.can(user, submissions.DOWNLOAD.verb, programme)
        ):
            day = timezone.localtime(latest.submitted_at).date().isoformat()
            submissions.submissions_export_start(
                acting_user=user,
                form=form,
                export_format="csv",
                language="en",
                filters={"submitted_from": day},
            )


def wait_for_tasks(deadline: float) -> list[tuple[str, float]]:
    """Wait until the worker has run every queued task; per task and outcome, how many ran
    and their seconds in all ("train_assistant successful ×2", 7.9)."""
    from django.db import connections
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    pending = (TaskResultStatus.READY, TaskResultStatus.RUNNING)
    while time.monotonic() < deadline:
        connections.close_all()
        if not DBTaskResult.objects.filter(status__in=pending).exists():
            break
        time.sleep(0.5)
    runs: dict[str, list[float]] = {}
    for path, started, finished, status in DBTaskResult.objects.values_list(
        "task_path", "started_at", "finished_at", "status"
    ):
        seconds = (finished - started).total_seconds() if started and finished else float("nan")
        key = f"{path.rsplit('.', 1)[-1]} {str(status).lower()}"
        runs.setdefault(key, []).append(seconds)
    connections.close_all()
    return [(f"{key} ×{len(times)}", sum(times)) for key, times in sorted(runs.items())]


def ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def ratio_text(ratio: float) -> str:
    if math.isnan(ratio):
        return "—"
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def report(pages: list[Page], floor: Page, clients: int) -> None:
    floor_p95 = max(floor.p(0.95), 1e-6)
    print(
        f"{'page':<36} {'urls':>4}  {'1 client':>13}  {f'{clients} clients':>13}  {'p95/floor':>9}"
    )
    print(f"{'':<36} {'':>4}  {'p50':>6} {'p95':>6}  {'p50':>6} {'p95':>6}  {'':>9}")
    for page in pages:
        ratio = page.p(0.95) / floor_p95
        notes = [page.note] if page.note else []
        if page.errors:
            notes.append(
                "answers: " + ", ".join(f"{n}x {s}" for s, n in sorted(page.errors.items()))
            )
        print(
            f"{page.label:<36} {len(page.visits):>4}  {ms(page.p(0.5, loaded=False)):>6} "
            f"{ms(page.p(0.95, loaded=False)):>6}  {ms(page.p(0.5)):>6} {ms(page.p(0.95)):>6}  "
            f"{ratio_text(ratio):>9}" + (f"  {'; '.join(notes)}" if notes else "")
        )


def server_errors(log: Path) -> list[str]:
    """Each distinct 500 of the server's log: the address and the exception."""
    lines = log.read_text(errors="replace").splitlines()
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        if "Internal Server Error:" not in line:
            continue
        address = line.split("Internal Server Error:", 1)[1].strip()
        exception = next(
            (
                later
                for later in lines[i + 2 : i + 400]
                if later and not later.startswith((" ", "Traceback", "During", "The above"))
            ),
            "?",
        )
        found.setdefault(re.sub(r"/\d+/", "/<pk>/", address) + "  " + exception, address)
    return list(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=5, help="requests per page, 1 client")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="requests per concurrent client (3: a p95 of 60 requests, not the second slowest"
        " of 20)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "2")),
        help="gunicorn workers (make demo: WEB_CONCURRENCY, 2)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("WEB_THREADS", "1")),
        help="threads per gunicorn worker (make demo: WEB_THREADS, 1)",
    )
    parser.add_argument("--language", default="en", choices=["en", "ru", "tg", "uz"])
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds for the run")
    parser.add_argument(
        "--only",
        default="",
        metavar="TEXT",
        help="only the routes whose name contains TEXT (comma-separated)",
    )
    args = parser.parse_args(argv)
    if args.samples < 1 or args.rounds < 1 or not 1 <= args.clients <= 100:
        parser.error("samples and rounds must be positive, clients between 1 and 100")
    began = time.monotonic()
    deadline = began + args.deadline
    home = Path(tempfile.mkdtemp(prefix="amniyat-pages-"))
    env = environment(home)
    server = worker = None
    log_path = home / "server.log"
    log = log_path.open("wb")
    try:
        print(f"building the demo in {home} …", flush=True)
        built = subprocess.run(  # noqa: S603 - fixed argument list
            amniyat("demo"), env=env, capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            print(built.stdout, built.stderr, sep="\n")
            return 1
        os.environ.update(env)
        import django

        django.setup()
        from amniyat.accounts.models import Membership, Programme
        from amniyat.demo.build import DEMO_PASSWORD

        demo_seconds = time.monotonic() - began
        port = free_port()
        worker = start(amniyat("worker"), env, log)
        server = start(
            amniyat(
                "serve",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ),
            env,
            log,
        )
        wait_ready(port, time.monotonic() + 60)
        print(
            f"demo built in {demo_seconds:.0f} s; gunicorn on {HOST}:{port} ({args.workers} "
            f"workers of {args.threads} thread{'s' if args.threads > 1 else ''}) with a task "
            f"worker; {os.cpu_count()} CPUs, load "
            f"average {os.getloadavg()[0]:.1f}; language {args.language}",
            flush=True,
        )
        accounts = {name: sign_in(port, name, DEMO_PASSWORD, args.language) for name in ACCOUNTS}
        # Signed out: the pages without a programme (the login page) are measured too.
        accounts["anonymous"] = Account("anonymous", {"amniyat_language": args.language})
        programmes = list(Programme.objects.filter(is_demo=True).order_by("pk"))
        # Each account in its first programme; the lead in every one, so that each
        # programme's data is measured.
        memberships = {
            name: list(
                dict.fromkeys(
                    Membership.objects.filter(user__username=name)
                    .order_by("programme_id")
                    .values_list("programme__slug", flat=True)
                )
            )[: None if name == "demo-lead" else 1]
            for name in ACCOUNTS
        }
        for programme in programmes:
            prepared_downloads(
                programme, [name for name in ACCOUNTS if programme.slug in memberships[name]]
            )
        # The downloads asked for are written before their pages are opened.
        wait_for_tasks(min(deadline, time.monotonic() + 120))
        found = discover(
            port, accounts, programmes, memberships, parallel=args.workers, only=args.only
        )
        tasks = wait_for_tasks(min(deadline, time.monotonic() + 180))
        pages = found.pages
        addresses = sum(len(p.visits) for p in pages)
        print(
            f"{len(pages)} GET pages open for at least one account ({addresses} "
            f"addresses over {len(accounts)} accounts); warm-up done at "
            f"{time.monotonic() - began:.0f} s",
            flush=True,
        )
        for reason, names in found.left_out.items():
            if names:
                print(f"  not measured, {reason}: {', '.join(names)}")
        if found.first_assist:
            opened = ", ".join(f"{u} {ms(s)} ms" for u, s in found.first_assist.items())
            print(f"assisted coding, first open of each account (nothing trained yet): {opened}")
        for task_name, seconds in tasks:
            print(f"  tasks run by the worker meanwhile: {task_name}, {seconds:.1f} s in all")

        anonymous = accounts["anonymous"]
        floor = Page("floor: /healthz", "healthz", [(anonymous, "/healthz")])
        static = Page("floor: static htmx.min.js", "static", [(anonymous, STATIC_FILE)])
        unmeasured: list[Page] = []
        for page in (floor, static, *pages):
            if time.monotonic() > deadline:
                unmeasured.append(page)
                continue
            measure(
                port,
                page,
                samples=args.samples,
                clients=args.clients,
                rounds=args.rounds,
                deadline=deadline,
            )
        print()
        report([floor, static, *pages], floor, args.clients)
        measured = [p for p in pages if p.many or p.note]
        slowest = sorted(
            measured, key=lambda p: (bool(p.note), p.p(0.95), p.p(0.5, loaded=False)), reverse=True
        )[:10]
        print(f"\nslowest ten at {args.clients} concurrent clients (p95):")
        for page in slowest:
            shown = page.note or f"{ms(page.p(0.95))} ms"
            print(f"  {shown:>32}  {page.label}  /{page.pattern}")
        missed = [p for p in measured if p.missed]
        failed = [p for p in pages if p.errors]
        if unmeasured:
            print(f"\nout of time, not measured: {', '.join(p.label for p in unmeasured)}")
        for line in found.failures:
            print(f"server error in the warm-up: {line}")
        print(
            f"\nfloor: /healthz p95 {ms(floor.p(0.95))} ms at {args.clients} clients "
            f"({ms(floor.p(0.95, loaded=False))} ms alone). Target p95 < {TARGET_MS:.0f} ms at "
            f"{args.clients} clients: {len(measured) - len(missed)} of {len(measured)} pages "
            f"meet it; {len(failed)} pages answered errors; run took "
            f"{time.monotonic() - began:.0f} s."
        )
        ok = not missed and not failed and not unmeasured and bool(pages)
        return 0 if ok else 1
    finally:
        stop(server)
        stop(worker)
        log.close()
        for line in server_errors(log_path)[:20]:
            print(f"server: 500 {line}")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
