import pytest
from django.core.management import call_command
from django.test import Client

from tests.layers.conftest import ROLE_VISIBLE, as_user


def feature_codes(response) -> set[str]:
    assert response.status_code == 200, response.content[:300]
    data = response.json()
    assert data["type"] == "FeatureCollection"
    return {f["id"] for f in data["features"]}


@pytest.mark.parametrize(("who", "expected"), ROLE_VISIBLE)
def test_asset_list_obeys_role(world, who, expected):
    user = None if who == "anonymous" else getattr(world, who)
    codes = feature_codes(as_user(user).get("/api/v1/assets/"))
    assert codes == {getattr(world, name).code for name in expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=road", {"road"}),
        ("category=operating", {"greenhouse"}),
        ("township=410324101000", {"road", "water"}),
        ("year_min=2021", {"greenhouse", "livestock"}),
        ("verified=yes", {"road"}),
        ("bbox=111.6,33.9,111.7,34.0", {"livestock"}),
        ("bbox=111.5,33.8,111.6,33.9&type=road", {"road"}),
    ],
)
def test_asset_list_filters(world, query, expected):
    codes = feature_codes(as_user(world.inspector).get(f"/api/v1/assets/?{query}"))
    assert codes == {getattr(world, name).code for name in expected}


def test_asset_list_feature_shape_and_pagination(world):
    data = as_user(world.inspector).get("/api/v1/assets/?page_size=2").json()
    assert data["count"] == 4 and len(data["features"]) == 2 and data["next"]
    feature = as_user(world.inspector).get("/api/v1/assets/?type=road").json()["features"][0]
    assert feature["geometry"]["type"] == "MultiLineString"
    props = feature["properties"]
    assert props["name"] == "西南村道路" and props["village_code"] == "410324101001"
    assert props["township_name"] == "西镇" and props["type"] == "road"
    assert "custodian_phone" not in props


def test_bad_filters_are_400(world):
    assert Client().get("/api/v1/assets/?bbox=1,2,3").status_code == 400
    assert Client().get("/api/v1/assets/?verified=maybe").status_code == 400
    assert Client().get("/api/v1/assets/?township=123").status_code == 400


def test_asset_detail_has_ownership_custody_funding_history(world):
    data = as_user(world.inspector).get(f"/api/v1/assets/{world.road.code}/").json()
    props = data["properties"]
    assert props["ownership"]["owner_kind"] == "village_collective"
    assert props["funding"][0]["source"] == "central" and props["funding"][0]["amount"] == "10.0000"
    assert "person" in props["custody"]
    assert props["last_verified_at"].startswith("2025-05-01")
    assert props["history"]["count"] == 2
    assert props["page_url"] == f"/assets/{world.road.code}/"



def test_asset_history_counts_every_entry_and_lists_the_latest_in_one_statement(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from geo_assets.services import asset_update
    from layers.serializers import HISTORY_LIMIT

    for n in range(HISTORY_LIMIT + 3):
        asset_update(actor=world.admin, asset=world.road, changes={"operator": f"运营方{n}"}, reason=f"第{n}次")
    client = as_user(world.inspector)
    client.get(f"/api/v1/assets/{world.road.code}/")  # the session and the user's scope are read once
    with CaptureQueriesContext(connection) as queries:
        history = client.get(f"/api/v1/assets/{world.road.code}/").json()["properties"]["history"]
    assert history["count"] == 2 + HISTORY_LIMIT + 3
    assert [r["reason"] for r in history["recent"][:2]] == [f"第{HISTORY_LIMIT + 2}次", f"第{HISTORY_LIMIT + 1}次"]
    assert len(history["recent"]) == HISTORY_LIMIT and {r["user"] for r in history["recent"]} == {world.admin.username}
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("historicalasset" in s for s in sql) == 1, sql  # the count and the entries together
    assert not any(s.startswith(("BEGIN", "SAVEPOINT")) for s in sql)  # a read: no request transaction
    assert not any("historicalasset" in s and '"point"' in s for s in sql)  # no geometry read for the entries

@pytest.mark.parametrize(
    ("who", "asset", "status"),
    [
        ("anonymous", "water", 404), ("anonymous", "road", 200),
        ("clerk", "greenhouse", 200), ("clerk", "water", 200),  # another village's published asset: public version
        ("department", "water", 404), ("department", "road", 200),
        ("inspector", "livestock", 200),
    ],
)
def test_asset_detail_hidden_is_404(world, who, asset, status):
    user = None if who == "anonymous" else getattr(world, who)
    assert as_user(user).get(f"/api/v1/assets/{getattr(world, asset).code}/").status_code == status


def test_areas_filter_by_level_and_parent(world):
    assert feature_codes(Client().get("/api/v1/areas/?level=township")) == {"410324101000", "410324102000"}
    assert feature_codes(Client().get("/api/v1/areas/?parent=410324102000")) == {"410324102001", "410324102002"}


def test_area_summary_counts_visible_assets_only(world):
    public = Client().get("/api/v1/areas/410324101000/summary/").json()
    assert public["total"]["count"] == 1
    inspector = as_user(world.inspector).get("/api/v1/areas/410324101000/summary/").json()
    assert inspector["total"]["count"] == 2
    by_cat = {row["category"]: row for row in inspector["by_category"]}
    assert by_cat["public_welfare"]["count"] == 2 and float(by_cat["public_welfare"]["investment"]) == 20.0
    village = Client().get("/api/v1/areas/410324101001/summary/").json()
    assert village["report_url"] == "/villages/410324101001/"


def test_an_areas_summary_and_its_village_page_read_no_boundary(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from geo_assets.models import AdminArea

    for code in ("410324101000", "410324101001"):
        with CaptureQueriesContext(connection) as statements:
            summary = Client().get(f"/api/v1/areas/{code}/summary/").json()
        assert summary["bbox"] == pytest.approx(list(AdminArea.objects.get(code=code).geom.extent), abs=1e-9)
        areas = [q["sql"] for q in statements.captured_queries if 'FROM "geo_assets_adminarea"' in q["sql"]]
        assert areas and not any('"geo_assets_adminarea"."geom",' in sql for sql in areas), areas
    with CaptureQueriesContext(connection) as statements:
        assert Client().get("/villages/410324101001/").status_code == 200
    areas = [q["sql"] for q in statements.captured_queries if 'FROM "geo_assets_adminarea"' in q["sql"]]
    assert areas and not any('"geo_assets_adminarea"."geom",' in sql for sql in areas), areas


def test_search_respects_visibility(world):
    anon = Client().get("/api/v1/search/?q=饮水").json()["results"]
    assert not [r for r in anon if r["kind"] == "asset"]
    inspector = as_user(world.inspector).get("/api/v1/search/?q=饮水").json()["results"]
    assert [r["code"] for r in inspector if r["kind"] == "asset"] == [world.water.code]
    by_village = Client().get("/api/v1/search/?q=东南村").json()["results"]
    assert {r["kind"] for r in by_village} == {"asset", "village"}



def test_search_gives_an_areas_box_without_reading_its_boundary(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from geo_assets.models import AdminArea

    with CaptureQueriesContext(connection) as statements:
        results = Client().get("/api/v1/search/?q=东南村").json()["results"]
    village = AdminArea.objects.get(name="东南村")
    found = next(r for r in results if r["kind"] == "village")
    assert found["code"] == village.code
    assert found["bbox"] == pytest.approx(list(village.geom.extent), abs=1e-9)
    areas = [q["sql"] for q in statements.captured_queries if 'FROM "geo_assets_adminarea"' in q["sql"]]
    assert areas and not any('"geo_assets_adminarea"."geom",' in sql or "geom_web" in sql for sql in areas), areas

def test_token_auth_and_issue_token_command(world, capsys):
    call_command("issue_token", "inspector")
    token = capsys.readouterr().out.strip()
    assert len(token) == 40
    call_command("issue_token", "inspector")
    assert capsys.readouterr().out.strip() == token
    response = Client().get("/api/v1/assets/", HTTP_AUTHORIZATION=f"Token {token}")
    assert len(feature_codes(response)) == 4
    assert Client().get("/api/v1/assets/", HTTP_AUTHORIZATION="Token wrong").status_code in (401, 403)


def test_issue_token_unknown_user_fails(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("issue_token", "nobody")


def test_openapi_schema(db):
    response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/assets/" in paths and "/api/v1/assets/{code}/" in paths and "/api/v1/areas/" in paths


def test_registry(db):
    data = Client().get("/api/v1/layers/").json()
    assert {layer["name"] for layer in data["layers"]} == {"townships", "villages", "assets"}


def test_public_does_not_see_who_changed_an_asset(world):
    public = as_user(None).get(f"/api/v1/assets/{world.road.code}/").json()
    recent = public["properties"]["history"]["recent"] if "properties" in public else public["history"]["recent"]
    assert recent and all(r["user"] is None and r["reason"] == "" for r in recent)
    staff = as_user(world.inspector).get(f"/api/v1/assets/{world.road.code}/").json()
    recent = staff["properties"]["history"]["recent"] if "properties" in staff else staff["history"]["recent"]
    assert any(r["user"] for r in recent)


def test_anonymous_api_is_throttled(world, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import AnonRateThrottle

    cache.clear()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/minute"}
    original = AnonRateThrottle.THROTTLE_RATES
    AnonRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [as_user(None).get("/api/v1/assets/").status_code for _ in range(4)]
    finally:
        AnonRateThrottle.THROTTLE_RATES = original
    assert codes == [200, 200, 200, 429]


def test_the_layer_registry_speaks_the_readers_language():
    """The boundaries' legend is translated when the registry is read, not once when the module is imported."""
    from django.utils import translation

    from layers.registry import registry_json

    def legends(language):
        with translation.override(language):
            return {layer["name"]: [item["label"] for item in layer["legend"]] for layer in registry_json()["layers"]}

    assert legends("en")["townships"] == ["Township boundary"] and legends("en")["villages"] == ["Village boundary"]
    assert legends("zh-hans")["townships"] == ["乡镇界线"] and legends("zh-hans")["villages"] == ["村界线"]


def _vertices(geometry) -> int:
    return sum(len(ring) for polygon in geometry["coordinates"] for ring in polygon)


def test_area_list_at_a_zoom_carries_the_maps_outlines_and_the_full_boundary_where_there_is_none(world):
    from django.contrib.gis.geos import MultiPolygon
    from django.db import connection

    from geo_assets.models import AdminArea
    from layers.models import AreaOutline

    village = AdminArea.objects.get(code="410324102001")
    circle = village.geom.centroid.buffer(0.004, quadsegs=500)  # 2,001 vertices
    AdminArea.objects.filter(pk=village.pk).update(geom=MultiPolygon(circle, srid=village.geom.srid))
    with connection.cursor() as cursor:  # the outlines are rebuilt at commit (a deferred trigger): run it now
        cursor.execute("SET CONSTRAINTS layers_outlines_flush IMMEDIATE")
        cursor.execute("SET CONSTRAINTS layers_outlines_flush DEFERRED")
    detail = Client().get(f"/api/v1/areas/{village.code}/").json()
    assert _vertices(detail["geometry"]) == 2001

    def listed(zoom):
        response = Client().get(f"/api/v1/areas/?parent=410324102000&zoom={zoom}")
        assert response.status_code == 200, response.content[:300]
        return {f["id"]: f for f in response.json()["features"]}

    features = listed(8)
    assert set(features) == {"410324102001", "410324102002"}
    assert features[village.code]["properties"] == detail["properties"] == {
        "name": village.name, "level": "village", "level_label": "村", "parent_code": "410324102000"}
    outline = AreaOutline.objects.get(area=village, zoom=8).geom_web.transform(village.geom.srid, clone=True)
    got = features[village.code]["geometry"]["coordinates"][0][0]
    want = outline.coords[0][0]
    assert 4 <= len(got) == len(want) < 100
    assert all(abs(a - b) < 1e-6 for p, q in zip(got, want, strict=True) for a, b in zip(p, q, strict=True))
    AreaOutline.objects.filter(area=village).delete()
    assert _vertices(listed(8)[village.code]["geometry"]) == 2001


def test_area_list_pages_of_full_boundaries_are_small_and_of_outlines_large(world, monkeypatch):
    from layers import views

    monkeypatch.setattr(views, "AREA_FULL_PAGE_MAX", 2)
    full = Client().get("/api/v1/areas/?page_size=1000").json()
    assert len(full["features"]) == 2 and full["count"] > 2 and "page=2" in full["next"]
    outlines = Client().get("/api/v1/areas/?page_size=1000&zoom=11").json()
    assert len(outlines["features"]) == outlines["count"] == full["count"] and outlines["next"] is None


@pytest.mark.parametrize("zoom", ["5", "12", "x", "-1", "8.5", ""])
def test_area_list_refuses_a_zoom_without_outlines_in_chinese(world, zoom):
    response = Client().get(f"/api/v1/areas/?zoom={zoom}")
    assert response.status_code == 400
    assert response.json() == {"zoom": "应为 6 到 11 之间的整数。"}


@pytest.mark.parametrize("path", ["/api/v1/assets/", "/api/v1/search/?q=x", "/api/v1/verifications/",
                                  "/ogc/collections", "/api/v1/verifications/nearby/?lon=111.6&lat=33.9"])
def test_a_json_body_nested_past_the_recursion_limit_is_a_400_not_a_500(world, path):
    """DRF's session authentication parses the body before any method or permission check: a body of 3,000
    nested arrays was an uncaught RecursionError (500) on every route, for any logged-in caller."""
    body = "[" * 100_000 + "]" * 100_000
    client = Client(enforce_csrf_checks=True)  # as a browser's session is checked: the check reads the body
    client.force_login(world.inspector)
    client.cookies["csrftoken"] = "a" * 32  # a browser that has opened a page
    response = client.post(path, body, content_type="application/json")
    assert response.status_code in (400, 403, 405), response.status_code
    assert response.status_code != 500


@pytest.mark.parametrize("path", ["/api/v1/assets/", "/api/v1/search/?q=路", "/api/v1/areas/?level=village"])
def test_api_answers_are_private_to_who_asked(world, path):
    """A staff answer carries custodians and phones: no shared cache may keep it or hand it to another caller
    (review of session 23: no Cache-Control and no Vary on Authorization)."""
    from django.utils.cache import cc_delim_re

    code = world.road.code
    for response in (as_user(world.inspector).get(path), as_user(None).get(path),
                     as_user(world.inspector).get(f"/api/v1/assets/{code}/")):
        assert response.status_code == 200
        assert "private" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
        assert {"Cookie", "Authorization"} <= {v.strip() for v in cc_delim_re.split(response["Vary"])}
    tile = as_user(world.inspector).get("/tiles/assets/14/13313/6553.mvt")
    assert tile["Cache-Control"] == "private, no-cache"  # the tiles keep their own
