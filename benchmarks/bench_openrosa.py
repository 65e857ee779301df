"""OpenRosa capacity: ODK Collect clients sending submissions to Amniyat under gunicorn.

Loopback only. Makes a temporary SQLite database (migrated, WAL), a programme with one open
form and one device, starts gunicorn on a free port of 127.0.0.1, and sends submissions from
``--clients`` concurrent clients (threads with http.client, keep-alive, Digest authentication
answered the way ODK Collect does: one challenge, then the nonce reused with a rising nonce
count until it goes stale). Every ``--resend``-th submission is sent a second time, as a phone
on a flaky line does: the server must answer "already received" and store it once.

By default it measures **capacity**: the highest offered rate at which every submission is
answered (accepted or already received: no loss) and the 95th percentile latency stays under
``--p95-limit`` (1 s). It offers ``--start-rate`` submissions a second for ``--step-seconds``,
raises the rate by ``--growth`` while a step passes, then bisects ``--refine`` times between
the last rate that passed and the first that failed, and prints one line per step. Latency
is counted from the moment a submission was due to leave (open loop), so a client pool that
falls behind shows as latency, not as a lower rate. Each step also prints the CPU time the
server (gunicorn's processes) and this client spent per submission, since both share the
machine's cores.

``--database-url`` runs it on another database (PostgreSQL: an empty database the benchmark
migrates and fills; it is left as it is), and ``--communities`` gives the programme that many
communities (mahallas) of its own, named in four languages, as a national programme has,
among which each submission's answer naming its place is looked up.

With ``--rate`` it runs the fixed-rate soak instead: ``--rate`` submissions a second for
``--seconds`` seconds.

Either way it then checks in the database that every accepted submission is stored exactly
once, and exits non-zero if one is missing or doubled, if a fixed-rate soak lost any, or if
the capacity is below ``--target``.

Everything is bounded: the number of submissions (rate x seconds per step), the number of
steps, each request's timeout, and each step's deadline; gunicorn is stopped at the end
whatever happens.

Run: ``python benchmarks/bench_openrosa.py`` (capacity, about two minutes), or
``python benchmarks/bench_openrosa.py --rate 50 --seconds 60`` (the fixed-rate soak);
``--workers`` and ``--threads`` set gunicorn's.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
FORM_ID = "soak"
VERSION = "1"
XFORM = f"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
  <h:head><h:title>Soak</h:title><model><instance>
    <data id="{FORM_ID}" version="{VERSION}">
      <district/><age/><worry/><meta><instanceID/></meta>
    </data>
  </instance></model></h:head>
  <h:body/>
</h:html>"""
SCHEMA = [
    {"name": "district", "path": "/data/district", "type": "text", "repeat": None},
    {"name": "age", "path": "/data/age", "type": "integer", "repeat": None},
    {"name": "worry", "path": "/data/worry", "type": "text", "repeat": None},
]
SENSITIVITY = {"/data/district": "public", "/data/age": "internal", "/data/worry": "sensitive"}


def _environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "amniyat.settings",
            "AMNIYAT_HOME": str(home),
            "DATABASE_URL": f"sqlite:///{home / 'soak.sqlite3'}",
            "MEDIA_ROOT": str(home / "media"),
            "STATIC_ROOT": str(home / "static"),
            "ALLOWED_HOSTS": HOST,
            "AMNIYAT_ENV": "development",
            "DEBUG": "0",
            "LOG_LEVEL": "ERROR",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AMNIYAT_NODE_MODULES": str(Path(__file__).resolve().parents[1] / "node_modules"),
        }
    )
    return env


def prepare(home: Path, env: dict[str, str], communities: int = 0) -> tuple[str, str, str]:
    """Migrate the database and create the programme, form and device, and ``communities``
    communities of the programme: (slug, user, password)."""
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"], env=env, check=True
    )
    os.environ.update(env)
    import django

    django.setup()
    import datetime

    from django.contrib.auth.hashers import make_password
    from django.db import connections

    from amniyat.accounts.models import Membership, Organisation, Programme, User
    from amniyat.fieldwork.collection.services import device_create
    from amniyat.fieldwork.models import Assessment, Form, FormVersion
    from amniyat.places.models import Place

    lead_org = Organisation.objects.create(
        name="Soak NGO", kind=Organisation.Kind.INTERNATIONAL_NGO, country="TJ"
    )
    programme = Programme.objects.create(
        name="Soak programme",
        slug="soak",
        country=Place.objects.get(code="TJ"),
        lead_organisation=lead_org,
        starts_on=datetime.date(2025, 1, 1),
        ends_on=datetime.date(2026, 12, 31),
    )
    lead = User.objects.create(username="soak-lead", password=make_password(None))
    Membership.objects.create(
        user=lead, programme=programme, organisation=lead_org, role=Membership.Role.LEAD
    )
    assessment = Assessment.objects.create(
        programme=programme, title="Soak baseline", kind=Assessment.Kind.BASELINE
    )
    form = Form.objects.create(assessment=assessment, form_id=FORM_ID, title="Soak", is_open=True)
    FormVersion.objects.create(
        form=form,
        version=VERSION,
        xlsform=b"",
        xlsform_name="soak.xlsx",
        xform=XFORM,
        schema=SCHEMA,
        sensitivity=SENSITIVITY,
    )
    district = Place.objects.get(code="TJ-KT-VAK")
    for n in range(communities):
        Place.objects.create(
            level=Place.Level.COMMUNITY,
            parent=district,
            programme=programme,
            name_en=f"Mahalla {n}",
            name_ru=f"Махалля {n}",
            name_tg=f"Маҳаллаи {n}",
            name_uz=f"{n}-mahalla",
        )
    device, password = device_create(
        acting_user=lead,
        programme=programme,
        organisation=lead_org,
        assessments=[assessment],
        username="soak-phone",
    )
    connections.close_all()
    return programme.slug, device.username, password


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int, log: Any
) -> subprocess.Popen[bytes]:
    # The server's log (4xx warnings included) goes to a file, shown only where it has errors.
    return subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "gunicorn",
            "amniyat.wsgi:application",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(port: int, path: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("HEAD", path)
            status = conn.getresponse().status
            conn.close()
            if status == 401:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not start in time")


# ----------------------------------------------------------------------------------------
# The client side: what ODK Collect does.

_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class DigestSession:
    username: str
    password: str
    nonce: str = ""
    realm: str = ""
    opaque: str = ""
    count: int = 0

    def take(self, challenge: str) -> None:
        params = {k: q or b for k, q, b in _PARAM.findall(challenge.split(", Basic ")[0])}
        self.nonce, self.realm, self.opaque = params["nonce"], params["realm"], params["opaque"]
        self.count = 0

    def header(self, method: str, uri: str) -> str:
        self.count += 1
        nc, cnonce = f"{self.count:08x}", secrets.token_hex(8)
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        response = _md5(f"{ha1}:{self.nonce}:{nc}:{cnonce}:auth:{ha2}")
        return (
            f'Digest username="{self.username}", realm="{self.realm}", nonce="{self.nonce}", '
            f'uri="{uri}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}", '
            f'response="{response}", opaque="{self.opaque}"'
        )


def multipart(xml: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="xml_submission_file"; '
            'filename="submission.xml"\r\n'
            "Content-Type: text/xml\r\n\r\n"
        ).encode()
        + xml
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def submission(instance_id: str, n: int) -> bytes:
    return (
        f'<?xml version="1.0"?><data id="{FORM_ID}" version="{VERSION}">'
        f"<district>District {n % 10}</district><age>{18 + n % 60}</age>"
        f"<worry>walking home after dark</worry>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[int, int] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stale_retries: int = 0
    queued: int = 0
    elapsed: float = 0.0

    def record(self, status: int, instance_id: str, seconds: float) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(seconds)
            if status in (201, 202):
                self.accepted.add(instance_id)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def answered(self) -> int:
        return self.statuses.get(201, 0) + self.statuses.get(202, 0)

    @property
    def lost(self) -> int:
        """Submissions not accepted: refused, failed, or never sent before the deadline."""
        return self.queued - self.answered


# A job: (instance id, n, when it is due to leave on time.perf_counter's clock).
Job = tuple[str, int, float]


# What a connection the server closed while it sat idle raises on the next request.
_STALE_CONNECTION = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


def client(
    port: int,
    path: str,
    session: DigestSession,
    jobs: queue.Queue[Job | None],
    tally: Tally,
    deadline: float,
) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    used = False  # whether conn has carried a request (and may since have been closed)

    def exchange(method: str, headers: dict[str, str], body: bytes | None = None) -> Any:
        # gunicorn closes a keep-alive connection idle for 2 s; like OkHttp in ODK Collect,
        # send again once on a new connection when a reused one turns out closed. (Had the
        # server read the submission after all, it answers the second one "already received".)
        nonlocal conn, used
        for retry in (False, True):
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                used = True
                return response
            except _STALE_CONNECTION:
                if retry or not used:
                    raise
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                used = False
        raise AssertionError("unreachable")

    while True:
        job = jobs.get()
        if job is None or time.monotonic() > deadline:
            break
        instance_id, n, due = job
        body, content_type = multipart(submission(instance_id, n))
        status = 0
        try:
            for _attempt in range(3):  # a fresh challenge, then a stale nonce at most
                if not session.nonce:
                    head = exchange("HEAD", {})
                    session.take(head.getheader("WWW-Authenticate", ""))
                response = exchange(
                    "POST",
                    {
                        "Content-Type": content_type,
                        "X-OpenRosa-Version": "1.0",
                        "Authorization": session.header("POST", path),
                    },
                    body,
                )
                status = response.status
                if status != 401:
                    break
                session.take(response.getheader("WWW-Authenticate", ""))
                with tally.lock:
                    tally.stale_retries += 1
        except (OSError, http.client.HTTPException) as error:
            with tally.lock:
                tally.errors.append(f"{instance_id}: {error!r}")
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            used = False
            session.nonce = ""
        # From when it was due, not when a client took it: a pool that falls behind shows.
        tally.record(status, instance_id, time.perf_counter() - due)
    conn.close()


def offer(
    port: int,
    path: str,
    sessions: list[DigestSession],
    *,
    rate: float,
    seconds: float,
    first: int,
    resend: int,
    grace: float,
) -> Tally:
    """Send ``rate`` submissions a second for ``seconds`` seconds, numbered from ``first``, one
    client thread per session; clients stop taking jobs ``grace`` seconds after the last one
    is due."""
    total = int(rate * seconds)
    deadline = time.monotonic() + seconds + grace
    jobs: queue.Queue[Job | None] = queue.Queue()
    tally = Tally()
    threads = [
        threading.Thread(
            target=client, args=(port, path, session, jobs, tally, deadline), daemon=True
        )
        for session in sessions
    ]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    for k in range(total):
        # Paced, not bursted: job k leaves at start + k / rate.
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() > deadline:
            break
        n = first + k
        instance_id = f"uuid:{uuid.UUID(int=n + 1)}"
        jobs.put((instance_id, n, due))
        tally.queued += 1
        if resend and n % resend == 0:
            jobs.put((instance_id, n, due))  # the flaky-line retry
            tally.queued += 1
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 11))
    tally.elapsed = time.perf_counter() - start
    return tally


def server_cpu(master: int) -> float:
    """CPU seconds used so far by gunicorn's master and its workers (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # After the name: state, ppid, … utime (11th), stime (12th).
        if int(entry.name) == master or int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def settle(server: subprocess.Popen[bytes], limit: float = 15.0) -> None:
    """Wait until the server is idle (under a tenth of a core for half a second), so that
    what a failed step left queued does not count against the next one."""
    deadline = time.monotonic() + limit
    before = server_cpu(server.pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server_cpu(server.pid)
        if now - before < 0.05:
            return
        before = now


@dataclass
class Step:
    rate: float
    tally: Tally
    client_cpu: float  # seconds
    server_cpu: float  # seconds
    p95: float = 0.0
    passed: bool = False

    def judge(self, p95_limit: float) -> Step:
        self.p95 = percentile(self.tally.latencies, 0.95)
        self.passed = self.tally.lost == 0 and not self.tally.errors and self.p95 < p95_limit
        return self


def run_step(
    server: subprocess.Popen[bytes],
    port: int,
    path: str,
    sessions: list[DigestSession],
    args: argparse.Namespace,
    *,
    rate: float,
    seconds: float,
    first: int,
    grace: float,
) -> Step:
    cpu_before, server_before = time.process_time(), server_cpu(server.pid)
    tally = offer(
        port,
        path,
        sessions,
        rate=rate,
        seconds=seconds,
        first=first,
        resend=args.resend,
        grace=grace,
    )
    return Step(
        rate,
        tally,
        client_cpu=time.process_time() - cpu_before,
        server_cpu=server_cpu(server.pid) - server_before,
    ).judge(args.p95_limit)


def print_step_header() -> None:
    print(
        f"{'offered/s':>9} {'sent':>6} {'achieved/s':>10} {'lost':>5} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'max ms':>7} {'server CPU ms':>13} {'client CPU ms':>13}  verdict",
        flush=True,
    )


def print_step(step: Step) -> None:
    tally = step.tally
    answered = max(tally.answered, 1)
    p50 = 1000 * percentile(tally.latencies, 0.50)
    slowest = 1000 * max(tally.latencies, default=0.0)
    print(
        f"{step.rate:9.0f} {tally.sent:6d} {tally.sent / (tally.elapsed or 1):10.1f} "
        f"{tally.lost:5d} {p50:7.0f} {1000 * step.p95:7.0f} {slowest:7.0f} "
        f"{1000 * step.server_cpu / answered:13.2f} {1000 * step.client_cpu / answered:13.2f}  "
        + ("pass" if step.passed else "FAIL"),
        flush=True,
    )


def _round(rate: float) -> float:
    return float(max(5, round(rate / 5) * 5))


def capacity(
    server: subprocess.Popen[bytes],
    port: int,
    path: str,
    sessions: list[DigestSession],
    args: argparse.Namespace,
) -> tuple[float, list[Step]]:
    """Ramp the rate up by ``--growth`` while steps pass, then bisect ``--refine`` times:
    (the highest rate that passed, every step)."""
    steps: list[Step] = []
    first = 0

    def step(rate: float) -> Step:
        nonlocal first
        result = run_step(
            server,
            port,
            path,
            sessions,
            args,
            rate=rate,
            seconds=args.step_seconds,
            first=first,
            grace=args.p95_limit * 2,
        )
        first += int(rate * args.step_seconds)
        steps.append(result)
        print_step(result)
        settle(server)
        return result

    print_step_header()
    best, rate = 0.0, _round(args.start_rate)
    failed: float | None = None
    while rate <= args.max_rate and len(steps) < args.max_steps:
        if step(rate).passed:
            best, rate = rate, _round(rate * args.growth)
        else:
            failed = rate
            break
    if failed is not None and best == 0.0:
        # Even the first rate failed: halve it until one passes.
        rate = _round(failed / 2)
        while rate > 5 and len(steps) < args.max_steps:
            if step(rate).passed:
                best = rate
                break
            failed, rate = rate, _round(rate / 2)
    for _ in range(args.refine):
        if failed is None or len(steps) >= args.max_steps:
            break
        middle = _round((best + failed) / 2)
        if middle in (best, failed):
            break
        if step(middle).passed:
            best = middle
        else:
            failed = middle
    return best, steps


def verify(accepted: set[str]) -> tuple[int, list[str], int]:
    """(rows stored, problems, stored without an answer received): every accepted instance
    id stored exactly once. A submission stored whose answer did not reach the client in
    time (in a step beyond capacity) is no loss: the phone sends it again and is told it was
    already received; it is counted apart."""
    from django.db import connections
    from django.db.models import Count

    from amniyat.fieldwork.models import Submission

    connections.close_all()
    counts = dict(
        Submission.objects.values("instance_id")
        .annotate(n=Count("id"))
        .values_list("instance_id", "n")
    )
    problems = [
        f"{iid}: stored {counts.get(iid, 0)} times" for iid in accepted if counts.get(iid, 0) != 1
    ]
    problems += [f"{iid}: stored {n} times" for iid, n in counts.items() if n > 1]
    unanswered = sum(1 for iid in counts if iid not in accepted)
    return sum(counts.values()), problems, unanswered


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_soak(tally: Tally) -> None:
    sent = tally.sent
    accepted = tally.statuses.get(201, 0)
    again = tally.statuses.get(202, 0)
    elapsed = tally.elapsed or 1.0
    print(f"sent            {sent} requests in {elapsed:.1f} s ({sent / elapsed:.1f}/s)")
    print(f"accepted (201)  {accepted}")
    print(f"already (202)   {again}")
    print(f"rejected        {sent - accepted - again}  {dict(sorted(tally.statuses.items()))}")
    print(f"not sent        {tally.queued - sent} (still queued at the deadline)")
    print(f"stale nonces    {tally.stale_retries} (answered transparently)")
    p50, p95 = (1000 * percentile(tally.latencies, share) for share in (0.50, 0.95))
    slowest = 1000 * max(tally.latencies, default=0.0)
    mean = 1000 * (statistics.fmean(tally.latencies) if tally.latencies else 0.0)
    print(f"latency         p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {slowest:.0f} ms, ", end="")
    print(f"mean {mean:.0f} ms (from when each was due to leave)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rate", type=float, help="submissions a second: a fixed-rate soak, not a capacity search"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of a fixed soak")
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--polars-threads",
        type=int,
        default=0,
        help="POLARS_MAX_THREADS for gunicorn's workers (0: as amniyat/wsgi.py sets it, 1)",
    )
    parser.add_argument(
        "--resend", type=int, default=10, help="send every Nth submission twice (0: never)"
    )
    parser.add_argument("--start-rate", type=float, default=20.0)
    parser.add_argument("--growth", type=float, default=1.5, help="rate factor between steps")
    parser.add_argument("--refine", type=int, default=3, help="bisection steps after the ramp")
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--max-rate", type=float, default=2000.0)
    parser.add_argument("--max-steps", type=int, default=14)
    parser.add_argument("--p95-limit", type=float, default=1.0, help="seconds")
    parser.add_argument("--target", type=float, default=500.0, help="submissions a second")
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty database to use instead of a temporary SQLite one (left filled)",
    )
    parser.add_argument(
        "--communities", type=int, default=0, help="communities of the programme's own"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 200:
        parser.error("clients must be between 1 and 200")
    if args.rate is not None and (args.rate <= 0 or args.seconds <= 0):
        parser.error("rate and seconds must be positive")
    if args.start_rate <= 0 or args.growth <= 1 or args.step_seconds <= 0:
        parser.error("start rate and step seconds must be positive, growth above 1")

    home = Path(tempfile.mkdtemp(prefix="amniyat-soak-"))
    server: subprocess.Popen[bytes] | None = None
    steps: list[Step] = []
    best = 0.0
    with (home / "gunicorn.log").open("wb") as log:
        try:
            env = _environment(home)
            if args.database_url:
                env["DATABASE_URL"] = args.database_url
            if args.polars_threads:
                env["POLARS_MAX_THREADS"] = str(args.polars_threads)
            print(f"preparing a fresh database in {home} …", flush=True)
            slug, username, password = prepare(home, env, args.communities)
            port = free_port()
            path = f"/collect/{slug}/submission"
            server = start_gunicorn(env, port, args.workers, args.threads, log)
            wait_ready(port, path, time.monotonic() + 60)
            sessions = [DigestSession(username, password) for _ in range(args.clients)]
            where = (
                f"gunicorn on {HOST}:{port} ({args.workers} workers x {args.threads} threads), "
                f"{args.clients} clients, {os.cpu_count()} cores shared by both"
            )
            if args.rate is not None:
                total = int(args.rate * args.seconds)
                print(f"{where}; {total} submissions at {args.rate:g}/s", flush=True)
                step = run_step(
                    server,
                    port,
                    path,
                    sessions,
                    args,
                    rate=args.rate,
                    seconds=args.seconds,
                    first=0,
                    grace=30.0,
                )
                steps = [step]
            else:
                print(
                    f"{where}; capacity: steps of {args.step_seconds:g} s from "
                    f"{args.start_rate:g}/s, zero loss and p95 < {args.p95_limit:g} s",
                    flush=True,
                )
                best, steps = capacity(server, port, path, sessions, args)
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait(timeout=10)
    accepted = set().union(*(step.tally.accepted for step in steps)) if steps else set()
    try:
        stored, problems, unanswered = verify(accepted)
        server_errors = [
            line
            for line in (home / "gunicorn.log").read_text(errors="replace").splitlines()
            if "Error" in line or "Traceback" in line
        ]
    finally:
        shutil.rmtree(home, ignore_errors=True)

    errors = [error for step in steps for error in step.tally.errors]
    if args.rate is not None:
        print_soak(steps[0].tally)
        print_step_header()
        print_step(steps[0])
    print(f"stored rows     {stored} for {len(accepted)} accepted instance ids", end="")
    print(f", {unanswered} stored whose answer came too late" if unanswered else "")
    for error in errors[:5]:
        print(f"error           {error}")
    for line in server_errors[:10]:
        print(f"server          {line}")
    if problems:
        print("NOT exactly once:", *problems[:10], sep="\n  ")
    print("exactly once    " + ("yes" if not problems else "NO"))
    if args.rate is not None:
        tally = steps[0].tally
        return 0 if not problems and tally.lost == 0 and not tally.errors else 1
    at_best = next((step for step in steps if step.rate == best), None)
    cpu = (
        f"; server {1000 * at_best.server_cpu / max(at_best.tally.answered, 1):.1f} ms CPU "
        f"and client {1000 * at_best.client_cpu / max(at_best.tally.answered, 1):.1f} ms CPU "
        "per submission there"
        if at_best is not None
        else ""
    )
    never_failed = all(step.passed for step in steps)
    print(
        f"capacity        {'at least ' if never_failed else ''}{best:.0f} submissions/s with "
        f"zero loss and p95 < {1000 * args.p95_limit:.0f} ms (target {args.target:.0f}/s){cpu}"
    )
    return 0 if not problems and best >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
