"""Mapbox vector tiles straight from PostGIS (ST_AsMVT over the GiST-indexed 3857 column `geom_web`).

Assets: the role-scoped, filtered queryset (Asset.objects.visible_to(user) + layers.filters) is compiled to SQL by
Django and wrapped, so the visibility rule lives once, in geo_assets.querysets. Below DETAIL_MIN_ZOOM, and for any
tile that would exceed MAX_TILE_BYTES, features are grid clusters (count per cell) instead of geometries.
"""

from dataclasses import dataclass

from django.contrib.gis.geos import Polygon
from django.db.models import QuerySet

from geo_assets.dbrouting import read_cursor
from geo_assets.models import AdminArea, Asset
from layers.registry import CLUSTER_CELLS, DETAIL_MIN_ZOOM, MAX_DETAIL_FEATURES, MAX_TILE_BYTES

EXTENT = 4096
BUFFER = 64
WORLD = 20037508.342789244
MAX_ZOOM = 22


@dataclass(frozen=True)
class TileId:
    z: int
    x: int
    y: int

    def valid(self) -> bool:
        return 0 <= self.z <= MAX_ZOOM and 0 <= self.x < 2**self.z and 0 <= self.y < 2**self.z

    @property
    def size(self) -> float:
        return 2 * WORLD / 2**self.z

    def envelope(self, margin: float = 0.0) -> Polygon:
        """The tile's square in EPSG:3857 (same as ST_TileEnvelope), grown by margin × its side."""
        size = self.size
        minx = -WORLD + self.x * size - margin * size
        maxy = WORLD - self.y * size + margin * size
        box = Polygon.from_bbox((minx, maxy - size * (1 + 2 * margin), minx + size * (1 + 2 * margin), maxy))
        box.srid = 3857
        return box


def _fetch(sql: str, params, model=Asset) -> bytes:
    with read_cursor(model) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _compiled(qs: QuerySet, *fields: str) -> tuple[str, tuple]:
    sql, params = qs.order_by().values(*fields).query.sql_with_params()
    return sql, tuple(params)


def tile_assets(qs: QuerySet[Asset], tile: TileId, *, full_names: bool = False) -> tuple[bytes, str]:
    """The assets tile for a role-scoped, filtered queryset; returns (bytes, "detail" | "clusters").
    Without full_names (the public) features carry the public name (geo_assets.privacy)."""
    if tile.z >= DETAIL_MIN_ZOOM and _count_capped(qs, tile, MAX_DETAIL_FEATURES) <= MAX_DETAIL_FEATURES:
        data = tile_assets_detail(qs, tile, full_names=full_names)
        if len(data) <= MAX_TILE_BYTES:
            return data, "detail"
    return tile_assets_clusters(qs, tile), "clusters"


def _count_capped(qs: QuerySet[Asset], tile: TileId, cap: int) -> int:
    """How many assets touch the tile, counting no further than cap + 1 (a cheap density check)."""
    limited = qs.filter(geom_web__bboverlaps=tile.envelope(BUFFER / EXTENT)).order_by().values("id")[: cap + 1]
    base, params = limited.query.sql_with_params()
    with read_cursor(Asset) as cursor:
        cursor.execute(f"SELECT count(*) FROM ({base}) b", params)  # noqa: S608 - Django-compiled SQL
        return cursor.fetchone()[0]


def tile_assets_detail(qs: QuerySet[Asset], tile: TileId, *, full_names: bool = False) -> bytes:
    name = "name" if full_names else "public_name"
    base, params = _compiled(
        qs.filter(geom_web__bboverlaps=tile.envelope(BUFFER / EXTENT)),
        "id", "code", name, "category", "asset_type", "status", "geom_web",
    )
    sql = f"""
        SELECT ST_AsMVT(t, 'assets', {EXTENT}, 'geom', 'id') FROM (
            SELECT b.id, b.code, b.{name} AS name, b.category, b.asset_type AS type, b.status,
                   ST_AsMVTGeom(b.geom_web, ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
            FROM ({base}) b
        ) t WHERE t.geom IS NOT NULL"""  # noqa: S608 - base is Django-compiled SQL, values are parameters
    return _fetch(sql, (tile.z, tile.x, tile.y, *params))


def tile_assets_clusters(qs: QuerySet[Asset], tile: TileId) -> bytes:
    """Grid clusters: one point per occupied cell (CLUSTER_CELLS² cells per tile) with the count."""
    cell = tile.size / CLUSTER_CELLS
    env = tile.envelope()
    minx, miny = env.extent[0], env.extent[1]
    base, params = _compiled(qs.filter(geom_web__bboverlaps=env), "category", "geom_web")
    sql = f"""
        WITH c AS (
            SELECT b.category, ST_Centroid(b.geom_web) AS pt FROM ({base}) b
        ), g AS (
            SELECT count(*) AS count, mode() WITHIN GROUP (ORDER BY c.category) AS category,
                   ST_SetSRID(ST_MakePoint(avg(ST_X(c.pt)), avg(ST_Y(c.pt))), 3857) AS pt
            FROM c WHERE c.pt && ST_TileEnvelope(%s, %s, %s)
            GROUP BY floor((ST_X(c.pt) - %s) / %s), floor((ST_Y(c.pt) - %s) / %s)
        )
        SELECT ST_AsMVT(t, 'clusters', {EXTENT}, 'geom') FROM (
            SELECT g.count, g.count::text AS label, g.category, ST_AsMVTGeom(g.pt, ST_TileEnvelope(%s, %s, %s), {EXTENT}, 0, true) AS geom
            FROM g
        ) t WHERE t.geom IS NOT NULL"""  # noqa: S608 - base is Django-compiled SQL, values are parameters
    return _fetch(sql, (*params, tile.z, tile.x, tile.y, minx, cell, miny, cell, tile.z, tile.x, tile.y))


def tile_areas(*, level: str, tile: TileId, parent_codes: tuple[str, ...] = ()) -> bytes:
    """Boundaries of one level plus a label-point layer `<level>_labels` (one point per area).

    Label points are kept up to a quarter tile (64 px, more than half the widest name) outside the tile, so a tile
    also knows the labels that reach into it from its neighbours and the client never cuts a name at a tile edge."""
    label_buffer = EXTENT // 4
    layer = "townships" if level == "township" else "villages"
    qs = AdminArea.objects.filter(level=level, geom_web__bboverlaps=tile.envelope(label_buffer / EXTENT))
    if parent_codes:
        qs = qs.filter(parent__code__in=parent_codes)
    base, params = _compiled(qs, "code", "name", "parent__code", "geom_web")
    sql = f"""
        WITH b AS ({base})
        SELECT
          coalesce((SELECT ST_AsMVT(t, '{layer}', {EXTENT}, 'geom') FROM (
              SELECT b.code, b.name, b.parent__code AS parent,
                     ST_AsMVTGeom(b.geom_web, ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
              FROM b) t WHERE t.geom IS NOT NULL), ''::bytea)
          ||
          coalesce((SELECT ST_AsMVT(l, '{layer}_labels', {EXTENT}, 'geom') FROM (
              SELECT b.code, b.name,
                     ST_AsMVTGeom(ST_PointOnSurface(b.geom_web), ST_TileEnvelope(%s, %s, %s), {EXTENT},
                                  {label_buffer}, true)
                     AS geom
              FROM b) l WHERE l.geom IS NOT NULL), ''::bytea)"""  # noqa: S608 - base is Django-compiled SQL
    return _fetch(sql, (*params, tile.z, tile.x, tile.y, tile.z, tile.x, tile.y), AdminArea)


def data_version(kind: str) -> str:
    """Changes whenever the data behind a layer changes: newest history row and newest row id.

    Every write through geo_assets.services leaves a history row (simple_history), so max(history_id) moves on
    each insert/update; max(id) also catches rows bulk-loaded without history. Both are index look-ups.
    """
    table, history = (
        ("geo_assets_asset", "geo_assets_historicalasset") if kind == "assets"
        else ("geo_assets_adminarea", "geo_assets_historicaladminarea")
    )
    with read_cursor(Asset if kind == "assets" else AdminArea) as cursor:
        cursor.execute(
            f"SELECT (SELECT coalesce(max(history_id), 0) FROM {history}), (SELECT coalesce(max(id), 0) FROM {table})"  # noqa: S608
        )
        h, i = cursor.fetchone()
    return f"{h}.{i}"
