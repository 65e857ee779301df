"""The ``amniyat`` command: the project's management commands under one name.

``amniyat demo``, ``amniyat serve``, ``amniyat places import-geojson FILE`` and every Django
command (``amniyat migrate``, ``amniyat createsuperuser`` …).

``amniyat analyze`` goes straight to `amniyat.analysis.cli.analyze_cli`, before Django: starting
the web application (settings, every app and model, the REST framework) took about a second that
an analysis of a data file does not use. The command sets Django up itself when it reads an
assessment from the database. ``amniyat help analyze`` and ``call_command("analyze", …)`` still
find the management command, which calls the same function.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    args[0] = "amniyat"
    # Shell completion (DJANGO_AUTO_COMPLETE) lists every command: Django answers it.
    if len(args) > 1 and args[1] == "analyze" and "DJANGO_AUTO_COMPLETE" not in os.environ:
        from amniyat.analysis.cli import analyze_cli

        sys.exit(analyze_cli(args[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amniyat.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
