"""Every public route — pages, API, tiles, search, reports, exports in every format — as the public: no phone or
ID number, no beneficiary's or custodian's full name. Staff see them (the control that this test can fail)."""

import io
import json
import math
import re
import zipfile

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.world import BENEFICIARY, PERSON, PERSONAL_MARKERS, PHONE

SKIP_PREFIXES = ("admin/", "i18n/")
EXPORT_FORMATS = ("csv", "xlsx", "geojson", "kml", "gpkg", "shp")


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def concrete_urls(world) -> list[str]:
    """Each public route with real codes filled in, and the query strings that make it show data."""
    household = world.assets["west_household"]
    z, x, y = tile_of(household.location.x, household.location.y, 14)
    values = {"code": household.code, "layer": "assets", "z": str(z), "x": str(x), "y": str(y)}
    urls = []
    for pattern in walk(get_resolver().url_patterns):
        if pattern.startswith(SKIP_PREFIXES) or "<uuid:" in pattern:
            continue
        url = "/" + pattern.replace("^", "").replace("$", "")
        area_route = "villages/" in url or "areas/" in url
        for key, value in {**values, **({"code": world.areas.west_south.code} if area_route else {})}.items():
            for converter in ("str", "int", "path", "slug"):
                url = url.replace(f"<{converter}:{key}>", value)
        if "<" in url:
            continue  # a route this sweep cannot fill: listed by the assertion below
        urls.append(url)
    village = world.areas.west_south.code
    urls += [f"/villages/{village}/", f"/api/v1/areas/{village}/summary/",
             f"/api/v1/assets/{world.assets['west_equity'].code}/",
             f"/assets/{world.assets['west_equity'].code}/", f"/assets/{world.assets['west_road'].code}/"]
    urls += [f"/api/v1/search/?q={q}" for q in (BENEFICIARY, PERSON, "西南村", "西北村", "到户")]
    # OGC API – Features: every collection's items, as JSON and HTML, and the household asset alone
    urls += [f"/ogc/collections/{c}/items?f={f}" for c in ("assets", "public_welfare", "operating", "household")
             for f in ("json", "html")]
    urls += [f"/ogc/collections/assets/items/{household.code}", f"/ogc/collections/household/items/{household.code}"]
    urls += [f"/import/export/?format={fmt}" for fmt in EXPORT_FORMATS]
    urls += [f"/import/export/?format={fmt}&village={village}" for fmt in ("csv", "xlsx")]
    return urls


def readable(response) -> bytes:
    """The body, with zip containers (XLSX, zipped shapefiles, KMZ) opened."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return b"\n".join(archive.read(name) for name in archive.namelist())
    return body


def encodings(marker: str) -> list[bytes]:
    return [marker.encode(), marker.encode("gbk"), json.dumps(marker).strip('"').encode()]


def test_the_public_sees_no_personal_data_anywhere(world, settings):
    settings.EXPORT_RATE_ANON = "1000/hour"
    client = Client()
    urls = concrete_urls(world)
    assert any(u.startswith("/tiles/") for u in urls) and any(u.startswith("/api/v1/assets/") for u in urls)
    not_shown = []
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200:
            not_shown.append(url)
            continue
        body = readable(response)
        leaked = [m for m in PERSONAL_MARKERS if any(e in body for e in encodings(m))]
        assert not leaked, (url, leaked)
    # the routes that carry register data answered the public (the rest are for logged-in staff)
    data_routes = re.compile(r"^/(api/v1/assets/|assets/[^/]+/$|tiles/assets/|villages/[^/]+/$|api/v1/search/"
                             r"|import/export/|ogc/collections/[^/]+/items)")
    assert not [u for u in not_shown if data_routes.match(u)], not_shown


def test_the_public_sees_masked_names(world):
    client = Client()
    detail = client.get(f"/api/v1/assets/{world.assets['west_equity'].code}/").json()["properties"]
    assert detail["custody"]["person"] == "欧**福" and detail["custody"]["phone"] == ""
    assert "马*福" in [o["owner_name"] for o in detail["owners"]]
    household = client.get(f"/api/v1/assets/{world.assets['west_household'].code}/").json()["properties"]
    assert household["name"].startswith("西南村") and BENEFICIARY not in household["name"]
    page = client.get(f"/assets/{world.assets['west_household'].code}/").text
    assert household["name"] in page and "欧**福" in page


@pytest.mark.parametrize("role", ["county_admin", "inspector", "township"])
def test_staff_see_personal_data_in_their_scope(world, role):
    client = Client()
    client.force_login(world.users[role])
    detail = client.get(f"/api/v1/assets/{world.assets['west_equity'].code}/").json()["properties"]
    assert detail["custody"] == {**detail["custody"], "person": PERSON, "phone": PHONE}
    assert BENEFICIARY in [o["owner_name"] for o in detail["owners"]]
    page = client.get(f"/assets/{world.assets['west_household'].code}/").text
    assert BENEFICIARY in page and PHONE in page
    export = readable(client.get("/import/export/?format=csv"))
    assert PHONE.encode() in export and BENEFICIARY.encode() in export
