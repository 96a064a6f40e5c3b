"""The nearby benchmark of issue 11 in miniature: a quick run on factory data — row shape, no targets, and the API
lists the same assets in the same order as its SQL run directly (the benchmark asserts it)."""

import argparse

import pytest
from django.contrib.gis.geos import Point

from bench import verification as nearby
from geo_assets.models import SRID, AdminArea
from geo_assets.taxonomy import AssetType
from tests.factories import centre, make_admin, make_areas, make_asset, road_in
from verification.selectors import assets_nearby, nearby_statement

QUICK = argparse.Namespace(quick=True, repeat=1, scale=1.0)
TYPES = (AssetType.HEALTH, AssetType.CULTURE, AssetType.WATER_SUPPLY, AssetType.SANITATION)


def county():
    """Four villages with a road (a line: its distance is to the nearest point) and a few points each."""
    areas, admin = make_areas(), make_admin()
    for village in (areas.west_south, areas.west_north, areas.east_south, areas.east_north):
        make_asset(actor=admin, area=village, name=f"{village.name}道路", geometry=road_in(village))
        c = centre(village)
        for i, asset_type in enumerate(TYPES):
            make_asset(actor=admin, area=village, name=f"{village.name}设施{i}", asset_type=asset_type,
                       geometry=Point(c.x + 0.01 * (i - 1.5), c.y + 0.004 * (i % 2), srid=SRID))
    return areas, admin


@pytest.mark.django_db(transaction=True)  # the measures run in processes of their own: the data must be committed
def test_quick_benchmark_rows():
    county()
    rows = nearby.nearby_benchmark(QUICK, log=lambda line: None)
    assert len(rows) == 2 * len(nearby.ROLES)
    knn, floors = rows[0::2], rows[1::2]
    for r in knn:
        assert set(r) >= {"name", "value", "unit", "anchor", "anchor_name", "ratio", "target", "pass", "rss_mb"}
        assert r["unit"] == "ms" and r["value"] > 0 and r["anchor"] > 0 and r["ratio"] > 0
        assert r["target"] is None and r["pass"] is None  # quick: no targets
        assert r["agree"] is True and r["positions"] == nearby.QUICK_POSITIONS
        assert r["rss_mb"] > 0 and r["anchor_rss_mb"] > 0
    for r, of in zip(floors, knn, strict=True):  # the floor: information, against the same SQL
        assert "refused before its statement" in r["name"] and r["target"] is None
        assert 0 < r["value"] and r["anchor"] == of["anchor"]
    assert "village clerk" in knn[0]["name"] and "county administrator" in knn[1]["name"]


def test_positions_lie_in_villages_and_the_statement_is_the_selectors(db):
    areas, admin = county()
    points = nearby.positions(nearby.QUICK_POSITIONS)
    assert len(points) == nearby.QUICK_POSITIONS and points == nearby.positions(nearby.QUICK_POSITIONS)  # deterministic
    for p in points:
        assert AdminArea.objects.get(pk=p["village"]).geom.covers(Point(p["lon"], p["lat"], srid=SRID))
    p = points[0]
    found = assets_nearby(user=admin, lon=p["lon"], lat=p["lat"], limit=5)
    sql, params = nearby_statement(user=admin, lon=p["lon"], lat=p["lat"], limit=5)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert [r[1] for r in cursor.fetchall()] == [a.code for a, _m, _b in found] and len(found) == 5
    assert [m for _a, m, _b in found] == sorted(m for _a, m, _b in found)
