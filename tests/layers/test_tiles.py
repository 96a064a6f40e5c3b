import pytest
from django.test import Client

from layers.registry import CLUSTER_CELLS, DETAIL_MIN_ZOOM, MAX_TILE_BYTES
from layers.tiles import TileId, tile_assets_clusters
from tests.layers.conftest import ROLE_VISIBLE, as_user, codes, county_features, county_tiles, decode

Z = DETAIL_MIN_ZOOM + 2




def test_asset_tile_carries_the_map_attributes_and_nothing_more(world):
    feats = county_features(as_user(world.inspector), "assets", Z, data_layer="assets")
    by_code = {f["code"]: f for f in feats}
    assert set(by_code) == {world.road.code, world.water.code, world.greenhouse.code, world.livestock.code}
    road = by_code[world.road.code]
    assert road == {"code": world.road.code, "name": "西南村道路", "category": "public_welfare", "type": "road",
                    "status": "in_use"}


def test_tile_content_type_and_geometry_kinds(world):
    client = as_user(world.inspector)
    kinds = set()
    for z, x, y in county_tiles(Z):
        response = client.get(f"/tiles/assets/{z}/{x}/{y}.mvt")
        assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
        for f in decode(response.content).get("assets", {}).get("features", []):
            kinds.add(f["geometry"]["type"])
    assert {"Point", "LineString", "Polygon"} <= kinds


@pytest.mark.parametrize(("who", "expected"), ROLE_VISIBLE)
def test_tiles_obey_role_and_area(world, who, expected):
    user = None if who == "anonymous" else getattr(world, who)
    feats = county_features(as_user(user), "assets", Z, data_layer="assets")
    assert codes(feats) == {getattr(world, name).code for name in expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=road", {"road"}),
        ("type=road,greenhouse", {"road", "greenhouse"}),
        ("category=household", {"livestock"}),
        ("township=410324102000", {"greenhouse", "livestock"}),
        ("village=410324101002", {"water"}),
        ("status=in_use", {"road", "water", "greenhouse", "livestock"}),
        ("status=idle", set()),
        ("year_min=2020&year_max=2021", {"road", "livestock"}),
        ("verified=yes", {"road"}),
        ("verified=no", {"water", "greenhouse", "livestock"}),
    ],
)
def test_tile_filters(world, query, expected):
    feats = county_features(as_user(world.inspector), "assets", Z, query, data_layer="assets")
    assert codes(feats) == {getattr(world, name).code for name in expected}


def test_bad_filter_is_a_400(world):
    z, x, y = county_tiles(Z)[0]
    assert Client().get(f"/tiles/assets/{z}/{x}/{y}.mvt?type=nonsense").status_code == 400
    assert Client().get(f"/tiles/assets/{z}/{x}/{y}.mvt?year_min=abc").status_code == 400


def test_unknown_layer_and_bad_tile_are_404(db):
    assert Client().get("/tiles/nope/1/0/0.mvt").status_code == 404
    assert Client().get("/tiles/assets/3/8/0.mvt").status_code == 404


def test_low_zoom_tiles_are_clusters_with_counts(world):
    feats = county_features(as_user(world.inspector), "assets", 8)
    assert "assets" not in feats
    assert sum(f["count"] for f in feats["clusters"]) == 4
    public = county_features(Client(), "assets", 8, data_layer="clusters")
    assert sum(f["count"] for f in public) == 2
    filtered = county_features(as_user(world.inspector), "assets", 8, "type=road", data_layer="clusters")
    assert sum(f["count"] for f in filtered) == 1


def test_boundary_tiles_have_names_and_labels(world):
    villages = county_features(Client(), "villages", 11)
    assert {f["code"] for f in villages["villages"]} == {
        "410324101001", "410324101002", "410324102001", "410324102002"}
    assert {f["name"] for f in villages["villages_labels"]} == {"西南村", "西北村", "东南村", "东北村"}
    assert {f["parent"] for f in villages["villages"]} == {"410324101000", "410324102000"}
    east = county_features(Client(), "villages", 11, "township=410324102000", data_layer="villages")
    assert {f["code"] for f in east} == {"410324102001", "410324102002"}
    townships = county_features(Client(), "townships", 9, data_layer="townships")
    assert {f["name"] for f in townships} == {"西镇", "东镇"}


def test_etag_304_and_change_invalidates(world):
    from geo_assets import services

    client = as_user(world.inspector)
    z, x, y = county_tiles(Z)[0]
    url = f"/tiles/assets/{z}/{x}/{y}.mvt"
    first = client.get(url)
    etag = first["ETag"]
    assert first["Cache-Control"] == "private, no-cache"
    assert "Cookie" in first["Vary"] and "Authorization" in first["Vary"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.asset_update(actor=world.admin, asset=world.water, changes={"name": "新名字"}, reason="rename")
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] != etag


def test_etag_differs_by_role_and_filters(world):
    z, x, y = county_tiles(Z)[0]
    url = f"/tiles/assets/{z}/{x}/{y}.mvt"
    anon = Client().get(url)
    assert anon["Cache-Control"].startswith("public")
    inspector = as_user(world.inspector).get(url)
    clerk = as_user(world.clerk).get(url)
    filtered = as_user(world.inspector).get(url + "?type=road")
    assert len({anon["ETag"], inspector["ETag"], clerk["ETag"], filtered["ETag"]}) == 4
    # A public client cannot replay an inspector's ETag into a 304.
    assert Client().get(url, HTTP_IF_NONE_MATCH=inspector["ETag"]).status_code == 200


def test_token_authentication_on_tiles(world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world.inspector)
    feats = county_features(Client(), "assets", Z, data_layer="assets", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert len(codes(feats)) == 4


def test_dense_low_zoom_tile_stays_small(world):
    """20 000 points in one county: an aggregated z8 tile stays far below 500 KB."""
    from django.db import connection

    from geo_assets.models import Asset

    with connection.cursor() as cursor:
        # Raw bulk insert of synthetic points (test-only; the register's services are bypassed for speed).
        cursor.execute(
            """
            INSERT INTO geo_assets_asset (code, name, category, asset_type, status, point, village_id, township_id,
                total_investment, owner_kind, registration_status, custodian_unit, custodian_person,
                custodian_phone, custody_method, operator, is_published, note, created_at, updated_at,
                project_name, implementing_unit, unit)
            SELECT 'BULK-' || g, '点' || g, 'public_welfare', 'road', 'in_use',
                   ST_SetSRID(ST_MakePoint(111.5 + random() * 0.2, 33.8 + random() * 0.2), 4490), %s, %s,
                   0, '', 'unregistered', '', '', '', '', '', true, '', now(), now(), '', '', ''
            FROM generate_series(1, 20000) g
            """,
            [world.areas.west_south.pk, world.areas.west.pk],
        )
    assert Asset.objects.count() > 20000
    qs = Asset.objects.all()
    for z, x, y in county_tiles(8):
        data = tile_assets_clusters(qs, TileId(z, x, y))
        assert len(data) < 50 * 1024
        assert len(data) < MAX_TILE_BYTES
        layer = decode(data)["clusters"]
        assert len(layer["features"]) <= CLUSTER_CELLS * CLUSTER_CELLS


def test_dense_high_zoom_tile_falls_back_to_clusters(world, monkeypatch):
    from layers import tiles

    monkeypatch.setattr(tiles, "MAX_DETAIL_FEATURES", 0)
    feats = county_features(as_user(world.inspector), "assets", Z)
    assert "clusters" in feats and sum(f["count"] for f in feats["clusters"]) == 4


def test_parameters_outside_the_etag_do_not_shape_the_tile(world):
    """A parameter the layer does not accept (e.g. bbox) must not change the content under the same ETag."""
    client = as_user(world.inspector)
    z, x, y = county_tiles(14)[0]
    for tz, tx, ty in county_tiles(14):
        plain = client.get(f"/tiles/assets/{tz}/{tx}/{ty}.mvt")
        if decode(plain.content):
            z, x, y = tz, tx, ty
            break
    plain = client.get(f"/tiles/assets/{z}/{x}/{y}.mvt")
    boxed = client.get(f"/tiles/assets/{z}/{x}/{y}.mvt?bbox=0,0,1,1")
    assert boxed["ETag"] == plain["ETag"]
    assert boxed.content == plain.content and decode(plain.content)
