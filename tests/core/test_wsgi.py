"""The web server's process: loaded before its first request, its long-lived objects out of
the garbage collector's reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import amniyat

PACKAGE = Path(amniyat.__file__).resolve().parent

PROBE = """
import gc, json, time
import amniyat.wsgi
from django.template import engines
from django.urls import get_resolver
loader = engines["django"].engine.template_loaders[0]
resolver = get_resolver()
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "templates": len(loader.get_template_cache),
    "resolver_filled": bool(resolver._populated),
}))
"""


def test_a_worker_loads_everything_before_its_first_request_then_freezes_it() -> None:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "amniyat.settings"}
    ran = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=True,
    )
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    own_templates = [
        path
        for path in PACKAGE.glob("**/templates/**/*.*")
        if path.suffix in {".html", ".txt", ".svg", ".xml"}
    ]
    assert seen["resolver_filled"]
    assert seen["templates"] >= len(own_templates) > 50
    # Everything loaded is frozen: a full collection walks only what requests make.
    assert seen["frozen"] > 100_000
    assert seen["tracked"] < 1_000
