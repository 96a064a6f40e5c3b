"""GDAL's own OGC API – Features client (the OAPIF driver of ogr2ogr) reads /ogc/ from the live server: it must
page to the end and get exactly what the role sees, identical codes and attributes."""

import json
import os
import shutil
import subprocess

import pytest
from rest_framework.authtoken.models import Token

from geo_assets.models import Asset
from tests.factories import make_asset
from tests.world import build_map_world

OGR2OGR, OGRINFO = shutil.which("ogr2ogr"), shutil.which("ogrinfo")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(OGR2OGR is None or OGRINFO is None, reason="gdal-bin is not installed (scripts/sysdeps.sh)"),
]


def ogr2ogr(url: str, layer: str, out, *, token: str | None = None, page_size: int = 5, extra=()) -> dict:
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF"}
    if token:
        env["GDAL_HTTP_HEADERS"] = f"Authorization: Token {token}"
    result = subprocess.run(
        [OGR2OGR, "-f", "GeoJSON", str(out), f"OAPIF:{url}", layer, "-oo", f"PAGE_SIZE={page_size}", *extra],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def flat(coordinates) -> list[float]:
    if isinstance(coordinates, (int, float)):
        return [float(coordinates)]
    return [v for part in coordinates for v in flat(part)]


@pytest.fixture
def gdal_world():
    world = build_map_world()
    for i in range(9):  # more than a page or two at PAGE_SIZE=5
        make_asset(actor=world.admin, name=f"西南村道路{i}", area=world.areas.west_south, is_published=i % 2 == 0,
                   year_built=2019)
    return world


def test_ogr2ogr_pages_to_the_end_as_each_role(gdal_world, live_server, tmp_path):
    url = live_server.url + "/ogc/"
    token = Token.objects.create(user=gdal_world.inspector).key
    staff = ogr2ogr(url, "assets", tmp_path / "staff.geojson", token=token)
    codes = [f["properties"]["code"] for f in staff["features"]]
    assert len(codes) == len(set(codes)) == Asset.objects.count() == 13
    assert set(codes) == set(Asset.objects.values_list("code", flat=True))
    road = next(f["properties"] for f in staff["features"] if f["properties"]["code"] == gdal_world.road.code)
    assert road["total_investment"] == float(gdal_world.road.total_investment)
    assert road["name"] == gdal_world.road.name and road["year_built"] == 2020
    # identical geometry: every vertex as stored (EPSG:4490, lon/lat), to the 7 decimals written
    stored = {a.code: a.geometry for a in Asset.objects.all()}
    for feature in staff["features"]:
        geometry = stored[feature["properties"]["code"]]
        assert feature["geometry"]["type"] == geometry.geom_type
        assert flat(feature["geometry"]["coordinates"]) == pytest.approx(
            flat(json.loads(geometry.geojson)["coordinates"]), abs=1e-7)

    public = ogr2ogr(url, "assets", tmp_path / "public.geojson")
    expected = set(Asset.objects.filter(is_published=True).values_list("code", flat=True))
    assert {f["properties"]["code"] for f in public["features"]} == expected
    assert len(public["features"]) == len(expected) == 7

    clerk = ogr2ogr(url, "assets", tmp_path / "clerk.geojson",
                    token=Token.objects.create(user=gdal_world.clerk).key, page_size=3)
    assert {f["properties"]["code"] for f in clerk["features"]} == set(
        Asset.objects.filter(township=gdal_world.areas.west).values_list("code", flat=True))


def gdal_version() -> tuple[int, int]:
    out = subprocess.run([OGRINFO, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = out.split()[1].rstrip(",").split(".")[:2]
    return int(major), int(minor)


def test_ogr2ogr_in_cgcs2000(gdal_world, live_server, tmp_path):
    """All pages in EPSG:4490. GDAL ≥ 3.7 asks for it itself (`-oo CRS=EPSG:4490`, from the collection's `crs`
    list) and swaps the latitude-first axes back; GDAL 3.6 keeps the `crs` parameter of the collection URL on every
    page it follows but reads the coordinates as they come: latitude first, as EPSG:4490 defines its axes."""
    token = Token.objects.create(user=gdal_world.inspector).key
    point = gdal_world.greenhouse.point
    if gdal_version() >= (3, 7):
        data = ogr2ogr(live_server.url + "/ogc/", "assets", tmp_path / "cgcs.geojson", token=token,
                       extra=["-oo", "CRS=EPSG:4490"])
        expected = (point.x, point.y)
    else:
        url = live_server.url + "/ogc/collections/assets?crs=http://www.opengis.net/def/crs/EPSG/0/4490"
        data = ogr2ogr(url, "assets", tmp_path / "cgcs.geojson", token=token)
        expected = (point.y, point.x)
    assert len(data["features"]) == 13
    greenhouse = next(f for f in data["features"] if f["properties"]["code"] == gdal_world.greenhouse.code)
    assert tuple(greenhouse["geometry"]["coordinates"][:2]) == pytest.approx(expected, abs=1e-6)
