"""Vega-Lite specifications carry only disclosure-controlled numbers and well-wound shapes."""

from __future__ import annotations

from amniyat.findings.charts import _signed_area, district_map, wound_for_vega

SQUARE_ANTICLOCKWISE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]


def test_an_rfc7946_outer_ring_is_rewound_clockwise_for_the_map() -> None:
    hole = [[0.2, 0.2], [0.2, 0.4], [0.4, 0.4], [0.4, 0.2], [0.2, 0.2]]  # clockwise
    wound = wound_for_vega({"type": "Polygon", "coordinates": [SQUARE_ANTICLOCKWISE, hole]})
    outer, inner = wound["coordinates"]
    assert _signed_area(outer) < 0 < _signed_area(inner)
    multi = wound_for_vega({"type": "MultiPolygon", "coordinates": [[SQUARE_ANTICLOCKWISE]]})
    assert _signed_area(multi["coordinates"][0][0]) < 0


def test_a_withheld_district_reaches_the_map_without_its_value() -> None:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [SQUARE_ANTICLOCKWISE]},
            "properties": {
                "name": "Vanj",
                "estimate": None,
                "tip": "Vanj\nsuppressed (fewer than 5 respondents)",
            },
        }
    ]
    spec = district_map(features, kind="proportion", value_title="Feel safe")
    properties = spec["data"]["values"]["features"][0]["properties"]
    assert properties["estimate"] is None and "n" not in properties
    # Drawn grey, apart from the districts coloured by their value.
    grey, coloured = spec["layer"]
    assert grey["transform"] == [{"filter": "datum.properties.estimate == null"}]
    assert "color" not in grey["encoding"] and "color" in coloured["encoding"]
