"""The areas' pieces (models.AreaPiece, migration 0020): validation.villages_covering tests containment on them and
must answer exactly as ST_Covers on the whole areas, and the database keeps them whoever writes an area."""

import importlib
import itertools
import random

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection

from geo_assets import services, validation
from geo_assets.models import PIECE_CELL, PIECE_LEVELS, SRID, AdminArea, AreaPiece
from tests.factories import JAGGED_W, make_admin

FILL = importlib.import_module("geo_assets.migrations.0020_area_pieces").FILL

# The reference: ST_Covers on the whole areas, as _LOCATE was before the pieces.
WHOLE = """
SELECT l.ids, cardinality(l.ids) > 0 OR EXISTS(SELECT 1 FROM geo_assets_adminarea c
                                               WHERE c.level = 'county' AND ST_Covers(c.geom, l.anchor))
FROM (SELECT i, anchor, ARRAY(SELECT v.id FROM geo_assets_adminarea v
                              WHERE v.level = 'village' AND ST_Covers(v.geom, anchor) ORDER BY v.code) AS ids
      FROM (SELECT i, ST_PointOnSurface(ST_GeomFromWKB(w, %s)) AS anchor
            FROM unnest(%s::bytea[]) WITH ORDINALITY AS t(w, i)) r) l
ORDER BY l.i
"""


def whole(points):
    with connection.cursor() as cursor:
        cursor.execute(WHOLE, [SRID, [bytes(p.wkb) for p in points]])
        return [(tuple(ids), inside) for ids, inside in cursor.fetchall()]


def on_pieces(points):
    return [(located.villages, located.in_county)
            for located in validation.villages_covering([bytes(p.wkb) for p in points], SRID)]


def rings(geom):
    for polygon in (geom if geom.geom_type == "MultiPolygon" else [geom]):
        yield from polygon


def boundary_points(geoms, rng):
    """Every vertex of the geometries' rings, and on every edge its middle and a point at a random fraction."""
    points = []
    for geom in geoms:
        for ring in rings(geom):
            coords = ring.coords
            for (x0, y0), (x1, y1) in itertools.pairwise(coords):
                points.append(Point(x0, y0, srid=SRID))
                for t in (0.5, rng.random()):
                    points.append(Point(x0 + t * (x1 - x0), y0 + t * (y1 - y0), srid=SRID))
    return points


def test_placement_on_pieces_agrees_with_the_whole_villages(jagged):
    rng = random.Random(22)
    villages = [jagged.west, jagged.east, jagged.island]
    pieces = list({p.geom.wkb.tobytes(): p for p in AreaPiece.objects.filter(area__in=villages)}.values())
    # the villages are really cut, and their pieces keyed in several cells
    for village in villages[:2]:
        assert len([p for p in pieces if p.area_id == village.pk]) > 2
    assert AreaPiece.objects.filter(area__in=villages).values("cell_x", "cell_y").distinct().count() > 20
    x0, y0, x1, y1 = jagged.county.geom.extent
    random_points = [Point(rng.uniform(x0 - 0.01, x1 + 0.01), rng.uniform(y0 - 0.01, y1 + 0.01), srid=SRID)
                     for _ in range(3000)]
    # the grid's lines (cells of PIECE_CELL°), where a point's cell is decided by one floor()
    grid = [Point(round(k * PIECE_CELL, 6), rng.uniform(y0, y1), srid=SRID) for k in range(5598, 5612)]
    grid += [Point(rng.uniform(x0, x1), round(k * PIECE_CELL, 6), srid=SRID) for k in range(1689, 1701)]
    points = (random_points + grid + boundary_points([v.geom for v in villages], rng)
              + boundary_points([p.geom for p in pieces], rng))  # the cuts: the pieces' own vertices and edges
    expected = whole(points)
    assert on_pieces(points) == expected
    # the cases the points were chosen for are there
    by_ids = {ids for ids, _inside in expected}
    assert (jagged.west.pk, jagged.east.pk) in by_ids  # the shared seam: both, by code
    assert (jagged.east.pk, jagged.island.pk) in by_ids  # the hole's edge: its village and the island
    assert (jagged.island.pk,) in by_ids and (jagged.east.pk,) in by_ids and (jagged.west.pk,) in by_ids
    assert ((), False) in set(expected)  # outside the county
    seam_points = [Point(x, y, srid=SRID) for x, y in jagged.seam]
    assert {ids for ids, _inside in on_pieces(seam_points)} == {(jagged.west.pk, jagged.east.pk)}
    hole_centre = Point(112.15, 33.90, srid=SRID)
    assert on_pieces([hole_centre]) == [((jagged.island.pk,), True)]


def test_a_point_on_two_pieces_of_one_village_gives_it_once(jagged):
    shared = []
    pieces = list(AreaPiece.objects.filter(area=jagged.west))
    for piece in pieces:
        for x, y in piece.geom.exterior_ring.coords:
            point = Point(x, y, srid=SRID)
            if len({p.geom.wkb.tobytes() for p in pieces if p.geom.covers(point)}) > 1 and x < 112.09:
                shared.append(point)
    assert shared  # vertices on the cuts inside 西坡村, away from the seam
    assert {located for located in on_pieces(shared)} == {((jagged.west.pk,), True)}


def pieces_union(area):
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Area(ST_SymDifference(ST_Union(p.geom), a.geom)), count(*) "
                       "FROM geo_assets_areapiece p JOIN geo_assets_adminarea a ON a.id = p.area_id "
                       "WHERE a.id = %s GROUP BY a.geom", [area.pk])
        return cursor.fetchone() or (None, 0)


def test_the_pieces_follow_an_area_changed_through_the_services(jagged):
    moved = jagged.island.geom
    # 岛村 moved 0.01° north (inside 东坡村's box: the hole stays where it was, the island now overlaps 东坡村)
    jagged.island.geom = MultiPolygon(*[Polygon(*[[(x, round(y + 0.01, 6)) for x, y in ring.coords]
                                                   for ring in polygon]) for polygon in moved], srid=SRID)
    services.area_save(actor=make_admin(), area=jagged.island, reason="边界调整")
    north, south = Point(112.15, 33.935, srid=SRID), Point(112.15, 33.875, srid=SRID)
    assert on_pieces([north, south]) == whole([north, south]) == [((jagged.east.pk, jagged.island.pk), True),
                                                                    ((), True)]
    difference, count = pieces_union(jagged.island)
    assert count > 0 and difference < 1e-12


def test_the_pieces_follow_areas_written_in_sql(jagged):
    with connection.cursor() as cursor:
        # a new village written by another writer (a loader's SQL), in the west village's place
        cursor.execute("INSERT INTO geo_assets_adminarea (code, name, level, parent_id, geom) SELECT '410327101004', "
                       "'新村', 'village', %s, geom FROM geo_assets_adminarea WHERE id = %s", [jagged.township.pk,
                                                                                           jagged.west.pk])
        # and 东坡村 shrunk to its southern half in plain SQL
        cursor.execute("UPDATE geo_assets_adminarea SET geom = ST_Multi(ST_Intersection(geom, "
                       "ST_MakeEnvelope(112.0, 33.8, 112.2, 33.85, %s))) WHERE id = %s", [SRID, jagged.east.pk])
    new = AdminArea.objects.get(code="410327101004")
    in_west, in_east_north, in_east_south = (Point(112.05, 33.95, srid=SRID), Point(112.19, 33.95, srid=SRID),
                                             Point(112.19, 33.81, srid=SRID))
    points = [in_west, in_east_north, in_east_south]
    assert on_pieces(points) == whole(points) == [((jagged.west.pk, new.pk), True), ((), True),
                                                  ((jagged.east.pk,), True)]
    assert pieces_union(new)[1] == pieces_union(jagged.west)[1] > 0


def test_the_answer_comes_from_the_pieces(jagged):
    """Placement reads the pieces, not the villages: without 西坡村's pieces it is nowhere; rebuilt, it is back."""
    point = Point(112.05, 33.95, srid=SRID)
    AreaPiece.objects.filter(area=jagged.west).delete()
    assert on_pieces([point]) == [((), True)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT geo_assets_pieces_build(ARRAY[%s]::bigint[])", [jagged.west.pk])
    assert on_pieces([point]) == [((jagged.west.pk,), True)]


def test_the_migrations_fill_gives_each_area_exactly_its_pieces(jagged):
    def rows():
        return sorted(AreaPiece.objects.values_list("area_id", "level", "cell_x", "cell_y", "geom"),
                      key=lambda r: (*r[:4], r[4].wkb.tobytes()))

    by_trigger = rows()
    AreaPiece.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(FILL)
    assert [(*r[:4], r[4].wkb.tobytes()) for r in rows()] == [(*r[:4], r[4].wkb.tobytes()) for r in by_trigger]
    for area in (jagged.county, jagged.township, jagged.west, jagged.east, jagged.island):
        difference, count = pieces_union(area)
        assert count > 0 and difference < 1e-12, area
    # counties, townships and villages only
    assert set(AreaPiece.objects.values_list("level", flat=True)) == set(PIECE_LEVELS)


def test_near_a_pieces_boundary_the_whole_area_decides(jagged):
    """The cuts' vertices are rounded: a piece may be off its area by a hair. Here 西坡村's pieces are moved 1e-11°
    west (less than PIECE_MARGIN): a point just outside its western edge, or on the seam with 东坡村, is placed as
    ST_Covers on the whole villages places it; points away from the boundaries are unaffected."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE geo_assets_areapiece SET geom = ST_Translate(geom, -1e-11, 0) WHERE area_id = %s",
                       [jagged.west.pk])
    outside = Point(JAGGED_W - 5e-12, 33.9, srid=SRID)
    seam = [Point(x, y, srid=SRID) for x, y in jagged.seam[1:-1]]
    inside = Point(112.05, 33.9, srid=SRID)
    points = [outside, inside, *seam]
    assert on_pieces(points) == whole(points)
    assert on_pieces([outside, inside]) == [((), False), ((jagged.west.pk,), True)]
    assert {ids for ids, _inside in on_pieces(seam)} == {(jagged.west.pk, jagged.east.pk)}
