"""Light boundary tiles at low zoom (issue 11): precomputed outlines (layers.models.AreaOutline, migration
layers/0002) simplified edge by edge, kept current by triggers; the full boundary from DETAIL_MIN_ZOOM on."""

import math
import random

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection, transaction

from geo_assets.models import SRID, AdminArea
from geo_assets.taxonomy import AreaLevel
from layers.models import AreaOutline
from layers.registry import DETAIL_MIN_ZOOM, LABEL_MIN_ZOOM, OUTLINE_MAX_ZOOM, OUTLINE_MIN_ZOOM, OUTLINE_TOLERANCE_PX
from layers.tiles import BUFFER, EXTENT, TileId, tile_areas

pytestmark = pytest.mark.django_db

WORLD = 20037508.342789244
# a county of its own, away from the factory county: two townships, three villages side by side, every edge with
# 500 vertices (~40 m apart) on a wave of ±0.005° (~500 m, 4 periods) plus ±10 m of noise, the shared edges
# identical in both neighbours (as the province's)
X0, X1, X2, X3, Y0, Y1 = 112.00, 112.20, 112.40, 112.60, 34.00, 34.20
STEPS = 500
WAVE, NOISE = 0.005, 0.0001


def pixel(z: int) -> float:
    return 2 * WORLD / 256 / 2**z


def tile_of(lon: float, lat: float, z: int) -> TileId:
    n = 2**z
    return TileId(z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def edge(a: tuple[float, float], b: tuple[float, float], seed: int) -> list[tuple[float, float]]:
    """a → b (b excluded), each vertex moved across the edge; the same seed gives the same vertices."""
    rnd = random.Random(seed)
    (xa, ya), (xb, yb) = a, b
    length = math.hypot(xb - xa, yb - ya)
    nx, ny = -(yb - ya) / length, (xb - xa) / length
    points = [a]
    for i in range(1, STEPS):
        t = i / STEPS
        off = WAVE * math.sin(2 * math.pi * 4 * t) + NOISE * min(1, i / 5, (STEPS - i) / 5) * rnd.uniform(-1, 1)
        points.append((round(xa + (xb - xa) * t + nx * off, 7), round(ya + (yb - ya) * t + ny * off, 7)))
    return points


def ring(*edges: list) -> Polygon:
    points = [p for e in edges for p in e]
    return Polygon([*points, points[0]])


def vertical(x: float, seed: int) -> list:
    return edge((x, Y0), (x, Y1), seed)


def reverse(e: list, end: tuple[float, float]) -> list:
    """The same edge walked the other way (from `end`, the excluded point of e, back towards e's start)."""
    return [end, *reversed(e[1:])]


def area(code: str, name: str, level: str, polygon: Polygon, parent=None) -> AdminArea:
    return AdminArea.objects.create(code=code, name=name, level=level, parent=parent,
                                    geom=MultiPolygon(polygon, srid=SRID))


def rings(shared_x: float = X1, seed: int = 1) -> dict[str, Polygon]:
    """Villages A | B | C; A and B meet on a wavy edge at shared_x, B and C at X2."""
    left, middle, right = vertical(shared_x, seed), vertical(X2, 2), vertical(X3, 3)
    a = ring(edge((X0, Y0), (shared_x, Y0), 10), left, edge((shared_x, Y1), (X0, Y1), 20), edge((X0, Y1), (X0, Y0), 30))
    b = ring(edge((shared_x, Y0), (X2, Y0), 11), middle, edge((X2, Y1), (shared_x, Y1), 21),
             reverse(left, (shared_x, Y1)))
    c = ring(edge((X2, Y0), (X3, Y0), 12), right, edge((X3, Y1), (X2, Y1), 22), reverse(middle, (X2, Y1)))
    return {"A": a, "B": b, "C": c}


def make_dense() -> dict[str, AdminArea]:
    county = area("410399000000", "密县", AreaLevel.COUNTY, Polygon.from_bbox((X0, Y0, X3, Y1)))
    t1 = area("410399101000", "甲镇", AreaLevel.TOWNSHIP, Polygon.from_bbox((X0, Y0, X2, Y1)), county)
    t2 = area("410399102000", "乙镇", AreaLevel.TOWNSHIP, Polygon.from_bbox((X2, Y0, X3, Y1)), county)
    r = rings()
    return {
        "A": area("410399101001", "甲村", AreaLevel.VILLAGE, r["A"], t1),
        "B": area("410399101002", "乙村", AreaLevel.VILLAGE, r["B"], t1),
        "C": area("410399102001", "丙村", AreaLevel.VILLAGE, r["C"], t2),
    }


def as_if_committed() -> None:
    """Run what the deferred trigger runs at commit (tests run inside a transaction that is rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS layers_outlines_flush IMMEDIATE")
        cursor.execute("SET CONSTRAINTS layers_outlines_flush DEFERRED")


def pending() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_areaoutline_pending")
        return cursor.fetchone()[0]


@pytest.fixture
def dense():
    """Three dense villages A | B | C sharing two wavy edges, in two townships."""
    villages = make_dense()
    as_if_committed()
    return villages


def full_boundary_tile(tile: TileId, codes: list[str]) -> bytes:
    """The villages layer of a tile built from the full boundaries (what the tiles carried before outlines)."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT ST_AsMVT(t, 'villages', {EXTENT}, 'geom') FROM (
                SELECT code, name, ST_AsMVTGeom(geom_web, ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) geom
                FROM geo_assets_adminarea WHERE code = ANY(%s)) t WHERE t.geom IS NOT NULL""",  # noqa: S608
                       [tile.z, tile.x, tile.y, codes])
        return bytes(cursor.fetchone()[0] or b"")


def outline_sql(sql: str, params) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_every_area_has_an_outline_per_low_zoom(dense):
    zooms = set(range(OUTLINE_MIN_ZOOM, OUTLINE_MAX_ZOOM + 1))
    assert OUTLINE_MAX_ZOOM == DETAIL_MIN_ZOOM - 1
    for village in dense.values():
        assert set(AreaOutline.objects.filter(area=village).values_list("zoom", flat=True)) == zooms


@pytest.mark.parametrize("z", [8, 10])
def test_low_zoom_tile_of_dense_villages_is_light_and_has_every_village(dense, z):
    tile = tile_of((X0 + X3) / 2, (Y0 + Y1) / 2, z)
    data = tile_areas(level=AreaLevel.VILLAGE, tile=tile)
    features = mapbox_vector_tile.decode(data)["villages"]["features"]
    assert {f["properties"]["code"] for f in features} >= {v.code for v in dense.values()}
    full = full_boundary_tile(tile, [v.code for v in dense.values()])
    # 2,000 vertices per village, a few dozen at half a pixel: a fraction of the full tile (7,271 and 5,383 bytes)
    assert len(data) < {8: 700, 10: 1000}[z], len(data)  # measured: 465 and 685 bytes
    assert len(data) * 5 < len(full), (len(data), len(full))


def test_outlines_stay_within_half_a_pixel_and_keep_the_area(dense):
    for z in range(OUTLINE_MIN_ZOOM, OUTLINE_MAX_ZOOM + 1):
        worst, area_ratio, points, full_points = outline_sql("""
            SELECT max(ST_HausdorffDistance(o.geom_web, a.geom_web)), min(ST_Area(o.geom_web) / ST_Area(a.geom_web)),
                   max(ST_NPoints(o.geom_web)), min(ST_NPoints(a.geom_web))
            FROM layers_areaoutline o JOIN geo_assets_adminarea a ON a.id = o.area_id
            WHERE o.zoom = %s AND a.code LIKE '410399%%' AND a.level = 'village'""", [z])
        assert worst <= OUTLINE_TOLERANCE_PX * pixel(z) * 1.01
        assert area_ratio > 0.95
        assert points < full_points / (4 if z <= 10 else 2)


def test_neighbours_share_their_simplified_edge(dense):
    """Simplified together, neighbours neither overlap nor leave a gap: their outlines meet along the whole edge."""
    for z in (8, 10, OUTLINE_MAX_ZOOM):
        for left, right, x in (("A", "B", X1), ("B", "C", X2)):
            overlap, shared = outline_sql("""
                SELECT ST_Area(ST_Intersection(l.geom_web, r.geom_web)),
                       ST_Length(ST_Intersection(ST_Boundary(l.geom_web), ST_Boundary(r.geom_web)))
                FROM layers_areaoutline l, layers_areaoutline r
                WHERE l.area_id = %s AND r.area_id = %s AND l.zoom = %s AND r.zoom = %s""",
                                          [dense[left].pk, dense[right].pk, z, z])
            height = outline_sql("SELECT ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 3857))"
                                 " - ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 3857))",
                                 [x, Y1, x, Y0])[0]
            assert overlap < 1e-3 * pixel(z) ** 2
            assert shared >= 0.99 * height


def test_high_zoom_tiles_carry_the_full_boundary_as_before(dense):
    codes = [v.code for v in dense.values()]
    for z in (DETAIL_MIN_ZOOM, DETAIL_MIN_ZOOM + 2):
        tile = tile_of(X1, (Y0 + Y1) / 2, z)  # on the jagged edge between A and B
        data = mapbox_vector_tile.decode(tile_areas(level=AreaLevel.VILLAGE, tile=tile))
        expected = mapbox_vector_tile.decode(full_boundary_tile(tile, codes))
        got = sorted((f["properties"]["code"], str(f["geometry"])) for f in data["villages"]["features"])
        assert got == sorted((f["properties"]["code"], str(f["geometry"])) for f in expected["villages"]["features"])
        assert got


def test_village_names_only_where_the_map_draws_them(dense):
    middle = ((X0 + X3) / 2, (Y0 + Y1) / 2)
    below = mapbox_vector_tile.decode(tile_areas(level=AreaLevel.VILLAGE, tile=tile_of(*middle, 8)))
    assert "villages_labels" not in below and below["villages"]["features"]
    at = LABEL_MIN_ZOOM[AreaLevel.VILLAGE]
    names = set()
    for dx in (-2, -1, 0, 1, 2):
        t = tile_of(*middle, at)
        names |= {f["properties"]["name"] for f in mapbox_vector_tile.decode(tile_areas(
            level=AreaLevel.VILLAGE, tile=TileId(t.z, t.x + dx, t.y))).get("villages_labels", {"features": []})["features"]}
    assert names >= {"甲村", "乙村", "丙村"}
    townships = mapbox_vector_tile.decode(tile_areas(level=AreaLevel.TOWNSHIP, tile=tile_of(*middle, 8)))
    assert {f["properties"]["name"] for f in townships["townships_labels"]["features"]} >= {"甲镇", "乙镇"}


def test_changing_a_boundary_rebuilds_its_outlines_and_its_neighbours(dense):
    b = dense["B"]
    before = dict(AreaOutline.objects.filter(area__in=[dense["A"], dense["C"]], zoom=8)
                  .values_list("area_id", "geom_web"))
    # B takes a 0.05° strip of A: their shared edge moves west
    moved = rings(shared_x=X1 - 0.05, seed=7)
    AdminArea.objects.filter(pk=dense["A"].pk).update(geom=MultiPolygon(moved["A"], srid=SRID))
    AdminArea.objects.filter(pk=b.pk).update(geom=MultiPolygon(moved["B"], srid=SRID))
    # queued, not built, until the transaction commits: one build for both statements
    assert pending() > 0
    assert AreaOutline.objects.get(area=dense["A"], zoom=8).geom_web.equals(before[dense["A"].pk])
    as_if_committed()
    assert pending() == 0
    overlap, shared = outline_sql("""
        SELECT ST_Area(ST_Intersection(l.geom_web, r.geom_web)),
               ST_Length(ST_Intersection(ST_Boundary(l.geom_web), ST_Boundary(r.geom_web)))
        FROM layers_areaoutline l, layers_areaoutline r
        WHERE l.area_id = %s AND r.area_id = %s AND l.zoom = 8 AND r.zoom = 8""", [dense["A"].pk, b.pk])
    assert overlap < 1e-3 * pixel(8) ** 2 and shared > 0
    a_now = AreaOutline.objects.get(area=dense["A"], zoom=8).geom_web
    assert not a_now.equals(before[dense["A"].pk])
    # C's outline was rebuilt too (its edge with B kept its vertices): the same shape as before
    assert AreaOutline.objects.get(area=dense["C"], zoom=8).geom_web.equals(before[dense["C"].pk])
    # a new area gets its outlines when its transaction commits
    d = area("410399102002", "丁村", AreaLevel.VILLAGE, Polygon.from_bbox((X3, Y0, X3 + 0.1, Y1)), b.parent)
    as_if_committed()
    assert AreaOutline.objects.filter(area=d).count() == OUTLINE_MAX_ZOOM - OUTLINE_MIN_ZOOM + 1


def test_an_area_without_outlines_is_drawn_from_its_full_boundary(dense):
    AreaOutline.objects.filter(area=dense["B"]).delete()
    tile = tile_of((X0 + X3) / 2, (Y0 + Y1) / 2, 8)
    features = mapbox_vector_tile.decode(tile_areas(level=AreaLevel.VILLAGE, tile=tile))["villages"]["features"]
    assert {f["properties"]["code"] for f in features} >= {v.code for v in dense.values()}


def test_rebuild_function_recomputes_everything(dense):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM layers_areaoutline")
        cursor.execute("SELECT layers_outlines_rebuild()")
        written = cursor.fetchone()[0]
    assert written == AdminArea.objects.count() * (OUTLINE_MAX_ZOOM - OUTLINE_MIN_ZOOM + 1)


@pytest.mark.django_db(transaction=True)
def test_outlines_are_built_when_the_writing_transaction_commits():
    with transaction.atomic():
        villages = make_dense()
        assert pending() > 0 and not AreaOutline.objects.exists()
    assert pending() == 0
    zooms = OUTLINE_MAX_ZOOM - OUTLINE_MIN_ZOOM + 1
    assert AreaOutline.objects.filter(area__in=villages.values()).count() == 3 * zooms
