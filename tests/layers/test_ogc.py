"""OGC API – Features under /ogc/ (layers/ogc.py, layers/views_ogc.py): structure, keyset paging, CRS, filters,
rights. GDAL's own client reads it in tests/layers/test_ogc_gdal.py."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType, Role
from tests.factories import make_asset, make_user, record
from tests.layers.conftest import ROLE_VISIBLE, as_user

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def items(client, query="", collection="assets", **headers):
    response = client.get(f"/ogc/collections/{collection}/items?{query}", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/geo+json")
    return response


def codes_of(response) -> set[str]:
    return {f["id"] for f in response.json()["features"]}


def follow_all(client, first: str) -> list[str]:
    """Every feature id, following the `next` links to the end."""
    seen, url, pages = [], first, 0
    while url:
        data = client.get(url).json()
        seen += [f["id"] for f in data["features"]]
        url = next((link["href"] for link in data["links"] if link["rel"] == "next"), None)
        pages += 1
        assert pages < 100
    return seen


def test_landing_conformance_and_api(world):
    client = Client()
    landing = client.get("/ogc/").json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in conformance  # Part 3: test_ogc_filter.py
    api = client.get("/ogc/api")
    assert api["Content-Type"].startswith("application/vnd.oai.openapi+json")
    paths = api.json()["paths"]
    assert {"/", "/conformance", "/collections", "/collections/{collectionId}/items",
            "/collections/{collectionId}/items/{featureId}", "/collections/{collectionId}/queryables"} <= set(paths)
    limit = next(p for p in paths["/collections/{collectionId}/items"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10_000


def test_collections_list_extent_and_crs(world):
    data = as_user(world.inspector).get("/ogc/collections").json()
    ids = [c["id"] for c in data["collections"]]
    assert ids == ["assets", "public_welfare", "operating", "household", "villages", "townships", "verifications"]
    assets = data["collections"][0]
    assert assets["storageCrs"] == EPSG + "4490"
    assert {CRS84, EPSG + "4326", EPSG + "4490", EPSG + "3857", EPSG + "4546"} <= set(assets["crs"])
    assert EPSG + "4545" not in assets["crs"]  # CM 108°E: does not touch the county (111.5–111.7°E)
    minx, miny, maxx, maxy = assets["extent"]["spatial"]["bbox"][0]
    assert 111.5 <= minx <= maxx <= 111.7 and 33.8 <= miny <= maxy <= 34.0
    assert any(link["rel"] == "items" and link["type"] == "application/geo+json" for link in assets["links"])
    one = Client().get("/ogc/collections/townships").json()
    assert one["id"] == "townships" and one["itemType"] == "feature"


def test_html_pages(world):
    page = Client().get("/ogc/collections", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b"/ogc/collections/assets/items" in page.content
    assert Client().get("/ogc/?f=html")["Content-Type"].startswith("text/html")
    assert Client().get("/ogc/?f=json")["Content-Type"].startswith("application/json")
    assert Client().get("/ogc/", HTTP_ACCEPT="application/json")["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("who", "expected"), ROLE_VISIBLE)
def test_items_obey_role(world, who, expected):
    user = None if who == "anonymous" else getattr(world, who)
    data = items(as_user(user)).json()
    assert {f["id"] for f in data["features"]} == {getattr(world, name).code for name in expected}
    assert data["numberMatched"] == data["numberReturned"] == len(expected)


def test_village_clerk_sees_its_village_only(world):
    clerk = make_user("ws_village", Role.VILLAGE, area=world.areas.west_south)
    assert codes_of(items(as_user(clerk))) == {world.road.code}
    response = as_user(clerk).get(f"/ogc/collections/assets/items/{world.water.code}")
    assert response.status_code == 404


def test_public_sees_redacted_names(world):
    house = make_asset(actor=world.admin, name="张三丰养殖圈舍", asset_type=AssetType.HOUSEHOLD_FIXED,
                       area=world.areas.east_north, is_published=True, custodian_person="张三丰")
    public = items(Client(), collection="household").json()["features"]
    assert [f["id"] for f in public] == [house.code]
    assert "张三丰" not in public[0]["properties"]["name"]
    assert "张三丰" not in Client().get(f"/ogc/collections/household/items/{house.code}").content.decode()
    staff = items(as_user(world.inspector), collection="household").json()["features"]
    assert {f["properties"]["name"] for f in staff} >= {"张三丰养殖圈舍"}


def test_feature_types_and_item(world):
    feature = as_user(world.inspector).get(f"/ogc/collections/assets/items/{world.road.code}")
    assert feature.status_code == 200 and feature["Content-Type"].startswith("application/geo+json")
    assert feature["Content-Crs"] == f"<{CRS84}>"
    props = feature.json()["properties"]
    assert props["total_investment"] == float(world.road.total_investment)
    assert isinstance(props["total_investment"], float) and isinstance(props["year_built"], int)
    assert props["last_verified_at"].startswith("2025-05-01")
    assert props["type"] == "road" and props["type_label"] and props["village_code"] == world.areas.west_south.code
    assert feature.json()["geometry"]["type"] == "MultiLineString"


def test_unknown_collection_and_item_404(world):
    assert Client().get("/ogc/collections/nothing").status_code == 404
    assert Client().get("/ogc/collections/nothing/items").status_code == 404
    assert Client().get("/ogc/collections/assets/items/NO-SUCH").status_code == 404
    # an unpublished asset is not the public's: 404, like one that does not exist
    assert Client().get(f"/ogc/collections/assets/items/{world.water.code}").status_code == 404
    assert as_user(world.inspector).get(f"/ogc/collections/assets/items/{world.water.code}").status_code == 200


@pytest.mark.parametrize("limit", ["0", "10001", "-1", "x"])
def test_limit_bounds(world, limit):
    response = Client().get(f"/ogc/collections/assets/items?limit={limit}")
    assert response.status_code == 400
    assert "10000" in response.json()["description"]


def test_limit_upper_bound_accepted(world):
    assert items(Client(), "limit=10000").json()["numberReturned"] == 2



def test_area_collections_serve_a_larger_limit_as_their_own_and_page_on(world, monkeypatch):
    from geo_assets.models import AdminArea
    from layers import ogc

    monkeypatch.setattr(ogc, "AREAS_MAX_LIMIT", 3)
    first = items(Client(), "limit=10000", collection="villages").json()
    villages = set(AdminArea.objects.filter(level="village").values_list("code", flat=True))
    assert len(villages) > 3 and first["numberReturned"] == 3 and first["numberMatched"] == len(villages)
    seen = follow_all(Client(), "/ogc/collections/villages/items?limit=10000")
    assert len(seen) == len(set(seen)) and set(seen) == villages
    assert items(Client(), "limit=10000").json()["numberReturned"] == 2  # the assets keep theirs

def test_keyset_pages_to_the_end_without_duplicates(world):
    for i in range(11):
        make_asset(actor=world.admin, name=f"西北村道路{i}", area=world.areas.west_north)
    client = as_user(world.inspector)
    first = items(client, "limit=4").json()
    assert first["numberReturned"] == 4 and first["numberMatched"] == 15
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    assert "offset" not in next_link and "cursor=" in next_link
    seen = follow_all(client, "/ogc/collections/assets/items?limit=4")
    assert len(seen) == len(set(seen)) == 15
    assert set(seen) == set(Asset.objects.values_list("code", flat=True))
    # stable: a page link read twice gives the same page, and a new asset does not shift the pages already read
    assert client.get(next_link).json()["features"] == client.get(next_link).json()["features"]
    before = [f["id"] for f in client.get(next_link).json()["features"]]
    make_asset(actor=world.admin, name="新道路", area=world.areas.west_north)
    assert [f["id"] for f in client.get(next_link).json()["features"]] == before
    assert Client().get("/ogc/collections/assets/items?cursor=%%%").status_code == 400


def test_prev_links_walk_back_to_the_first_page(world):
    for i in range(6):
        make_asset(actor=world.admin, name=f"西北村道路{i}", area=world.areas.west_north)
    client = as_user(world.inspector)

    def page(url):
        data = client.get(url).json()
        return [f["id"] for f in data["features"]], {link["rel"]: link["href"] for link in data["links"]}

    first, links = page("/ogc/collections/assets/items?limit=4")
    assert "prev" not in links
    second, links = page(links["next"])
    third, last_links = page(links["next"])
    assert len(third) == 2 and "next" not in last_links
    back, links = page(last_links["prev"])
    assert back == second
    again, links = page(links["prev"])
    assert again == first and "prev" not in links and "next" in links


def test_bbox_and_bbox_crs(world):
    client = as_user(world.inspector)
    assert codes_of(items(client, "bbox=111.6,33.9,111.7,34.0")) == {world.livestock.code}
    # EPSG:4490 and EPSG:4326: latitude first
    assert codes_of(items(client, f"bbox=33.9,111.6,34.0,111.7&bbox-crs={EPSG}4490")) == {world.livestock.code}
    assert codes_of(items(client, "bbox=33.9,111.6,34.0,111.7&bbox-crs=EPSG:4326")) == {world.livestock.code}
    # the same box given lon/lat under a lat/lon CRS has a latitude of 111.6: refused
    assert client.get(f"/ogc/collections/assets/items?bbox=111.6,33.9,111.7,34.0&bbox-crs={EPSG}4490").status_code == 400
    # Web Mercator metres
    assert codes_of(items(client, f"bbox=12429000,4020000,12452000,4028000&bbox-crs={EPSG}3857")) == {
        world.livestock.code}
    bad = client.get("/ogc/collections/assets/items?bbox=1,2,3")
    assert bad.status_code == 400 and "bbox" in bad.json()["description"]
    assert client.get("/ogc/collections/assets/items?bbox=1,2,3,4&bbox-crs=EPSG:9999").status_code == 400
    for odd in ("nan,1,2,3", "-inf,0,inf,1", "0,0,1e300,1e300", "3,3,1,1"):
        assert client.get(f"/ogc/collections/assets/items?bbox={odd}&bbox-crs=EPSG:3857").status_code == 400


def test_crs_4490_axis_order_and_content_crs(world):
    client = as_user(world.inspector)
    code = world.greenhouse.code
    plain = client.get(f"/ogc/collections/assets/items/{code}").json()["geometry"]["coordinates"]
    response = items(client, f"crs={EPSG}4490")
    assert response["Content-Crs"] == f"<{EPSG}4490>"
    feature = next(f for f in response.json()["features"] if f["id"] == code)
    lat, lon = feature["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx(tuple(plain))
    assert 33.8 < lat < 34.0 and 111.5 < lon < 111.7
    short = items(client, "crs=EPSG:4326")
    assert short["Content-Crs"] == f"<{EPSG}4326>"


def test_crs_gauss_kruger_zone(world):
    """CGCS2000 / 3-degree Gauss–Krüger CM 111E (EPSG:4546): northing, easting in metres."""
    response = as_user(world.inspector).get(f"/ogc/collections/assets/items/{world.greenhouse.code}?crs={EPSG}4546")
    assert response["Content-Crs"] == f"<{EPSG}4546>"
    north, east = response.json()["geometry"]["coordinates"]
    assert 3_700_000 < north < 3_800_000 and 550_000 < east < 580_000
    assert Client().get("/ogc/collections/assets/items?crs=EPSG:2000").status_code == 400


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=road", {"road"}),
        ("type=道路交通", {"road"}),  # i18n: data
        ("status=in_use", {"road", "water", "greenhouse", "livestock"}),
        ("village_code=410324101002", {"water"}),
        ("township_code=410324102000", {"greenhouse", "livestock"}),
        ("type=road,greenhouse", {"road", "greenhouse"}),
        ("year_built=2020", {"road"}),
        ("category=经营性资产", {"greenhouse"}),  # i18n: data
    ],
)
def test_property_filters(world, query, expected):
    assert codes_of(items(as_user(world.inspector), query)) == {getattr(world, n).code for n in expected}


def test_property_filter_refuses_unknown_values(world):
    response = Client().get("/ogc/collections/assets/items?type=spaceship")
    assert response.status_code == 400 and response.json()["description"].startswith("type:")
    assert Client().get("/ogc/collections/assets/items?village_code=12").status_code == 400


def test_datetime_on_last_change(world):
    client = as_user(world.inspector)
    assert len(codes_of(items(client, "datetime=2000-01-01T00:00:00Z/.."))) == 4
    assert codes_of(items(client, "datetime=../2001-01-01")) == set()
    assert client.get("/ogc/collections/assets/items?datetime=yesterday").status_code == 400


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z/..", "../9999-12-31T23:59:59Z", "2999-01-01/..",
                                   "1900-01-01/1900-01-02", "2026-13-01", "2026-02-30T00:00:00Z",
                                   "2026-01-02/2026-01-01", "2026-01-01T25:00:00Z", "x" * 500])
def test_datetime_at_the_edges_of_time(world, value):
    """Time is input: far past, far future, reversed, impossible and oversized values give a result or a 400, never
    an error or more than the role sees."""
    client = as_user(world.inspector)
    response = client.get("/ogc/collections/assets/items", {"datetime": value})
    assert response.status_code in (200, 400), (value, response.status_code)
    if response.status_code == 200:
        everything = codes_of(items(client))
        found = codes_of(response)
        assert found <= everything
        if value.startswith(("2999", "1900", "../9999")):
            assert found == (everything if value.startswith("../9999") else set())


def test_category_collection(world):
    assert codes_of(items(as_user(world.inspector), collection="operating")) == {world.greenhouse.code}


def test_area_collections_are_public(world):
    data = items(Client(), collection="villages").json()
    assert data["numberMatched"] == 4
    assert {f["properties"]["parent_code"] for f in data["features"]} == {world.areas.west.code, world.areas.east.code}
    assert codes_of(items(Client(), "bbox=111.5,33.8,111.59,33.89", collection="villages")) == {
        world.areas.west_south.code}


def test_token_auth(world):
    token = Token.objects.create(user=world.inspector)
    response = items(Client(), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.json()["numberMatched"] == 4
    assert response["Cache-Control"] == "private, no-cache"
    assert Client().get("/ogc/collections/assets/items", HTTP_AUTHORIZATION="Token wrong").status_code in (401, 403)


def test_verifications_collection_is_for_staff_only(world):
    road = record(world.clerk, world.road)
    water = record(world.clerk, world.water, finding="damaged")
    listed = [c["id"] for c in as_user(world.inspector).get("/ogc/collections").json()["collections"]]
    assert listed[-1] == "verifications"
    data = items(as_user(world.inspector), collection="verifications").json()
    assert {f["id"] for f in data["features"]} == {str(road.pk), str(water.pk)}
    props = next(f for f in data["features"] if f["id"] == str(water.pk))["properties"]
    assert props["asset_code"] == world.water.code and props["finding"] == "damaged" and props["finding_label"]
    assert "note" not in props and "verifier" not in props
    assert codes_of(items(as_user(world.clerk), collection="verifications")) == {str(road.pk), str(water.pk)}
    # the roads department sees only the road's
    assert codes_of(items(as_user(world.department), collection="verifications")) == {str(road.pk)}
    one = as_user(world.inspector).get(f"/ogc/collections/verifications/items/{road.pk}?crs=EPSG:4490")
    lat, lon = one.json()["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx((world.road.location.x, world.road.location.y), abs=1e-6)
    assert as_user(world.department).get(f"/ogc/collections/verifications/items/{water.pk}").status_code == 404
    assert codes_of(items(as_user(world.inspector), "bbox=111.5,34.9,111.6,35.0", collection="verifications")) == set()
    # the public: no such collection
    assert "verifications" not in [c["id"] for c in Client().get("/ogc/collections").json()["collections"]]
    assert Client().get("/ogc/collections/verifications/items").status_code == 404
    assert Client().get(f"/ogc/collections/verifications/items/{road.pk}").status_code == 404
