"""OpenRosa soak: ODK Collect clients sending submissions to Amniyat under gunicorn.

Loopback only. Makes a temporary SQLite database (migrated, WAL), a programme with one open
form and one device, starts gunicorn on a free port of 127.0.0.1, and then sends ``--rate``
submissions a second for ``--seconds`` seconds from ``--clients`` concurrent clients
(threads with http.client, keep-alive, Digest authentication answered the way ODK Collect
does: one challenge, then the nonce reused with a rising nonce count until it goes stale).
Every ``--resend``-th submission is sent a second time, as a phone on a flaky line does: the
server must answer "already received" and store it once.

It prints accepted (201), already received (202), rejected (anything else, or no answer) and
the p50/p95/max latency, then checks in the database that every accepted submission is
stored exactly once, and exits non-zero if one is missing or doubled, or any was rejected.

Everything is bounded: the number of submissions (rate x seconds), each request's timeout,
and the whole run's deadline; gunicorn is stopped at the end whatever happens.

Run: ``python benchmarks/bench_openrosa.py [--seconds 60] [--rate 50] [--clients 16]``.
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


def prepare(home: Path, env: dict[str, str]) -> tuple[str, str, str]:
    """Migrate the database and create the programme, form and device: (slug, user, password)."""
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


def client(
    port: int,
    path: str,
    session: DigestSession,
    jobs: queue.Queue[tuple[str, int] | None],
    tally: Tally,
    deadline: float,
) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    while True:
        job = jobs.get()
        if job is None or time.monotonic() > deadline:
            break
        instance_id, n = job
        body, content_type = multipart(submission(instance_id, n))
        started = time.perf_counter()
        status = 0
        try:
            for _attempt in range(3):  # a fresh challenge, then a stale nonce at most
                if not session.nonce:
                    conn.request("HEAD", path)
                    head = conn.getresponse()
                    head.read()
                    session.take(head.getheader("WWW-Authenticate", ""))
                conn.request(
                    "POST",
                    path,
                    body=body,
                    headers={
                        "Content-Type": content_type,
                        "X-OpenRosa-Version": "1.0",
                        "Authorization": session.header("POST", path),
                    },
                )
                response = conn.getresponse()
                response.read()
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
            session.nonce = ""
        tally.record(status, instance_id, time.perf_counter() - started)
    conn.close()


def soak(port: int, slug: str, username: str, password: str, args: argparse.Namespace) -> Tally:
    path = f"/collect/{slug}/submission"
    total = int(args.rate * args.seconds)
    deadline = time.monotonic() + args.seconds + 30
    jobs: queue.Queue[tuple[str, int] | None] = queue.Queue()
    tally = Tally()
    threads = [
        threading.Thread(
            target=client,
            args=(port, path, DigestSession(username, password), jobs, tally, deadline),
            daemon=True,
        )
        for _ in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    start = time.monotonic()
    for n in range(total):
        # Paced, not bursted: job n leaves at start + n / rate.
        delay = start + n / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() > deadline:
            break
        instance_id = f"uuid:{uuid.UUID(int=n + 1)}"
        jobs.put((instance_id, n))
        tally.queued += 1
        if args.resend and n % args.resend == 0:
            jobs.put((instance_id, n))  # the flaky-line retry
            tally.queued += 1
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    tally.elapsed = time.monotonic() - start
    return tally


def verify(tally: Tally) -> tuple[int, list[str]]:
    """(rows stored, problems): every accepted instance id stored exactly once."""
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
        f"{iid}: stored {counts.get(iid, 0)} times"
        for iid in tally.accepted
        if counts.get(iid, 0) != 1
    ]
    problems += [f"{iid}: stored but never accepted" for iid in counts if iid not in tally.accepted]
    return sum(counts.values()), problems


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=50.0, help="submissions a second")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--resend", type=int, default=10, help="send every Nth submission twice (0: never)"
    )
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or not 1 <= args.clients <= 200:
        parser.error("rate and seconds must be positive, clients between 1 and 200")

    home = Path(tempfile.mkdtemp(prefix="amniyat-soak-"))
    server: subprocess.Popen[bytes] | None = None
    with (home / "gunicorn.log").open("wb") as log:
        try:
            env = _environment(home)
            print(f"preparing a fresh database in {home} …", flush=True)
            slug, username, password = prepare(home, env)
            port = free_port()
            server = start_gunicorn(env, port, args.workers, args.threads, log)
            wait_ready(port, f"/collect/{slug}/submission", time.monotonic() + 60)
            total = int(args.rate * args.seconds)
            print(
                f"gunicorn on {HOST}:{port} ({args.workers} workers x {args.threads} threads); "
                f"{total} submissions at {args.rate:g}/s from {args.clients} clients",
                flush=True,
            )
            tally = soak(port, slug, username, password, args)
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait(timeout=10)
    try:
        stored, problems = verify(tally)
        server_errors = [
            line
            for line in (home / "gunicorn.log").read_text(errors="replace").splitlines()
            if "Error" in line or "Traceback" in line
        ]
    finally:
        shutil.rmtree(home, ignore_errors=True)

    sent = sum(tally.statuses.values())
    accepted = tally.statuses.get(201, 0)
    again = tally.statuses.get(202, 0)
    rejected = sent - accepted - again
    elapsed = tally.elapsed or args.seconds
    unsent = tally.queued - sent
    print(f"sent            {sent} requests in {elapsed:.1f} s ({sent / elapsed:.1f}/s)")
    print(f"accepted (201)  {accepted}")
    print(f"already (202)   {again}")
    print(f"rejected        {rejected}  {dict(sorted(tally.statuses.items()))}")
    print(f"not sent        {unsent} (still queued at the deadline)")
    print(f"stale nonces    {tally.stale_retries} (answered transparently)")
    p50, p95 = (1000 * percentile(tally.latencies, share) for share in (0.50, 0.95))
    slowest = 1000 * max(tally.latencies, default=0.0)
    mean = 1000 * (statistics.fmean(tally.latencies) if tally.latencies else 0.0)
    print(f"latency         p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {slowest:.0f} ms, ", end="")
    print(f"mean {mean:.0f} ms")
    print(f"stored rows     {stored} for {len(tally.accepted)} accepted instance ids")
    for error in tally.errors[:5]:
        print(f"error           {error}")
    for line in server_errors[:10]:
        print(f"server          {line}")
    if problems:
        print("NOT exactly once:", *problems[:10], sep="\n  ")
    ok = not problems and rejected == 0 and unsent == 0 and not tally.errors
    print("exactly once    " + ("yes" if not problems else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
