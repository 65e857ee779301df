"""Places: a programme's own communities, and GeoJSON boundaries for shipped places."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.places import services
from amniyat.places.models import Place
from tests.factories import ProgrammeFactory, district, member_of

Role = Membership.Role
SQUARE = {"type": "Polygon", "coordinates": [[[68, 37], [69, 37], [69, 38], [68, 38], [68, 37]]]}


def _feature(properties: dict[str, Any], geometry: Any = SQUARE) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _write(tmp_path: Path, document: Any, name: str = "boundaries.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _boundaries() -> dict[str, Any]:
    return dict(Place.objects.filter(boundary__isnull=False).values_list("code", "boundary"))


@pytest.mark.django_db
def test_a_lead_adds_a_community_in_one_of_the_programmes_districts() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    place = services.community_create(
        acting_user=lead, programme=programme, parent=district(), name_en="Mahalla Guliston"
    )
    assert (place.level, place.programme, place.parent) == ("community", programme, district())
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.CREATED)
    assert event.object_label == "Mahalla Guliston"


@pytest.mark.django_db
def test_a_community_cannot_be_added_outside_the_programme() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    before = Place.objects.count()
    for parent in (district("TJ-KT-KUL"), Place.objects.get(code="TJ-KT")):
        with pytest.raises(ValidationError) as error:
            services.community_create(
                acting_user=lead, programme=programme, parent=parent, name_en="Elsewhere"
            )
        assert error.value.message_dict == {
            "parent": ["Choose a district this programme works in."]
        }
    assert Place.objects.count() == before
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_viewer_cannot_add_communities() -> None:
    programme = ProgrammeFactory()
    viewer = member_of(programme, Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.community_create(
            acting_user=viewer, programme=programme, parent=district(), name_en="X"
        )


@pytest.mark.django_db
def test_boundaries_match_by_code_and_by_name_and_report_the_rest(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "type": "FeatureCollection",
            "features": [
                _feature({"shapeISO": "tj-kt-vak", "shapeName": "Whatever"}),
                _feature({"name": "Kulob"}),
                _feature({"name": "Atlantis"}),
            ],
        },
    )
    kulob = Place.objects.get(code="TJ-KT-KUL")
    assert kulob.name_en == "Kulob"
    report = services.boundaries_import(path=path)
    assert report.errors == []
    assert report.matched == [("#1 Whatever", "TJ-KT-VAK"), ("#2 Kulob", "TJ-KT-KUL")]
    assert report.unmatched == ["#3 Atlantis"]
    assert _boundaries() == {"TJ-KT-VAK": SQUARE, "TJ-KT-KUL": SQUARE}
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.IMPORTED)
    assert event.details == {"file": "boundaries.geojson", "matched": 2, "unmatched": 1}


@pytest.mark.django_db
def test_a_dry_run_changes_nothing(tmp_path: Path) -> None:
    path = _write(
        tmp_path, {"type": "FeatureCollection", "features": [_feature({"code": "TJ-KT-VAK"})]}
    )
    report = services.boundaries_import(path=path, dry_run=True)
    assert report.matched == [("#1 TJ-KT-VAK", "TJ-KT-VAK")]
    assert _boundaries() == {}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        json.dumps([1, 2, 3]).encode(),
        json.dumps({"type": "FeatureCollection"}).encode(),
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    _feature({"code": "TJ-KT-VAK"}),
                    _feature(
                        {"code": "TJ-KT-KUL"}, geometry={"type": "Point", "coordinates": [1, 2]}
                    ),
                ],
            }
        ).encode(),
        json.dumps(
            {"type": "FeatureCollection", "features": [_feature({"code": "TJ-KT-VAK"}), "oops"]}
        ).encode(),
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": ["x"], "geometry": SQUARE}],
            }
        ).encode(),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "a-list",
        "no-features",
        "a-point",
        "a-feature-that-is-a-string",
        "properties-that-are-a-list",
    ],
)
@pytest.mark.django_db
def test_a_malformed_file_changes_nothing_and_says_why(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(content)
    report = services.boundaries_import(path=path)
    assert report.errors, "a malformed file is reported"
    assert _boundaries() == {}
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_the_command_prints_matched_and_unmatched(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "type": "FeatureCollection",
            "features": [_feature({"code": "UZ-JI"}), _feature({"name": "Nowhere"})],
        },
    )
    out = StringIO()
    call_command("places", "import-geojson", str(path), stdout=out)
    text = out.getvalue()
    assert "matched    #1 UZ-JI → UZ-JI" in text
    assert "unmatched  #2 Nowhere" in text
    assert "1 boundaries imported; 1 features unmatched." in text
    assert _boundaries() == {"UZ-JI": SQUARE}


@pytest.mark.django_db
def test_the_command_refuses_a_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text("{nope", encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match=r"Nothing was imported\."):
        call_command("places", "import-geojson", str(path), stdout=StringIO(), stderr=err)
    assert "bad.geojson is not a readable GeoJSON file" in err.getvalue()
    assert _boundaries() == {}


@pytest.mark.django_db
def test_the_command_says_when_the_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("places", "import-geojson", str(tmp_path / "missing.geojson"))


@pytest.mark.django_db
def test_loading_the_shipped_places_twice_changes_nothing() -> None:
    before = Place.objects.count()
    count = services.administrative_places_load()
    assert count == before == Place.objects.filter(programme__isnull=True).count()
    assert services.administrative_places_load() == count
    assert Place.objects.count() == before


@pytest.mark.django_db
def test_a_programmes_area_costs_the_same_queries_for_two_districts_or_ten() -> None:
    """The regions and country above the places a programme covers are found one level at a
    time, not one place at a time (the programme home asks on every visit)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from amniyat.places.selectors import programme_area_ids

    codes = [
        "TJ-SU-BGH", "TJ-SU-ISF", "TJ-KT-HAM", "TJ-KT-KUS", "TJ-KT-KUL",
        "TJ-KT-VAK", "TJ-RA-NUR", "TJ-RA-TOJ", "TJ-RA-VAH", "TJ-GB-VAN",
    ]  # fmt: skip
    counts = []
    for chosen in (codes[:2], codes):
        programme = ProgrammeFactory()
        programme.places.set([district(code) for code in chosen])
        with CaptureQueriesContext(connection) as queries:
            area = programme_area_ids(programme)
        counts.append(len(queries))
        assert district(chosen[0]).parent_id in area and district(chosen[0]).country.pk in area
    assert counts[0] == counts[1]
