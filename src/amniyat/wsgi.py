"""WSGI entry point for gunicorn or any WSGI server."""

import gc
import os
import threading
from pathlib import Path

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amniyat.settings")
# A request's Polars work is a few rows (a phone's submission checked against its form), where
# handing it between threads costs more than it saves: with one thread a submission took
# 9.6 ms of server CPU against 11.1-11.5 ms, and the OpenRosa benchmark's capacity rose from
# 90-105 to 110 a second. Set before Polars is first imported; the environment may override it.
os.environ.setdefault("POLARS_MAX_THREADS", "1")
application = get_wsgi_application()


def _start_the_chart_engine() -> None:
    """The chart engine (vl-convert, a JavaScript runtime) takes most of a second to start in
    a process: start it beside the first requests rather than inside the first chart page's."""
    import vl_convert

    vl_convert.vegalite_to_svg('{"mark": "point"}', allowed_base_urls=[])


def warm_up() -> int:
    """Load now what requests would otherwise load on first use in this process: the URL
    resolver, the interface's catalogue in every language, and the project's templates,
    compiled (the cached loader keeps them). Returns the number of templates compiled."""
    from django.conf import settings
    from django.template import engines
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().reverse_dict  # noqa: B018 -- reading it fills the resolver's tables
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext(code)  # any text: asking loads the catalogue
    engine = engines["django"]
    package = Path(__file__).resolve().parent
    compiled = 0
    for path in sorted(package.glob("**/templates/**/*.*")):
        if path.suffix not in {".html", ".txt", ".svg", ".xml"}:
            continue
        name = path.relative_to(next(p for p in path.parents if p.name == "templates"))
        engine.get_template(name.as_posix())
        compiled += 1
    return compiled


warm_up()
# What is loaded by now lives as long as the process: moved out of the collector's reach, so
# that its full collections (one every hundred-odd requests) stop walking ~300,000 objects
# that are never garbage, a pause of 170-260 ms measured in a worker with the catalogues,
# templates and API schema loaded; after it, the longest pause was 30 ms.
gc.freeze()
threading.Thread(target=_start_the_chart_engine, name="chart-engine", daemon=True).start()
