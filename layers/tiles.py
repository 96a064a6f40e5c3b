"""Mapbox vector tiles straight from PostGIS (ST_AsMVT over the GiST-indexed 3857 column `geom_web`).

Assets: the role-scoped, filtered queryset (Asset.objects.visible_to(user) + layers.filters) is compiled to SQL by
Django and wrapped, so the visibility rule lives once, in geo_assets.querysets. Below DETAIL_MIN_ZOOM features are
grid clusters, read from the precomputed table where it can express the scope and filters (layers.clusters); at
detail zooms a tile touching more than MAX_DETAIL_FEATURES assets or bigger than MAX_TILE_BYTES is clusters too.

Every tile is ONE statement (`TileQuery`) returning (tile, mode, data version): the density check, the detail tile,
the fallback to clusters and the version for the ETag share one snapshot and one round trip. The view and the
benchmark's SQL anchor (bench/layers.py) run the very same statement.
"""

from dataclasses import dataclass

from django.contrib.gis.geos import Polygon
from django.db.models import QuerySet

from geo_assets.access import scope_for
from geo_assets.dbrouting import read_cursor, read_fetch
from geo_assets.filters import AssetFilters
from geo_assets.models import AdminArea, Asset
from layers import clusters
from layers.filters import asset_filters_apply
from layers.models import AreaOutline
from layers.registry import (
    DETAIL_MIN_ZOOM,
    LABEL_MIN_ZOOM,
    MAX_DETAIL_FEATURES,
    MAX_TILE_BYTES,
    OUTLINE_MAX_ZOOM,
    OUTLINE_MIN_ZOOM,
)

EXTENT = 4096
BUFFER = 64
WORLD = 20037508.342789244
MAX_ZOOM = 22
ASSET_TABLES = ("geo_assets_asset", "geo_assets_historicalasset")
# (table, its history table) pairs whose changes make a new data version of a layer
VERSION_TABLES = {
    "assets": (ASSET_TABLES,),
    "areas": (("geo_assets_adminarea", "geo_assets_historicaladminarea"),),
    # filtered by project: which assets each project formed, and whom a project is visible to (its villages served:
    # a change of them leaves a history row of the project too)
    "assets_projects": (ASSET_TABLES, ("projects_projectasset", "projects_historicalprojectasset"),
                        ("projects_project", "projects_historicalproject")),
}


def data_kind(filters) -> str:
    """The version kind of the asset layer under these filters (layers.filters: the project filter reads more)."""
    return "assets_projects" if getattr(filters, "projects", ()) else "assets"


def _version_sql(kind: str) -> str:
    """The data version as one SQL expression: newest history row and newest row id of each table (index look-ups)."""
    return " || '.' || ".join(
        f"(SELECT coalesce(max(history_id), 0) FROM {history})::text || '.' "  # noqa: S608 - constants
        f"|| (SELECT coalesce(max(id), 0) FROM {table})::text"
        for table, history in VERSION_TABLES[kind])


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


@dataclass(frozen=True)
class TileQuery:
    """One statement returning one row: (tile bytes, mode, data version)."""

    sql: str
    params: tuple
    model: type  # where read_cursor() sends it
    mode: str  # what the statement serves: "detail" (may fall back to clusters), "clusters", "precomputed", "areas"


def _compiled(qs: QuerySet, *fields: str) -> tuple[str, tuple]:
    sql, params = qs.order_by().values(*fields).query.sql_with_params()
    return sql, tuple(params)


def _versioned(sql: str, kind: str, *, mode_sql: str = "t.mode") -> str:
    """Wrap a one-row tile statement: its tile, its mode and the data version (two index look-ups)."""
    return f"""
        SELECT t.tile, {mode_sql}, {_version_sql(kind)}
        FROM ({sql}) t"""  # noqa: S608 - table names are constants


def _clusters_statement(source: tuple[str, tuple], tile: TileId) -> tuple[str, tuple]:
    return clusters.clusters_sql(source, tile, EXTENT)


# Compiled SQL of what a scope and filters select, without the tile: compiling querysets is most of a tile
# request's Python time, and the result depends only on these keys (visible_to(user) is the scope's assets_q).
_BASES: dict[tuple, tuple] = {}
_BASES_MAX = 512


def _cached(key: tuple, build):
    found = _BASES.get(key)
    if found is None:
        if len(_BASES) >= _BASES_MAX:
            _BASES.clear()
        found = _BASES[key] = build()
    return found


def _detail_base(qs: QuerySet[Asset], *, full_names: bool) -> tuple[str, tuple]:
    name = "name" if full_names else "public_name"
    sql, params = qs.order_by().values("id", "code", name, "category", "asset_type", "status", "geom_web") \
        .query.sql_with_params()
    return sql, tuple(params)


def _detail_statement(base: tuple[str, tuple], live: tuple[str, tuple], tile: TileId, *,
                      full_names: bool) -> tuple[str, tuple]:
    """Detail tile with the density check (a count capped at MAX_DETAIL_FEATURES + 1) and the fallback to live
    clusters, in one statement with columns (tile, mode). The fallback runs only when needed (an InitPlan is
    evaluated on first use)."""
    name = "name" if full_names else "public_name"
    sql, params = base
    fallback, fallback_params = _clusters_statement(clusters.live_source(live, tile), tile)
    margin = BUFFER / EXTENT
    statement = f"""
        WITH b AS MATERIALIZED (
            SELECT * FROM ({sql}) a WHERE a.geom_web && ST_TileEnvelope(%s, %s, %s, margin => %s)
            LIMIT {int(MAX_DETAIL_FEATURES) + 1}
        ),
        d AS MATERIALIZED (
            SELECT CASE WHEN (SELECT count(*) FROM b) <= {int(MAX_DETAIL_FEATURES)} THEN coalesce((
                SELECT ST_AsMVT(t, 'assets', {EXTENT}, 'geom', 'id') FROM (
                    SELECT b.id, b.code, b.{name} AS name, b.category, b.asset_type AS type, b.status,
                           ST_AsMVTGeom(b.geom_web, ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
                    FROM b
                ) t WHERE t.geom IS NOT NULL), ''::bytea) END AS mvt
        )
        SELECT CASE WHEN d.mvt IS NOT NULL AND length(d.mvt) <= {int(MAX_TILE_BYTES)} THEN d.mvt
                    ELSE ({fallback}) END AS tile,
               CASE WHEN d.mvt IS NOT NULL AND length(d.mvt) <= {int(MAX_TILE_BYTES)} THEN 'detail'
                    ELSE 'clusters' END AS mode
        FROM d"""  # noqa: S608 - base is Django-compiled SQL, values are parameters
    return statement, (*params, tile.z, tile.x, tile.y, margin, tile.z, tile.x, tile.y, *fallback_params)


def asset_tile_query(tile: TileId, *, user, filters: AssetFilters) -> TileQuery:
    """The statement of the assets tile a user sees with these filters (what the tile view runs)."""
    scope = scope_for(user)

    def visible():
        return asset_filters_apply(Asset.objects.visible_to(user), filters)

    live = _cached(("live", scope, filters), lambda: clusters.live_base(visible()))
    if tile.z >= DETAIL_MIN_ZOOM:
        full_names = scope.sees_personal_data
        base = _cached(("detail", scope, filters, full_names), lambda: _detail_base(visible(), full_names=full_names))
        sql, params = _detail_statement(base, live, tile, full_names=full_names)
        return TileQuery(_versioned(sql, data_kind(filters)), params, Asset, "detail")
    table = _cached(("table", scope, filters), lambda: (clusters.precomputed_base(scope.assets_q(for_edit=False),
                                                                                 filters),))[0]
    source = clusters.precomputed_source(table, tile) if table is not None else None
    mode = "precomputed" if source is not None else "clusters"
    sql, params = _clusters_statement(source or clusters.live_source(live, tile), tile)
    return TileQuery(_versioned(f"SELECT ({sql}) AS tile", data_kind(filters), mode_sql="'clusters'"), params, Asset,
                     mode)


def area_tile_query(*, level: str, tile: TileId, parent_codes: tuple[str, ...] = ()) -> TileQuery:
    """Boundaries of one level plus, from the level's LABEL_MIN_ZOOM on (where the map draws names), a label-point
    layer `<level>_labels` (one point per area).

    Label points are kept up to a quarter tile (64 px, more than half the widest name) outside the tile, so a tile
    also knows the labels that reach into it from its neighbours and the client never cuts a name at a tile edge.

    Up to OUTLINE_MAX_ZOOM the boundaries are the precomputed outlines of the tile's zoom (layers.models.AreaOutline:
    the level's coverage simplified edge by edge to half a pixel, so neighbours still share their edges) and the
    label points the outline's stored ST_PointOnSurface of the full boundary; an area without an outline row gets its
    full boundary. From DETAIL_MIN_ZOOM on, the full boundary: the statement is the one before outlines existed."""
    labels = tile.z >= LABEL_MIN_ZOOM.get(level, 0)
    label_buffer = EXTENT // 4
    layer = "townships" if level == "township" else "villages"
    margin = (label_buffer if labels else BUFFER) / EXTENT
    qs = AdminArea.objects.filter(level=level, geom_web__bboverlaps=tile.envelope(margin))
    if parent_codes:
        qs = qs.filter(parent__code__in=parent_codes)
    if tile.z <= OUTLINE_MAX_ZOOM:
        base, params = _compiled(qs, "id", "code", "name", "parent__code", "geom_web")
        base = f"""
            SELECT a.code, a.name, a.parent__code, coalesce(o.geom_web, a.geom_web) AS geom_web,
                   coalesce(o.label, ST_PointOnSurface(a.geom_web)) AS label
            FROM ({base}) a LEFT JOIN {AreaOutline._meta.db_table} o
              ON o.area_id = a.id AND o.zoom = %s"""  # noqa: S608 - Django-compiled SQL and a constant
        params = (*params, max(tile.z, OUTLINE_MIN_ZOOM))
        label = "b.label"
    else:
        base, params = _compiled(qs, "code", "name", "parent__code", "geom_web")
        label = "ST_PointOnSurface(b.geom_web)"
    label_sql = f"""
          ||
          coalesce((SELECT ST_AsMVT(l, '{layer}_labels', {EXTENT}, 'geom') FROM (
              SELECT b.code, b.name,
                     ST_AsMVTGeom({label}, ST_TileEnvelope(%s, %s, %s), {EXTENT},
                                  {label_buffer}, true)
                     AS geom
              FROM b) l WHERE l.geom IS NOT NULL), ''::bytea)"""  # noqa: S608 - constants
    sql = f"""
        WITH b AS ({base})
        SELECT
          coalesce((SELECT ST_AsMVT(t, '{layer}', {EXTENT}, 'geom') FROM (
              SELECT b.code, b.name, b.parent__code AS parent,
                     ST_AsMVTGeom(b.geom_web, ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
              FROM b) t WHERE t.geom IS NOT NULL), ''::bytea){label_sql if labels else ""} AS tile"""  # noqa: S608
    params = (*params, tile.z, tile.x, tile.y, *((tile.z, tile.x, tile.y) if labels else ()))
    return TileQuery(_versioned(sql, "areas", mode_sql="'areas'"), params, AdminArea, "areas")


def tile_fetch(query: TileQuery) -> tuple[bytes, str, str]:
    """Run a tile statement: (tile bytes, "detail" | "clusters" | "areas", data version)."""
    tile, mode, version = read_fetch(query.model, query.sql, query.params)
    return (bytes(tile) if tile is not None else b""), mode, version


def _fetch(sql: str, params: tuple, model=Asset) -> bytes:
    row = read_fetch(model, sql, params)
    return bytes(row[0]) if row and row[0] is not None else b""


# Live tiles of any queryset (bench_tiles, tests): the same SQL as the view's, without the precomputed table.

def tile_assets(qs: QuerySet[Asset], tile: TileId, *, full_names: bool = False) -> tuple[bytes, str]:
    """The assets tile of a role-scoped, filtered queryset; returns (bytes, "detail" | "clusters").
    Without full_names (the public) features carry the public name (geo_assets.privacy)."""
    if tile.z >= DETAIL_MIN_ZOOM:
        sql, params = _detail_statement(_detail_base(qs, full_names=full_names), clusters.live_base(qs), tile,
                                        full_names=full_names)
        with read_cursor(Asset) as cursor:
            cursor.execute(sql, params)
            data, mode = cursor.fetchone()
        return bytes(data), mode
    return tile_assets_clusters(qs, tile), "clusters"


def tile_assets_clusters(qs: QuerySet[Asset], tile: TileId) -> bytes:
    """Grid clusters aggregated live from the queryset (CLUSTER_CELLS² cells per tile)."""
    return _fetch(*_clusters_statement(clusters.live_source(clusters.live_base(qs), tile), tile))


def tile_areas(*, level: str, tile: TileId, parent_codes: tuple[str, ...] = ()) -> bytes:
    return tile_fetch(area_tile_query(level=level, tile=tile, parent_codes=parent_codes))[0]


def view_clusters(*, user, filters: AssetFilters, z: int, x0: int, y0: int, x1: int, y1: int) -> str | None:
    """The cluster tiles (x0..x1, y0..y1) of zoom z < DETAIL_MIN_ZOOM as ONE JSON document (text), for the map to
    draw a view's clusters from one request: `{"z", "clusters": [[count, category, x, y], ...]}` with x, y the
    cluster's point in EPSG:3857 metres. The same rows of the precomputed table, grouped the same way, as the
    tiles' (layers.clusters; a cluster of a cell cut by the view's edge is whole). None when the table cannot
    express the scope and filters (the map then keeps the tiles, which aggregate such filters live)."""
    scope = scope_for(user)
    table = _cached(("table", scope, filters), lambda: (clusters.precomputed_base(scope.assets_q(for_edit=False),
                                                                                 filters),))[0]
    ranges = clusters.precomputed_ranges(table, z, [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]) \
        if table is not None else None
    if ranges is None:
        return None
    (sql, params), shift, level, grain, lows, highs = table[:2], *ranges
    statement = f"""
        WITH r AS MATERIALIZED (
            SELECT b.cell >> %s AS cell, b.category, sum(b.n) AS n, sum(b.sum_x) AS sx, sum(b.sum_y) AS sy
            FROM ({sql}) b JOIN unnest(%s::bigint[], %s::bigint[]) AS v(lo, hi) ON b.cell >= v.lo AND b.cell < v.hi
            WHERE b.level = %s AND b.grain = %s
            GROUP BY 1, 2
        ), g AS (
            SELECT r.cell, sum(r.n)::bigint AS count, sum(r.sx) AS sx, sum(r.sy) AS sy,
                   (array_agg(r.category ORDER BY r.n DESC, r.category))[1] AS category
            FROM r GROUP BY r.cell HAVING sum(r.n) > 0
        )
        SELECT json_build_object('z', %s::int, 'clusters', coalesce(json_agg(json_build_array(
                   g.count, g.category, round((g.sx::float8 / g.count / 100 - %s::float8)::numeric, 1),
                   round((%s::float8 - g.sy::float8 / g.count / 100)::numeric, 1)) ORDER BY g.cell), '[]'))::text
        FROM g"""  # noqa: S608 - Django-compiled SQL, values are parameters
    with read_cursor(Asset) as cursor:
        cursor.execute(statement, (shift, *params, lows, highs, level, grain, z, WORLD, WORLD))
        return cursor.fetchone()[0]


def data_version(kind: str) -> str:
    """Changes whenever the data behind a layer changes: newest history row and newest row id.

    Every write through geo_assets.services leaves a history row (simple_history), so max(history_id) moves on
    each insert/update; max(id) also catches rows bulk-loaded without history. Both are index look-ups.
    """
    with read_cursor(AdminArea if kind == "areas" else Asset) as cursor:
        cursor.execute(f"SELECT {_version_sql(kind)}")  # noqa: S608 - table names are constants
        return cursor.fetchone()[0]
