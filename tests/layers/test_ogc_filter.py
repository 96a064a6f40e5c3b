"""OGC API – Features Part 3 (layers/ogc_filter.py): `filter=` in CQL2 text and JSON on the queryables, every
operator with its types, each refusal with its message, rights per role (a filter only narrows, and tells the public
nothing its pages do not show) and keyset paging with a filter. GDAL's OAPIF driver and OWSLib send filters to the
live server in tests/layers/test_ogc_filter_clients.py."""

import datetime
import json
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext as _

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType, Role
from layers import ogc_filter
from tests.factories import make_asset, make_user, record
from tests.layers.conftest import ROLE_VISIBLE, as_user

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
PEN = "111.6 33.9, 111.7 33.9, 111.7 34.0, 111.6 34.0, 111.6 33.9"  # a box round the livestock pen


def get(client, query: str, collection: str = "assets"):
    return client.get(f"/ogc/collections/{collection}/items?{query}")


def found(client, cql: str, *, collection: str = "assets", extra: str = "") -> set[str]:
    response = get(client, f"filter={quote(cql)}{extra}", collection)
    assert response.status_code == 200, response.content[:400]
    data = response.json()
    assert data["numberMatched"] == data["numberReturned"] == len(data["features"])
    return {f["id"] for f in data["features"]}


def refused(client, cql: str, *, extra: str = "", collection: str = "assets") -> str:
    response = get(client, f"filter={quote(cql)}{extra}", collection)
    assert response.status_code == 400, response.content[:400]
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    return body["description"]


def names(world, *keys) -> set[str]:
    return {getattr(world, key).code for key in keys}


ALL = ("road", "water", "greenhouse", "livestock")


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ("type = 'road'", {"road"}),
        ("type <> 'road'", {"water", "greenhouse", "livestock"}),
        ("year_built < 2020", {"water"}),
        ("year_built <= 2020", {"water", "road"}),
        ("year_built > 2021", {"greenhouse"}),
        ("year_built >= 2021", {"greenhouse", "livestock"}),
        ("2020 = year_built", {"road"}),  # the value first
        ("2021 < year_built", {"greenhouse"}),
        ("year_built = 2020.0", {"road"}),
        ("total_investment >= 0", set(ALL)),
        ("total_investment < 0", set()),
        ("type IN ('road', 'greenhouse')", {"road", "greenhouse"}),
        ("type NOT IN ('road', 'greenhouse')", {"water", "livestock"}),
        ("year_built BETWEEN 2019 AND 2021", {"road", "livestock"}),
        ("year_built NOT BETWEEN 2019 AND 2021", {"water", "greenhouse"}),
        ("village_code LIKE '41032410100_'", {"road", "water"}),
        ("village_code LIKE '410324102%'", {"greenhouse", "livestock"}),
        ("village_code NOT LIKE '410324102%'", {"road", "water"}),
        ("township_code = '410324102000'", {"greenhouse", "livestock"}),
        ("category = 'operating'", {"greenhouse"}),
        ("status = 'in_use'", set(ALL)),
        ("township_code IS NULL", set()),
        ("township_code IS NOT NULL", set(ALL)),
        ("type = 'road' OR year_built = 2022", {"road", "greenhouse"}),
        ("type = 'road' AND year_built = 2022", set()),
        ("NOT (type = 'road' OR type = 'greenhouse')", {"water", "livestock"}),
        ("(type = 'road') AND (year_built >= 2019)", {"road"}),  # as GDAL writes it
        ("updated_at > TIMESTAMP('2000-01-01T00:00:00Z')", set(ALL)),
        ("updated_at < DATE('2000-01-01')", set()),
        ("updated_at > '2000-01-01T00:00:00Z'", set(ALL)),  # an RFC 3339 string, as GDAL 3.6 writes it
        ("S_INTERSECTS(geometry, BBOX(111.6, 33.9, 111.7, 34.0))", {"livestock"}),
        (f"S_INTERSECTS(geometry, POLYGON(({PEN})))", {"livestock"}),
        ("S_INTERSECTS(geometry, POINT(111.661 33.951))", {"livestock"}),
        ("S_INTERSECTS(geometry, POINT(111.5 35.5))", set()),
        ("S_INTERSECTS(geometry, BBOX(111.6, 33.9, 111.7, 34.0)) AND year_built > 2021", set()),
    ],
)
def test_every_operator_in_cql2_text(world, cql, expected):
    assert found(as_user(world.inspector), cql) == names(world, *expected)


def test_dates_are_the_county_day(world):
    today = timezone.localdate()
    client = as_user(world.inspector)
    assert found(client, f"updated_at = DATE('{today}')") == names(world, *ALL)
    assert found(client, f"updated_at = '{today}'") == names(world, *ALL)
    assert found(client, f"updated_at < DATE('{today}')") == set()
    assert found(client, f"updated_at BETWEEN DATE('{today}') AND DATE('{today + datetime.timedelta(1)}')") == \
        names(world, *ALL)


def test_a_missing_value_matches_neither_a_comparison_nor_its_negation(world):
    """CQL2's (and SQL's) three-valued logic: NOT does not turn an unknown into a match."""
    undated = make_asset(actor=world.admin, name="西北村便桥", area=world.areas.west_north)  # i18n: data
    assert undated.year_built is None
    client = as_user(world.inspector)
    assert found(client, "year_built IS NULL") == {undated.code}
    assert undated.code not in found(client, "year_built <> 2020")
    assert undated.code not in found(client, "NOT (year_built = 2020)")
    assert undated.code not in found(client, "NOT (year_built BETWEEN 1900 AND 2100)")
    assert found(client, "year_built <> 2020 OR year_built IS NULL") == names(
        world, "water", "greenhouse", "livestock") | {undated.code}


def test_names_are_text_and_matched_as_shown(world):
    client = as_user(world.inspector)
    assert found(client, "name = '西南村道路'") == names(world, "road")  # i18n: data
    assert found(client, "name LIKE '%村道%'") == names(world, "road")  # i18n: data
    assert found(client, "name LIKE '东_村%'") == names(world, "greenhouse", "livestock")  # i18n: data
    assert found(client, f"code = '{world.water.code}'") == names(world, "water")
    # an escaped wildcard is the character itself
    assert found(client, "name LIKE '%\\%'") == set()


def test_cql2_json(world):
    client = as_user(world.inspector)

    def by_json(expression: dict) -> set[str]:
        return found(client, json.dumps(expression), extra="&filter-lang=cql2-json")

    assert by_json({"op": "=", "args": [{"property": "type"}, "road"]}) == names(world, "road")
    assert by_json({"op": "and", "args": [{"op": ">=", "args": [{"property": "year_built"}, 2021]},
                                          {"op": "<>", "args": [{"property": "type"}, "greenhouse"]}]}) == \
        names(world, "livestock")
    assert by_json({"op": "between", "args": [{"property": "year_built"}, 2019, 2021]}) == \
        names(world, "road", "livestock")
    assert by_json({"op": "in", "args": [{"property": "type"}, ["road", "water_supply"]]}) == \
        names(world, "road", "water")
    assert by_json({"op": "not", "args": [{"op": "isNull", "args": [{"property": "year_built"}]}]}) == \
        names(world, *ALL)
    assert by_json({"op": "like", "args": [{"property": "village_code"}, "410324102%"]}) == \
        names(world, "greenhouse", "livestock")
    assert by_json({"op": ">", "args": [{"property": "updated_at"}, {"timestamp": "2000-01-01T00:00:00Z"}]}) == \
        names(world, *ALL)
    assert by_json({"op": "s_intersects", "args": [{"property": "geometry"},
                                                   {"bbox": [111.6, 33.9, 111.7, 34.0]}]}) == names(world, "livestock")
    assert by_json({"op": "s_intersects", "args": [{"property": "geometry"},
                                                   {"type": "Point", "coordinates": [111.661, 33.951]}]}) == \
        names(world, "livestock")
    assert refused(client, "{bad", extra="&filter-lang=cql2-json").startswith("filter:")
    assert refused(client, "[1]", extra="&filter-lang=cql2-json") == "filter: " + _(
        "The filter must be a condition (a comparison, LIKE, IN, BETWEEN, IS NULL, S_INTERSECTS, or these joined "
        "by AND, OR and NOT).")


def test_filter_crs(world):
    client = as_user(world.inspector)
    livestock = names(world, "livestock")
    for crs in ("EPSG:4490", f"{EPSG}4490", "EPSG:4326"):  # latitude first, as EPSG defines these axes
        assert found(client, "S_INTERSECTS(geometry, BBOX(33.9, 111.6, 34.0, 111.7))",
                     extra=f"&filter-crs={quote(crs)}") == livestock
        assert found(client, "S_INTERSECTS(geometry, POINT(33.951 111.661))",
                     extra=f"&filter-crs={quote(crs)}") == livestock
    crs84 = "&filter-crs=" + quote("http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    assert found(client, "S_INTERSECTS(geometry, POINT(111.661 33.951))", extra=crs84) == livestock
    # Web Mercator metres (the bbox test's box) and a Gauss–Krüger zone (northing, easting)
    assert found(client, "S_INTERSECTS(geometry, BBOX(12429000, 4020000, 12452000, 4028000))",
                 extra="&filter-crs=EPSG:3857") == livestock
    # the same box given lon/lat under a lat/lon CRS has a latitude of 111.6: refused
    message = refused(client, "S_INTERSECTS(geometry, BBOX(111.6, 33.9, 111.7, 34.0))", extra="&filter-crs=EPSG:4490")
    assert message == "filter: " + _("The geometry is not valid, too large, or outside the coordinates of filter-crs.")
    assert get(client, "filter=" + quote("S_INTERSECTS(geometry, POINT(1 2))") + "&filter-crs=EPSG:9999"
               ).json()["description"].startswith("filter-crs:")


@pytest.mark.parametrize(
    ("cql", "message", "values"),
    [
        ("custodian_person = 'x'", "%(name)s is not a queryable property of this collection: filter on those its "
                                   "/queryables lists.", {"name": "custodian_person"}),
        ("note LIKE '%x%'", "%(name)s is not a queryable property of this collection: filter on those its "
                            "/queryables lists.", {"name": "note"}),
        ("year_built = '2020'", "%(name)s is a number: compare it with a number.", {"name": "year_built"}),
        ("total_investment > 'a lot'", "%(name)s is a number: compare it with a number.",
         {"name": "total_investment"}),
        ("type = 3", "%(name)s is text: compare it with a quoted string.", {"name": "type"}),
        ("type IN ('road', 3)", "%(name)s is text: compare it with a quoted string.", {"name": "type"}),
        ("year_built LIKE '20%'", "LIKE compares a text property with a quoted pattern: %(name)s.",
         {"name": "year_built"}),
        ("updated_at > 'yesterday'", "%(name)s is a date and time: compare it with "
                                     "TIMESTAMP('2025-01-31T08:00:00Z'), DATE('2025-01-31') or such an RFC 3339 "
                                     "string.", {"name": "updated_at"}),
        ("updated_at > TIMESTAMP('2024-13-01T00:00:00Z')", "%(name)s is a date and time: compare it with "
                                                           "TIMESTAMP('2025-01-31T08:00:00Z'), DATE('2025-01-31') "
                                                           "or such an RFC 3339 string.", {"name": "updated_at"}),
        ("type = name", "A comparison needs a property on one side and a value on the other.", {}),
        ("geometry = 'x'", "%(name)s is compared with S_INTERSECTS only.", {"name": "geometry"}),
        ("year_built + 1 > 2020", "A comparison needs a property on one side and a value on the other.", {}),
        ("S_WITHIN(geometry, POINT(1 2))", "This filter uses %(what)s, which this service does not offer: "
                                           "comparisons, LIKE, IN, BETWEEN, IS NULL, S_INTERSECTS, AND, OR and NOT.",
         {"what": "S_WITHIN"}),
        ("CASEI(type) = 'road'", "A comparison needs a property on one side and a value on the other.", {}),
        ("S_INTERSECTS(geometry, type)", "S_INTERSECTS compares the geometry property with a geometry: POINT, "
                                         "LINESTRING, POLYGON, their MULTI forms, or BBOX, in filter-crs.", {}),
        ("S_INTERSECTS(geometry, POLYGON((111.6 33.9, 111.7 34.0, 111.7 33.9, 111.6 34.0, 111.6 33.9)))",
         "The geometry is not valid, too large, or outside the coordinates of filter-crs.", {}),
        ("S_INTERSECTS(geometry, POINT(200 33))",
         "The geometry is not valid, too large, or outside the coordinates of filter-crs.", {}),
        ("NOT " * 70 + "type = 'road'", "The filter is nested too deeply.", {}),
    ],
)
def test_refusals_say_why(world, cql, message, values):
    description = refused(Client(), cql)
    assert description == "filter: " + _(message) % values
    assert _(message) != message  # said in Chinese


def test_unreadable_filters(world):
    client = Client()
    assert refused(client, "type = ") == "filter: " + _(
        "The filter could not be read as %(lang)s (near character %(column)s).") % {"lang": "cql2-text", "column": 8}
    too_long = "type = '" + "x" * 9000 + "'"
    assert refused(client, too_long) == "filter: " + _("The filter is too long (at most %(max)s characters).") % {
        "max": 8000}
    # deep nesting is refused, not a crash of the parser (it recurses): the server still answers after it
    assert get(client, "filter=" + quote("year_built = " + "-" * 7000 + "1")).status_code in (200, 400)
    assert get(client, "filter=" + quote("(" * 3000 + "type = 'road'" + ")" * 3000)).status_code in (200, 400)
    assert found(client, "type = 'road'") == names(world, "road")
    response = get(client, "filter=" + quote("type = 'road'") + "&filter-lang=xml")
    assert response.status_code == 400
    assert response.json()["description"] == "filter-lang: " + _("filter-lang is cql2-text or cql2-json.")
    assert get(client, "filter-lang=cql2-text").json()["description"] == "filter: " + _(
        "filter-lang and filter-crs go with a filter.")
    # GDAL ≤ 3.6 names CQL2 text by its draft's name
    assert found(client, "type = 'road'", extra="&filter-lang=cql-text") == names(world, "road")


@pytest.mark.parametrize(("who", "expected"), ROLE_VISIBLE)
def test_a_filter_narrows_what_each_role_sees(world, who, expected):
    user = None if who == "anonymous" else getattr(world, who)
    assert found(as_user(user), "year_built >= 2018") == names(world, *expected)
    assert found(as_user(user), "year_built >= 2018 OR year_built IS NULL OR year_built < 2018") == names(
        world, *expected)
    assert found(as_user(user), "NOT (type = 'nothing')") == names(world, *expected)


def test_village_clerk_filters_within_its_village(world):
    clerk = make_user("ws_village", Role.VILLAGE, area=world.areas.west_south)
    assert found(as_user(clerk), "year_built > 0") == names(world, "road")
    # another village's asset, named outright: nothing, not even a count
    response = get(as_user(clerk), "filter=" + quote(f"code = '{world.water.code}'"))
    assert response.json()["numberMatched"] == 0 and response.json()["features"] == []


def test_the_public_learns_nothing_hidden_by_filtering(world):
    house = make_asset(actor=world.admin, name="张三丰养殖圈舍", asset_type=AssetType.HOUSEHOLD_FIXED,  # i18n: data
                       area=world.areas.east_north, is_published=True, custodian_person="张三丰")  # i18n: data
    public, staff = Client(), as_user(world.inspector)
    # the name is matched against what each is shown: the person's name only for staff
    assert found(public, "name LIKE '%张三丰%'") == set()  # i18n: data
    assert found(staff, "name LIKE '%张三丰%'") == {house.code}  # i18n: data
    shown = public.get(f"/ogc/collections/assets/items/{house.code}").json()["properties"]["name"]
    assert found(public, f"name = '{shown}'") == {house.code}
    # personal data is not a queryable at all
    assert refused(public, "custodian_person = '张三丰'").startswith("filter: ")  # i18n: data
    assert refused(staff, "custodian_person LIKE '张%'").startswith("filter: ")  # i18n: data
    # unpublished assets: a filter that names one finds nothing, and the count says nothing either
    for cql in (f"code = '{world.water.code}'", "village_code = '410324101002'", "year_built = 2018",
                "type = 'water_supply'"):
        data = get(public, "filter=" + quote(cql)).json()
        assert data["numberMatched"] == 0 and data["features"] == []
    # the staff's verifications: not the public's to filter either
    assert get(public, "filter=" + quote("finding = 'damaged'"), "verifications").status_code == 404


def test_other_collections_have_their_own_queryables(world):
    road = record(world.clerk, world.road)
    water = record(world.clerk, world.water, finding="damaged")
    staff = as_user(world.inspector)
    assert found(staff, "finding = 'damaged'", collection="verifications") == {str(water.pk)}
    assert found(staff, "observed_at > TIMESTAMP('2000-01-01T00:00:00Z')", collection="verifications") == {
        str(road.pk), str(water.pk)}
    assert found(staff, "S_INTERSECTS(geometry, BBOX(111.5, 34.9, 111.6, 35.0))", collection="verifications") == set()
    assert refused(staff, "type = 'road'", collection="verifications") == "filter: " + _(
        "%(name)s is not a queryable property of this collection: filter on those its /queryables lists.") % {
        "name": "type"}
    villages = found(Client(), "name LIKE '西%'", collection="villages")  # i18n: data
    assert villages == {world.areas.west_south.code, world.areas.west_north.code}
    assert found(Client(), "S_INTERSECTS(geometry, POINT(111.55 33.85))", collection="villages") == {
        world.areas.west_south.code}


def test_queryables_are_what_can_be_filtered(world):
    client = as_user(world.inspector)
    for collection, kind in (("assets", "assets"), ("household", "assets"), ("villages", "areas"),
                             ("verifications", "verifications")):
        listed = client.get(f"/ogc/collections/{collection}/queryables").json()["properties"]
        assert set(listed) == set(ogc_filter.QUERYABLES[kind])
        for name, queryable in ogc_filter.QUERYABLES[kind].items():
            expected = {"string": "string", "integer": "integer", "number": "number", "date-time": "string"}
            if queryable.kind in expected:
                assert listed[name]["type"] == expected[queryable.kind]
            if queryable.kind == "date-time":
                assert listed[name]["format"] == "date-time"


def test_conformance_and_api_declare_filtering(world):
    conformance = Client().get("/ogc/conformance").json()["conformsTo"]
    for part in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                 "cql2/1.0/conf/basic-cql2", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json",
                 "cql2/1.0/conf/advanced-comparison-operators", "cql2/1.0/conf/basic-spatial-functions"):
        assert f"http://www.opengis.net/spec/{part}" in conformance
    # not offered, so not declared: functions, arithmetic, property-to-property comparisons, other spatial tests
    for part in ("case-insensitive-comparison", "accent-insensitive-comparison", "arithmetic", "property-property",
                 "spatial-functions", "temporal-functions", "array-functions", "functions"):
        assert f"http://www.opengis.net/spec/cql2/1.0/conf/{part}" not in conformance
    parameters = Client().get("/ogc/api").json()["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    by_name = {p["name"]: p for p in parameters}
    assert {"filter", "filter-lang", "filter-crs"} <= set(by_name)
    assert {"cql2-text", "cql2-json"} <= set(by_name["filter-lang"]["schema"]["enum"])


def test_paging_with_a_filter_reaches_the_end_exactly(world):
    for i in range(11):
        make_asset(actor=world.admin, name=f"西北村道路{i}", area=world.areas.west_north,  # i18n: data
                   year_built=2010 + i)
    client = as_user(world.inspector)
    cql = "village_code = '410324101002' AND year_built >= 2012"
    expected = set(Asset.objects.filter(village__code="410324101002", year_built__gte=2012)
                   .values_list("code", flat=True))
    assert len(expected) == 10  # nine new roads and the water station (2018)
    first = client.get("/ogc/collections/assets/items?limit=3&filter=" + quote(cql)).json()
    assert first["numberMatched"] == 10 and first["numberReturned"] == 3
    seen, url, pages = [], "/ogc/collections/assets/items?limit=3&filter=" + quote(cql), 0
    while url:
        data = client.get(url).json()
        assert data.get("numberMatched", 10) == 10  # exact where given (the first page; follow-ups may omit it)
        seen += [f["id"] for f in data["features"]]
        link = next((link["href"] for link in data["links"] if link["rel"] == "next"), None)
        if link:
            assert dict(parse_qsl(urlsplit(link).query))["filter"] == cql  # the next link carries the filter
        url, pages = link, pages + 1
        assert pages < 10
    assert pages == 4 and len(seen) == len(set(seen)) == 10 and set(seen) == expected
    # and back: the prev links keep it too
    second = client.get(next(link["href"] for link in first["links"] if link["rel"] == "next")).json()
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    assert dict(parse_qsl(urlsplit(prev).query))["filter"] == cql
    assert [f["id"] for f in client.get(prev).json()["features"]] == [f["id"] for f in first["features"]]
