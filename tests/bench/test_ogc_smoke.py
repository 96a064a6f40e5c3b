"""The OGC API – Features benchmark (bench/ogc.py, `make bench`) runs end to end on tiny data: a real gunicorn
server, GDAL's OAPIF client paging to the end, the ogr2ogr floor from PostGIS, the first and last page over HTTP,
so it cannot rot."""

import shutil
from types import SimpleNamespace

import pytest
from rest_framework.authtoken.models import Token

from bench import ogc
from geo_assets.models import Asset

QUICK = SimpleNamespace(quick=True, repeat=1, scale=1.0)

pytestmark = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="gdal-bin is not installed")


def test_ogc_benchmark_quick(committed_world):
    rows = ogc.ogc_benchmark(QUICK)
    count = Asset.objects.count()
    assert [r["name"] for r in rows] == [
        f"ogc OAPIF → GPKG (inspector, {count} assets, limit 5): features/s",
        "ogc OAPIF → GPKG from static pages (GDAL's client alone, limit 5): features/s",
        "ogc items, limit 5: last page ms vs first", "ogc items: workers' peak RSS MB"]
    for r in rows:
        assert set(r) >= {"name", "value", "unit", "anchor", "anchor_name", "ratio", "target", "pass"}
        assert r["value"] > 0 and r["anchor"] > 0 and r["ratio"] is not None, r
        assert r["target"] is None and r["pass"] is None  # quick: no targets
        assert r["features"] == count > 5 and r["page_size"] == 5  # several pages, every asset on both sides
        assert r["worker_rss_mb"] > 0 and r["client_rss_mb"] > 0 and r["anchor_client_rss_mb"] > 0
    assert rows[3]["value"] >= rows[3]["anchor"]  # a peak is never below the idle workers' RSS
    assert not Token.objects.exists()  # the token it made for the run is gone


def test_floor_selects_the_features_columns(committed_world):
    """The floor reads the same columns as an OGC feature's properties (and the geometry), with the same labels."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(ogc.floor_sql())
        names = [c.name for c in cursor.description]
        rows = cursor.fetchall()
    assert names == ["code", "name", "category", "category_label", "type", "type_label", "status", "status_label",
                     "village_code", "village_name", "township_code", "township_name", "year_built",
                     "total_investment", "last_verified_at", "updated_at", "geom"]
    road = committed_world.road
    found = next(r for r in rows if r[0] == road.code)
    assert found[3] == str(road.get_category_display()) and found[5] == str(road.get_asset_type_display())
    assert found[8] == road.village.code and found[13] == float(road.total_investment)
    assert len(rows) == Asset.objects.count()
