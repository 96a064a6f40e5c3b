"""OWSLib's OGC API – Features client (a client nobody here wrote) reads /ogc/ from the live server: the landing
page, the conformance it declares, the collections and their queryables, and the items, followed page by page
through the `next` links to exactly what the role sees."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from owslib import ogcapi
from owslib.ogcapi.features import Features
from rest_framework.authtoken.models import Token

from geo_assets.models import Asset
from tests.factories import make_asset
from tests.world import build_map_world

pytestmark = pytest.mark.django_db(transaction=True)

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
CRS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"


@pytest.fixture
def owslib_world():
    world = build_map_world()
    for i in range(7):
        make_asset(actor=world.admin, name=f"东南村道路{i}", area=world.areas.east_south, is_published=i % 2 == 1)
    return world


DEFAULT_HEADERS = dict(ogcapi.REQUEST_HEADERS)


def features(url: str, token: str | None = None) -> Features:
    """An OWSLib client of its own: OWSLib 0.35 adds a client's headers to its module-wide defaults (one client's
    token would be sent by every later one), so each starts from the defaults and keeps a copy of its own."""
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(DEFAULT_HEADERS)
    client = Features(url, headers={"Authorization": f"Token {token}"} if token else None)
    client.headers = dict(client.headers)
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(DEFAULT_HEADERS)
    return client


def every_item(client: Features, collection: str, **params) -> list[dict]:
    """All the collection's features, following each page's `next` link as the server wrote it."""
    features, page = [], client.collection_items(collection, **params)
    while True:
        features += page["features"]
        after = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"), None)
        if after is None:
            return features
        page = client.collection_items(collection, **dict(parse_qsl(urlsplit(after).query)))


def test_owslib_reads_the_service_and_pages_to_the_end_as_each_role(owslib_world, live_server):
    url = live_server.url + "/ogc/"
    staff = features(url, Token.objects.create(user=owslib_world.inspector).key)
    assert staff.links and {CORE, CRS} <= set(staff.conformance()["conformsTo"])
    ids = {c["id"] for c in staff.collections()["collections"]}
    assert {"assets", "public_welfare", "operating", "household", "villages", "townships", "verifications"} <= ids
    assert "http://www.opengis.net/def/crs/EPSG/0/4490" in staff.collection("assets")["crs"]
    assert "type" in staff.collection_queryables("assets")["properties"]

    codes = [f["properties"]["code"] for f in every_item(staff, "assets", limit=3)]
    assert len(codes) == len(set(codes)) == Asset.objects.count()

    public = features(url)
    assert "verifications" not in {c["id"] for c in public.collections()["collections"]}
    got = {f["properties"]["code"] for f in every_item(public, "assets", limit=2)}
    assert got == set(Asset.objects.filter(is_published=True).values_list("code", flat=True))

    clerk = features(url, Token.objects.create(user=owslib_world.clerk).key)
    got = {f["properties"]["code"] for f in every_item(clerk, "assets", limit=4)}
    assert got == set(Asset.objects.filter(township=owslib_world.areas.west).values_list("code", flat=True))


def test_owslib_gets_numbers_as_numbers_and_one_item_by_its_id(owslib_world, live_server):
    client = features(live_server.url + "/ogc/", Token.objects.create(user=owslib_world.inspector).key)
    page = client.collection_items("assets", limit=10)
    assert page["numberReturned"] == len(page["features"]) and page["numberMatched"] == Asset.objects.count()
    feature = page["features"][0]
    assert isinstance(feature["properties"]["total_investment"], int | float)
    one = client.collection_item("assets", str(feature["id"]))
    assert one["properties"]["code"] == feature["properties"]["code"]
