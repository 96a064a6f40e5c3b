"""Clients nobody here wrote send CQL2 filters to /ogc/ on the live server: GDAL's OAPIF driver (its `-where` pushed
down to the server) and OWSLib's Features client, following the filtered pages to the end, as each role. (Apart from
tests/layers/test_ogc_filter.py: these tests commit their data for the live server, the module-wide map world there
cannot be shared with them.)"""

import json
import os
import shutil
import subprocess
from urllib.parse import parse_qsl, urlsplit

import pytest
from owslib import ogcapi
from owslib.ogcapi.features import Features
from rest_framework.authtoken.models import Token

from geo_assets.models import Asset
from tests.factories import make_asset
from tests.world import build_map_world

OGR2OGR = shutil.which("ogr2ogr")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_world():
    world = build_map_world()
    for i in range(6):
        make_asset(actor=world.admin, name=f"西南村道路{i}", area=world.areas.west_south,  # i18n: data
                   is_published=i % 2 == 0, year_built=2019)
    return world


def ogr2ogr(url: str, out, *, where: str, token: str | None = None) -> tuple[dict, str]:
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "ON"}
    if token:
        env["GDAL_HTTP_HEADERS"] = f"Authorization: Token {token}"
    result = subprocess.run(
        [OGR2OGR, "-f", "GeoJSON", str(out), f"OAPIF:{url}", "assets", "-oo", "PAGE_SIZE=2", "-where", where],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(out.read_text()), result.stderr


@pytest.mark.skipif(OGR2OGR is None, reason="gdal-bin is not installed (scripts/sysdeps.sh)")
def test_gdal_pushes_its_where_down_as_cql(live_world, live_server, tmp_path):
    """GDAL's OAPIF driver turns `-where` into a CQL filter sent to the server when the OpenAPI document offers a
    filter language it knows (GDAL 3.6: the draft's `cql-text`; later GDALs read the conformance classes), pages
    through the filtered items, and gets exactly what the role sees of them."""
    where = "type = 'road' AND year_built >= 2019"
    token = Token.objects.create(user=live_world.inspector).key
    data, log = ogr2ogr(live_server.url + "/ogc/", tmp_path / "staff.geojson", where=where, token=token)
    got = {f["properties"]["code"] for f in data["features"]}
    expected = set(Asset.objects.filter(asset_type="road", year_built__gte=2019).values_list("code", flat=True))
    assert got == expected and len(got) == 7
    # sent to the server, whole: after its first page (read for the schema), every page GDAL fetched carries the
    # filter in CQL text (GDAL 3.6 logs "CQL text detected" once it has read the OpenAPI document)
    assert "CQL text detected" in log, log[-3000:]
    after = log.split("CQL text detected", 1)[1]
    fetched = [line for line in after.splitlines() if "Fetch(" in line and "/collections/assets/items" in line]
    assert len(fetched) >= 4 and all("filter=" in line and "year_built" in line for line in fetched), log[-3000:]
    assert "evaluated on client side" not in log
    public, _log = ogr2ogr(live_server.url + "/ogc/", tmp_path / "public.geojson", where=where)
    assert {f["properties"]["code"] for f in public["features"]} == set(
        Asset.objects.filter(asset_type="road", year_built__gte=2019, is_published=True).values_list("code", flat=True))


DEFAULT_HEADERS = dict(ogcapi.REQUEST_HEADERS)


def owslib_client(url: str, token: str | None = None) -> Features:
    """A client of its own (OWSLib 0.35 adds a client's headers to its module-wide defaults)."""
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(DEFAULT_HEADERS)
    client = Features(url, headers={"Authorization": f"Token {token}"} if token else None)
    client.headers = dict(client.headers)
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(DEFAULT_HEADERS)
    return client


def test_owslib_passes_a_filter_and_follows_its_pages(live_world, live_server):
    client = owslib_client(live_server.url + "/ogc/", Token.objects.create(user=live_world.clerk).key)
    cql = "year_built = 2019 OR type = 'water_supply'"
    features, page = [], client.collection_items("assets", filter=cql, limit=2)
    while True:
        features += page["features"]
        after = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"), None)
        if after is None:
            break
        page = client.collection_items("assets", **dict(parse_qsl(urlsplit(after).query)))
    codes = [f["properties"]["code"] for f in features]
    expected = set(Asset.objects.filter(township=live_world.areas.west).filter(
        year_built=2019).values_list("code", flat=True)) | {live_world.water.code}
    assert len(codes) == len(set(codes)) == len(expected) == 7 and set(codes) == expected
