"""Every write to places: shipped administrative places, a programme's communities,
boundaries imported from GeoJSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.services import changed_fields, require
from amniyat.places.models import Place
from amniyat.places.selectors import programme_place_ids

ADMINISTRATIVE_PLACES = Path(__file__).parent / "data" / "administrative.yaml"
NAME_FIELDS = ("name_en", "name_ru", "name_tg", "name_uz")


def administrative_places_load(path: Path = ADMINISTRATIVE_PLACES, place_model: Any = Place) -> int:
    """Create or update the shipped countries, regions and districts; return how many."""
    tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    count = 0

    def visit(node: dict[str, Any], parent: Any) -> None:
        nonlocal count
        names = node["names"]
        place, _created = place_model.objects.update_or_create(
            code=node["code"],
            defaults={
                "level": node["level"],
                "kind": node.get("kind", ""),
                "parent": parent,
                **{f"name_{code}": names.get(code, "") for code in ("en", "ru", "tg", "uz")},
            },
        )
        count += 1
        for child in node.get("children", []):
            visit(child, place)

    with transaction.atomic():
        for root in tree:
            visit(root, None)
    return count


def community_create(
    *, acting_user: User | None, programme: Programme, parent: Place, **values: Any
) -> Place:
    """Add a community (mahalla, jamoat, village) inside one of the programme's districts."""
    if acting_user is not None:
        require(acting_user, "place.create", programme)
    if parent.level != Place.Level.DISTRICT or parent.pk not in programme_place_ids(programme):
        raise ValidationError({"parent": _("Choose a district this programme works in.")})
    place = Place(level=Place.Level.COMMUNITY, parent=parent, programme=programme, **values)
    place.full_clean()
    with transaction.atomic():
        place.save()
        audit_record(
            actor=acting_user, verb=AuditEvent.Verb.CREATED, obj=place, programme=programme
        )
    return place


def community_update(*, acting_user: User, place: Place, **values: Any) -> Place:
    require(acting_user, "place.edit", place)
    parent = values.get("parent", place.parent)
    if (
        parent is None
        or parent.level != Place.Level.DISTRICT
        or parent.pk
        not in (
            programme_place_ids(place.programme)  # type: ignore[arg-type]
        )
    ):
        raise ValidationError({"parent": _("Choose a district this programme works in.")})
    changes = changed_fields(place, values)
    if not changes:
        return place
    place.full_clean()
    with transaction.atomic():
        place.save(update_fields=list(changes))
        audit_record(
            actor=acting_user,
            verb=AuditEvent.Verb.UPDATED,
            obj=place,
            programme=place.programme,
            details={"changes": changes},
        )
    return place


@dataclass
class BoundaryImport:
    matched: list[tuple[str, str]] = field(default_factory=list)  # (feature label, place code)
    unmatched: list[str] = field(default_factory=list)  # feature labels
    errors: list[str] = field(default_factory=list)


def _feature_label(index: int, properties: dict[str, Any]) -> str:
    for key in ("name", "NAME", "name_en", "shapeName", "NAME_1", "NAME_2", "code", "ISO"):
        if properties.get(key):
            return f"#{index + 1} {properties[key]}"
    return f"#{index + 1}"


def boundaries_import(
    *,
    path: Path,
    code_property: str | None = None,
    name_property: str | None = None,
    dry_run: bool = False,
) -> BoundaryImport:
    """Attach GeoJSON feature geometries to shipped places, by code first, then by any name.

    All or nothing: a malformed file changes no place.
    """
    report = BoundaryImport()
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        report.errors.append(
            _("%(file)s is not a readable GeoJSON file: %(error)s")
            % {"file": path.name, "error": error}
        )
        return report
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        report.errors.append(
            _("%(file)s has no FeatureCollection with features.") % {"file": path.name}
        )
        return report

    places = list(Place.objects.filter(programme__isnull=True))
    by_code = {p.code.upper(): p for p in places if p.code}
    by_name: dict[str, Place] = {}
    for place in places:
        for name_field in NAME_FIELDS:
            value = getattr(place, name_field)
            if value:
                by_name.setdefault(value.casefold(), place)
    code_keys = (
        [code_property]
        if code_property
        else ["code", "iso_3166_2", "ISO", "shapeISO", "HASC_1", "iso"]
    )
    name_keys = (
        [name_property]
        if name_property
        else ["name", "name_en", "NAME_1", "NAME_2", "shapeName", "NAME"]
    )

    updates: list[tuple[Place, dict[str, Any]]] = []
    for index, feature in enumerate(features):
        if not isinstance(feature, dict):
            report.errors.append(_("Feature #%(n)d is not a GeoJSON feature.") % {"n": index + 1})
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            report.errors.append(
                _("Feature #%(n)d has properties that are not a JSON object.") % {"n": index + 1}
            )
            continue
        geometry = feature.get("geometry")
        label = _feature_label(index, properties)
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            report.errors.append(
                _("Feature %(feature)s has no Polygon or MultiPolygon geometry.")
                % {"feature": label}
            )
            continue
        match = None
        for key in code_keys:
            value = str(properties.get(key) or "").upper()
            if value and value in by_code:
                match = by_code[value]
                break
        if match is None:
            for key in name_keys:
                value = str(properties.get(key) or "").casefold()
                if value and value in by_name:
                    match = by_name[value]
                    break
        if match is None:
            report.unmatched.append(label)
            continue
        updates.append((match, geometry))
        report.matched.append((label, match.code))

    if report.errors or dry_run:
        return report
    with transaction.atomic():
        for place, geometry in updates:
            place.boundary = geometry
            place.save(update_fields=["boundary"])
        audit_record(
            actor=None,
            actor_label="cli",
            verb=AuditEvent.Verb.IMPORTED,
            details={
                "file": path.name,
                "matched": len(updates),
                "unmatched": len(report.unmatched),
            },
        )
    return report
