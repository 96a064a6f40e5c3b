"""The asset pages of /ogc/ as PostgreSQL writes them (layers.ogc.items_page_encoded): every feature equal, value for
value and key for key in the same order, to what items_page builds in Python (asset_properties, the Redactor, the
labels of the language), for every role and CRS and both directions of paging; numberMatched on the first page only."""

import datetime
import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict
from django.test import Client
from django.utils import translation

from geo_assets.models import Asset
from geo_assets.privacy import asset_public_name
from geo_assets.taxonomy import AssetType
from layers import ogc
from tests.factories import make_asset
from tests.layers.conftest import ROLE_VISIBLE, as_user

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def both(user, query: str, collection: str = "assets"):
    found = ogc.collection_get(collection, user)
    parsed = ogc.items_query(found, QueryDict(query), user)
    python, encoded = ogc.items_page(found, parsed, user), ogc.items_page_encoded(found, parsed, user)
    return python, encoded


def decoded(encoded: dict) -> list[dict]:
    return json.loads("[" + encoded["features"].decode() + "]")


def more_assets(world, n: int = 9):
    for i in range(n):
        make_asset(actor=world.admin, name=f"西南村道路{i}", area=world.areas.west_south, is_published=i % 2 == 0)
    # one change at a whole second (no microseconds): isoformat writes none, and neither must the SQL
    Asset.objects.filter(pk=world.water.pk).update(updated_at=datetime.datetime(2025, 6, 1, 8, 30, tzinfo=datetime.UTC))


@pytest.mark.parametrize("who", [who for who, _ in ROLE_VISIBLE])
@pytest.mark.parametrize("crs", ["", f"crs={EPSG}4490", f"crs={EPSG}3857", f"crs={EPSG}4546", "crs=EPSG:4326"])
def test_encoded_features_equal_the_python_ones(world, who, crs):
    more_assets(world)
    user = None if who == "anonymous" else getattr(world, who)
    user = user or AnonymousUser()
    python, encoded = both(user, f"limit=4&{crs}")
    assert encoded is not None
    features = decoded(encoded)
    assert features == python["features"] and len(features) == encoded["numberReturned"] == 4
    for mine, theirs in zip(features, python["features"], strict=True):  # the same keys in the same order
        assert list(mine["properties"]) == list(theirs["properties"])
    assert {k: encoded[k] for k in ("numberMatched", "next", "prev")} == {
        k: python[k] for k in ("numberMatched", "next", "prev")}
    assert isinstance(features[0]["properties"]["total_investment"], float)  # a real number even when whole


def test_encoded_pages_forward_and_back_like_items_page(world):
    more_assets(world)
    user = world.inspector
    query, seen = "limit=4", []
    while True:
        python, encoded = both(user, query)
        assert decoded(encoded) == python["features"]
        assert (encoded["next"], encoded["prev"], encoded["numberReturned"]) == (
            python["next"], python["prev"], python["numberReturned"])
        seen += [f["id"] for f in python["features"]]
        if not encoded["next"]:
            break
        query = f"limit=4&cursor={encoded['next']}"
    assert len(seen) == len(set(seen)) == Asset.objects.count() == 13
    back = f"limit=4&cursor={encoded['prev']}"
    while back:
        python, encoded = both(user, back)
        assert decoded(encoded) == python["features"] and encoded["next"] == python["next"]
        assert encoded["prev"] == python["prev"]
        back = f"limit=4&cursor={encoded['prev']}" if encoded["prev"] else None
    assert [f["id"] for f in python["features"]] == seen[:4]


def test_encoded_labels_follow_the_language(world):
    with translation.override("en"):
        python, encoded = both(world.inspector, "limit=10")
    assert decoded(encoded) == python["features"]
    road = next(f for f in decoded(encoded) if f["id"] == world.road.code)["properties"]
    assert road["type_label"] == "Roads and transport" or road["type_label"].isascii()
    with translation.override("zh-hans"):
        _python, encoded = both(world.inspector, "limit=10")
    road_zh = next(f for f in decoded(encoded) if f["id"] == world.road.code)["properties"]
    assert road_zh["type_label"] != road["type_label"] and not road_zh["type_label"].isascii()


def test_empty_page_and_filters(world):
    python, encoded = both(world.inspector, "type=road&bbox=111.6,33.9,111.7,34.0")
    assert encoded["features"] == b"" and encoded["numberReturned"] == 0 == python["numberReturned"]
    assert encoded["next"] is None and encoded["numberMatched"] == 0
    python, encoded = both(world.inspector, "type=road,greenhouse")
    assert decoded(encoded) == python["features"] and {f["id"] for f in decoded(encoded)} == {
        world.road.code, world.greenhouse.code}


def test_the_public_without_a_stored_public_name_gets_the_python_page(world):
    """A public page holding an asset whose public name was never stored (an asset saved before the column) is
    answered by items_page, which works it out: the person's name is never shown."""
    house = make_asset(actor=world.admin, name="张三丰养殖圈舍", asset_type=AssetType.HOUSEHOLD_FIXED,
                       area=world.areas.east_north, is_published=True, custodian_person="张三丰")
    Asset.objects.filter(pk=house.pk).update(public_name="")
    assert both(AnonymousUser(), "")[1] is None
    data = Client().get("/ogc/collections/household/items").json()
    assert [f["properties"]["name"] for f in data["features"]] == [asset_public_name(Asset.objects.get(pk=house.pk))]
    assert "张三丰" not in json.dumps(data, ensure_ascii=False)
    # staff see the name: the encoded page, with the asset's own name
    assert both(world.inspector, "")[1] is not None


def test_number_matched_on_the_first_page_only(world):
    more_assets(world)
    client = as_user(world.inspector)
    first = client.get("/ogc/collections/assets/items?limit=4").json()
    assert first["numberMatched"] == 13 and first["numberReturned"] == 4
    after = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(after).json()
    assert "numberMatched" not in second and second["numberReturned"] == 4
    # the HTML page, for people, always says how many
    page = client.get(after.replace("f=json", "f=html"))
    assert page.status_code == 200 and "13" in page.content.decode()
    # the other collections follow the same rule
    villages = Client().get("/ogc/collections/villages/items?limit=2").json()
    assert villages["numberMatched"] == 4
    after = next(link["href"] for link in villages["links"] if link["rel"] == "next")
    assert "numberMatched" not in Client().get(after).json()


def test_encoded_response_is_geojson_with_links(world):
    response = as_user(world.inspector).get(f"/ogc/collections/assets/items?limit=2&crs={EPSG}4490")
    assert response["Content-Type"] == "application/geo+json; charset=utf-8"
    assert response["Content-Crs"] == f"<{EPSG}4490>"
    data = response.json()
    assert list(data) == ["type", "features", "links", "numberMatched", "numberReturned", "timeStamp"]
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 2
    assert {link["rel"] for link in data["links"]} == {"self", "alternate", "collection", "next"}


@pytest.mark.parametrize("who", [who for who, _ in ROLE_VISIBLE])
def test_collection_extents_in_one_pass_equal_each_collections(world, who):
    user = getattr(world, who) if who != "anonymous" else AnonymousUser()
    found = ogc.collections(user)
    extents = ogc.collection_extents(found, user)
    assert extents == {c.id: ogc.collection_extent(c, user) for c in found}
    if who == "anonymous":
        assert extents["household"] is None  # nothing published of that category: no extent, as before
    listed = (as_user(None if who == "anonymous" else user)).get("/ogc/collections").json()["collections"]
    assert {c["id"]: c.get("extent", {}).get("spatial", {}).get("bbox", [None])[0] for c in listed} == extents


def next_of(data: dict) -> str:
    return next(link["href"] for link in data["links"] if link["rel"] == "next")


def test_no_read_ahead_inside_a_transaction(world, monkeypatch):
    """A request inside a transaction (here the test's) has rows no other connection sees: nothing is read ahead."""
    more_assets(world)
    counted = []
    real = ogc.items_page_encoded
    monkeypatch.setattr(ogc, "items_page_encoded", lambda *a, **k: counted.append("page") or real(*a, **k))
    ogc.READ_AHEAD.entries.clear()
    first = as_user(world.inspector).get("/ogc/collections/assets/items?limit=4").json()
    assert ogc.READ_AHEAD.entries == {} and counted == ["page"]
    assert as_user(world.inspector).get(next_of(first)).json()["numberReturned"] == 4
    assert counted == ["page", "page"] and ogc.READ_AHEAD.entries == {}


def test_read_ahead_can_be_turned_off(settings):
    settings.OGC_READ_AHEAD = False
    assets = ogc.Collection("assets", "", "assets")
    assert not ogc._read_ahead_allowed(assets)
    settings.OGC_READ_AHEAD = True
    assert ogc._read_ahead_allowed(assets)  # (outside a transaction; this test has no database at all)
    assert not ogc._read_ahead_allowed(ogc.Collection("villages", "", "areas", level="village"))
