"""``amniyat places``: load the shipped administrative places, import boundaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amniyat.places.services import administrative_places_load, boundaries_import


class Command(BaseCommand):
    help = "Manage places: load-administrative, import-geojson FILE."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("load-administrative", help="Create or update the shipped places.")
        geo = sub.add_parser(
            "import-geojson", help="Attach GeoJSON boundaries to places by code or name."
        )
        geo.add_argument("file", type=Path)
        geo.add_argument("--code-property", help="Feature property holding the place code.")
        geo.add_argument("--name-property", help="Feature property holding the place name.")
        geo.add_argument("--dry-run", action="store_true", help="Report matches, change nothing.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "load-administrative":
            count = administrative_places_load()
            self.stdout.write(f"{count} administrative places loaded.")
            return
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        report = boundaries_import(
            path=path,
            code_property=options.get("code_property"),
            name_property=options.get("name_property"),
            dry_run=options.get("dry_run", False),
        )
        for label, code in report.matched:
            self.stdout.write(f"matched    {label} → {code}")
        for label in report.unmatched:
            self.stdout.write(self.style.WARNING(f"unmatched  {label}"))
        if report.errors:
            for error in report.errors:
                self.stderr.write(error)
            raise CommandError("Nothing was imported.", returncode=2)
        verb = "would match" if options.get("dry_run") else "imported"
        self.stdout.write(
            f"{len(report.matched)} boundaries {verb}; {len(report.unmatched)} features unmatched."
        )
