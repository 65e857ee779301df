"""The ``amniyat`` command: the project's management commands under one name.

``amniyat demo``, ``amniyat serve``, ``amniyat places import-geojson FILE`` and every Django
command (``amniyat migrate``, ``amniyat createsuperuser`` …).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amniyat.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "amniyat"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
