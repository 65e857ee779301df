"""Every write to places: shipped administrative places, a programme's communities, the
areas partners are assigned, boundaries imported from GeoJSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.models import Organisation, Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.services import changed_fields
from amniyat.places.models import PartnerArea, Place
from amniyat.places.selectors import programme_area_ids, programme_place_ids

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
    if acting_user is not None:
        check_in_partner_area(acting_user, programme, parent, field="parent")
    place = Place(level=Place.Level.COMMUNITY, parent=parent, programme=programme, **values)
    place.full_clean()
    with transaction.atomic():
        place.save()
        audit_record(
            actor=acting_user, verb=AuditEvent.Verb.CREATED, obj=place, programme=programme
        )
    return place


def check_in_partner_area(user: User, programme: Programme, place: Place, *, field: str) -> None:
    """Refuse to put a facilitator's work in a place outside their organisation's assigned
    area (see :class:`PartnerArea`); leads and analysts may use any place of the programme."""
    area = policies.partner_place_ids(user, programme)
    if area is not None and place.pk not in area:
        raise ValidationError(
            {
                field: _(
                    "This place is outside the area the programme lead assigned to your "
                    "organisation."
                )
            }
        )


def partner_area_assign(
    *,
    acting_user: User | None,
    programme: Programme,
    organisation: Organisation,
    places: list[Place],
) -> PartnerArea:
    """Set the places a partner organisation works in (replacing the previous ones).

    Its facilitators then read the submissions from these places and everything inside them,
    and may put groups and communities there. ``acting_user`` None only for set-up scripts."""
    if acting_user is not None:
        require(acting_user, "partner.assign", programme)
    # The lead organisation's own field staff may be facilitators too; a donor never is.
    if organisation.pk not in programme.taking_part_ids(with_donor=False):
        raise ValidationError(
            {"organisation": _("This organisation is not a partner of the programme.")}
        )
    inside = programme_area_ids(programme)
    outside = [p for p in places if p.pk not in inside or p.level == Place.Level.COUNTRY]
    if outside:
        raise ValidationError(
            {
                "places": _("%(place)s is not a region, district or community of this programme.")
                % {"place": outside[0].name}
            }
        )
    with transaction.atomic():
        area, created = PartnerArea.objects.select_for_update().get_or_create(
            programme=programme, organisation=organisation
        )
        before = set(area.places.values_list("pk", flat=True))
        after = {p.pk for p in places}
        if before == after and not created:
            return area
        area.places.set(after)
        area.assigned_by = acting_user
        area.save(update_fields=["assigned_by", "updated_at"])
        audit_record(
            actor=acting_user,
            actor_label="system",
            verb=AuditEvent.Verb.PERMISSION_CHANGED,
            obj=area,
            programme=programme,
            details={
                "organisation": organisation.pk,
                "added": sorted(after - before),
                "removed": sorted(before - after),
            },
        )
    return area


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
