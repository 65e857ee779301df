"""WSGI entry point for gunicorn or any WSGI server."""

import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amniyat.settings")
application = get_wsgi_application()


def _start_the_chart_engine() -> None:
    """The chart engine (vl-convert, a JavaScript runtime) takes most of a second to start in
    a process: start it beside the first requests rather than inside the first chart page's."""
    import vl_convert

    vl_convert.vegalite_to_svg('{"mark": "point"}', allowed_base_urls=[])


threading.Thread(target=_start_the_chart_engine, name="chart-engine", daemon=True).start()
