"""Precomputed low-zoom clusters (layers.clusters, layers.models.AssetCluster): byte-equal to the live aggregation
for every role and filter, exact after the services' writes and a bulk import, and tiles stay small."""

import importlib
import random

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point
from django.db import connection
from django.http import QueryDict
from django.test import Client

from geo_assets import services
from geo_assets.models import SRID, Asset
from geo_assets.taxonomy import TYPE_CATEGORY, AssetStatus, AssetType, Role
from layers import clusters
from layers.filters import asset_filters_apply, asset_filters_parse
from layers.registry import CLUSTER_CELLS, DETAIL_MIN_ZOOM, MAX_TILE_BYTES
from layers.tiles import TileId, asset_tile_query, tile_assets_clusters, tile_fetch
from tests.factories import make_user
from tests.layers.conftest import county_tiles, make_world, populate

LOW_ZOOMS = (5, 7, 8, 9, 10, 11)
FILTERS = [
    "",
    "township=410324101000",
    "township=410324101000,410324102000",
    "village=410324102002",
    "category=household",
    "category=public_welfare,operating",
    "type=road,greenhouse",
    "status=idle,damaged",
    "year_min=2019",
    "year_max=2020",
    "year_min=2017&year_max=2021&status=in_use",
    "township=410324102000&type=greenhouse,livestock&status=in_use",
    "village=410324101001&year_min=2016",
]
LIVE_ONLY_FILTERS = ["verified=yes", "verified=no&type=road"]






@pytest.fixture
def big_world(db):
    world = make_world()
    populate(world)
    world.village_clerk = make_user("village_clerk", Role.VILLAGE, area=world.areas.east_north)
    world.county_admin = make_user("county_admin", Role.COUNTY_ADMIN)
    return world


def _users(world) -> dict:
    return {"anonymous": AnonymousUser(), "county_admin": world.county_admin, "superuser": world.admin,
            "inspector": world.inspector, "department": world.department, "township": world.clerk,
            "village": world.village_clerk}


def _decode(data: bytes) -> list[dict]:
    return mapbox_vector_tile.decode(data).get("clusters", {}).get("features", []) if data else []


def assert_same_as_live(user, query: str, zooms=LOW_ZOOMS, *, precomputed: bool = True) -> int:
    """Every tile over the county: the view's statement gives the live aggregation's bytes; returns the total."""
    filters = asset_filters_parse(QueryDict(query))
    live_qs = asset_filters_apply(Asset.objects.visible_to(user), filters)
    total = 0
    for z in zooms:
        seen = 0
        for tz, tx, ty in county_tiles(z):
            tile = TileId(tz, tx, ty)
            statement = asset_tile_query(tile, user=user, filters=filters)
            assert statement.mode == ("precomputed" if precomputed else "clusters"), (query, z)
            data, mode, _version = tile_fetch(statement)
            assert mode == "clusters"
            assert data == tile_assets_clusters(live_qs, tile), (query, tile)
            features = _decode(data)
            assert len(features) <= CLUSTER_CELLS**2
            seen += sum(f["properties"]["count"] for f in features)
        assert seen == live_qs.count(), (query, z)  # every visible asset counted once at every zoom
        total = seen
    return total


@pytest.mark.parametrize("who", ["anonymous", "county_admin", "superuser", "inspector", "department", "township",
                                 "village"])
def test_precomputed_equals_live_for_every_role_and_filter(big_world, who):
    user = _users(big_world)[who]
    totals = [assert_same_as_live(user, query) for query in FILTERS]
    assert totals[0] > 0
    for query in LIVE_ONLY_FILTERS:
        assert_same_as_live(user, query, zooms=(8, 11), precomputed=False)


def test_cluster_features_look_as_before(big_world):
    """Layer `clusters` with count (int), label (its text) and the dominant category, as maps/static reads them."""
    z, x, y = county_tiles(8)[0]
    response = Client().get(f"/tiles/assets/{z}/{x}/{y}.mvt")
    layers = mapbox_vector_tile.decode(response.content)
    assert set(layers) == {"clusters"}
    for feature in layers["clusters"]["features"]:
        props = feature["properties"]
        assert set(props) == {"count", "label", "category"}
        assert isinstance(props["count"], int) and props["label"] == str(props["count"])
        assert props["category"] in set(TYPE_CATEGORY.values())
        assert feature["geometry"]["type"] == "Point"


def _table() -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT level, grain, cell, township_id, village_id, category, asset_type, is_published,
                                 status, year_built, n, sum_x, sum_y FROM layers_assetcluster WHERE n <> 0""")
        return set(cursor.fetchall())


def _as_first_built() -> set[tuple]:
    """The rows migration 0001's delta (every asset crossed with every level and grain, then grouped) gives; the
    triggers and the rebuild use 0004's (summed per finest cell first, then each level and grain from a coarser
    one)."""
    first = importlib.import_module("layers.migrations.0001_initial")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({first._delta(first._source(1, 'geo_assets_asset'))}) d")  # noqa: S608
        return set(cursor.fetchall())


def assert_table_exact() -> None:
    """What the triggers maintained equals a rebuild from scratch (zero rows aside), and 0001's query."""
    maintained = _table()
    with connection.cursor() as cursor:
        cursor.execute("SELECT layers_clusters_rebuild()")
    assert maintained == _table() == _as_first_built()
    assert maintained


def test_stays_exact_through_the_services(big_world):
    world = big_world
    assert_table_exact()
    asset = Asset.objects.filter(asset_type=AssetType.LIVESTOCK).first()
    x0, y0, x1, y1 = world.areas.east_north.geom.extent
    steps = [
        ({"status": AssetStatus.IDLE}, None),
        ({"is_published": True}, None),
        ({"year_built": 2016}, None),
        ({"year_built": None}, None),
        ({"asset_type": AssetType.PV_STATION, "category": TYPE_CATEGORY[AssetType.PV_STATION]}, None),
        ({}, Point((x0 + x1) / 2 + 0.01, (y0 + y1) / 2, srid=SRID)),  # to another village and township
        ({"name": "只改名字"}, None),  # nothing the clusters use
    ]
    for changes, geometry in steps:
        asset = services.asset_update(actor=world.admin, asset=asset, changes=changes, geometry=geometry,
                                      reason="test")
        assert_table_exact()
    assert Asset.objects.get(pk=asset.pk).village_id == world.areas.east_north.pk
    for user in _users(world).values():
        assert_same_as_live(user, "", zooms=(8, 11))
    populate(world, count=5, seed=99)  # more registrations
    assert_table_exact()
    assert_same_as_live(world.inspector, "status=idle", zooms=(10,))


def test_stays_exact_after_a_bulk_import(big_world, tmp_path):
    from importers.services import assets_import
    from tests.importers import builders

    data = builders.rows(40)
    path = builders.write_csv(tmp_path / "台账.csv", data)
    report = assets_import(actor=big_world.admin, path=path)
    assert report.written and report.created == 40, report.errors[:3]
    assert_table_exact()
    assert_same_as_live(big_world.inspector, "", zooms=(8, 10, 11))
    for i, row in enumerate(data):  # re-import with moved points and codes: updates in one statement
        row["资产编号"] = Asset.objects.get(name=row["资产名称"]).code
        row["经度"] = row["经度"] + 0.004 * (i % 3)
    report = assets_import(actor=big_world.admin, path=builders.write_csv(tmp_path / "台账2.csv", data))
    assert report.written and report.updated > 20, report.errors[:3]
    assert_table_exact()
    assert_same_as_live(big_world.inspector, "", zooms=(8, 10, 11))
    assert_same_as_live(AnonymousUser(), "category=public_welfare", zooms=(11,))


def _dense(world, n: int) -> None:
    with connection.cursor() as cursor:  # raw bulk insert (the triggers still see it)
        cursor.execute(
            """
            INSERT INTO geo_assets_asset (code, name, category, asset_type, status, point, village_id, township_id,
                total_investment, owner_kind, registration_status, custodian_unit, custodian_person,
                custodian_phone, custody_method, operator, is_published, note, created_at, updated_at,
                project_name, implementing_unit, unit, year_built)
            SELECT 'BULK-' || g, '点' || g, 'public_welfare', 'road', 'in_use',
                   ST_SetSRID(ST_MakePoint(111.5 + (g * 7919 %% 10007) / 10007.0 * 0.2,
                                           33.8 + (g * 104729 %% 10009) / 10009.0 * 0.2), 4490), %s, %s,
                   0, '', 'unregistered', '', '', '', '', '', g %% 3 = 0, '', now(), now(), '', '', '', 2020
            FROM generate_series(1, %s) g
            """,
            [world.areas.west_south.pk, world.areas.west.pk, n],
        )


def test_no_tile_exceeds_the_size_limit(big_world, monkeypatch):
    _dense(big_world, 20000)
    assert_table_exact()
    client = Client()
    client.force_login(big_world.inspector)
    modes = set()
    for z in (6, 8, 10, 11, 12, 13):
        for tz, tx, ty in county_tiles(z):
            response = client.get(f"/tiles/assets/{tz}/{tx}/{ty}.mvt")
            assert response.status_code == 200
            assert len(response.content) <= MAX_TILE_BYTES
            modes |= set(mapbox_vector_tile.decode(response.content))
    assert modes == {"clusters", "assets"}
    # a tile over the byte limit at a detail zoom is rebuilt as clusters, in the same statement
    from layers import tiles

    monkeypatch.setattr(tiles, "MAX_TILE_BYTES", 2000)
    def size(t):
        return len(client.get("/tiles/assets/{}/{}/{}.mvt".format(*t)).content)

    big = max(county_tiles(DETAIL_MIN_ZOOM + 1), key=size)
    data, mode, _version = tile_fetch(asset_tile_query(TileId(*big), user=big_world.inspector,
                                                       filters=asset_filters_parse(QueryDict(""))))
    assert mode == "clusters" and len(data) <= 2000 and _decode(data)


def test_morton_matches_the_database(db):
    rng = random.Random(3)
    pairs = [(0, 0), (1, 0), (0, 1), (3, 5), (2**14 - 1, 2**14 - 1), (2**24 - 1, 12345)]
    pairs += [(rng.randrange(2**20), rng.randrange(2**20)) for _ in range(20)]
    with connection.cursor() as cursor:
        for x, y in pairs:
            cursor.execute("SELECT layers_morton(%s, %s)", [x, y])
            assert cursor.fetchone()[0] == clusters.morton(x, y)


def test_constants_match_the_migration():
    migration = importlib.import_module("layers.migrations.0001_initial")
    assert (migration.FINE_LEVEL, migration.LEVEL_GRAINS, migration.GRAINS, migration.WORLD) == (
        clusters.FINE_LEVEL, clusters.LEVEL_GRAINS, clusters.GRAINS, clusters.WORLD)
    assert clusters.FINE_LEVEL == DETAIL_MIN_ZOOM - 1 == max(clusters.LEVELS)  # every cluster zoom from the table
    assert 2**clusters.CELL_BITS == CLUSTER_CELLS
    assert sorted(clusters.GRAIN_ORDER) == sorted(clusters.GRAINS)
    full = [g for g, kept in clusters.GRAINS.items() if all(kept)]
    assert all(full[0] in grains for _level, grains in clusters.LEVEL_GRAINS if _level == clusters.FINE_LEVEL)


def test_the_cheapest_grain_that_keeps_what_is_asked():
    from django.db.models import Q

    from geo_assets.filters import AssetFilters

    def grains(q=None, **filters):
        return clusters.precomputed_base(q, AssetFilters(**filters))[2]

    assert grains()[0] == 0 and grains(Q(is_published=True))[0] == 0 and grains(Q(township_id=1))[0] == 0
    assert grains(Q(asset_type__in=["road"]))[0] == 1 and grains(Q(village_id=3))[0] == 1
    assert grains(statuses=("idle",))[0] == 3 and grains(year_min=2020)[0] == 3
    assert grains(Q(village_id=3), year_max=2020) == (2,) and grains(types=("road",), statuses=("idle",)) == (2,)
    assert clusters.precomputed_base(Q(pk__in=[]), AssetFilters()) is None
    assert clusters.precomputed_base(None, AssetFilters(verified=True)) is None
    assert clusters.precomputed_base(~Q(is_published=True), AssetFilters()) is None


def test_rebuild_command(big_world):
    from io import StringIO

    from django.core.management import call_command

    before = _table()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE layers_assetcluster SET n = n + 1")  # damage it
    out = StringIO()
    call_command("clusters_rebuild", stdout=out)
    assert "聚合表已重建" in out.getvalue()
    assert _table() == before

