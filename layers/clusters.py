"""Cluster tiles: one point per grid cell (8 × 8 cells per tile) with the count, label and dominant category.

Two sources feed one SQL tail (`clusters_sql`), so they agree to the byte:

* **precomputed** — layers.models.AssetCluster, kept exact by triggers (layers/migrations/0001_initial.py): counts
  and centre sums per cell of a stored grid and per dimension. A tile at zoom z ≤ FINE_LEVEL reads one contiguous
  range of Morton cell indices of the coarsest stored level ≥ z whose grain keeps the dimensions the caller's
  scope and filters use, and groups by `cell >> 2k`. Used for every role scope and filter it can express
  (`precomputed_base` returns None otherwise).
* **live** — the role-scoped, filtered asset queryset, aggregated per request: the `verified` filter, anything
  unforeseen, and dense tiles at detail zooms (z ≥ DETAIL_MIN_ZOOM, finer than the stored grid).

A cell is `floor((x + WORLD) / size)`, `floor((WORLD − y) / size)` of the asset's centre (ST_Centroid of
`geom_web`), with sizes that are powers of two apart, so a coarse cell is exactly a fine cell shifted right; the
point drawn is the mean centre (sums in centimetres, integers) and the category the most frequent one (ties: the
first by name, as `mode()` did).
"""

import dataclasses

from django.db.models import Q, QuerySet

from geo_assets.filters import AssetFilters, asset_filters_apply
from geo_assets.models import Asset
from layers.models import AssetCluster

WORLD = 20037508.342789244
CELL_BITS = 3  # 8 × 8 cells per tile (registry.CLUSTER_CELLS); live_source's cell index assumes 3
# Frozen in migration 0001 (the triggers): the finest stored tile zoom, what each grain keeps besides township,
# category and published — (village, asset type, status and year built) — and the grains stored on each level.
FINE_LEVEL = 11
GRAINS = {0: (False, False, False), 1: (True, True, False), 2: (True, True, True), 3: (False, False, True)}
LEVEL_GRAINS = ((11, (0, 1, 2, 3)), (8, (0, 1, 2, 3)), (6, (0, 3)))
LEVELS = tuple(level for level, _grains in LEVEL_GRAINS)
# Preference when several grains keep what a tile needs: 0 (fewest rows: 3.7k at level 8 on the province) before
# the others (1 and 3 never both fit a need that 0 does not), 2 (all dimensions: 409k rows at level 8) last.
GRAIN_ORDER = (0, 3, 1, 2)
DIMENSIONS = ("village", "type", "status_year")

# Scope filters (geo_assets.access.Scope.assets_q) the table can express, and the dimension each needs.
SCOPE_LOOKUPS = {"asset_type__in": "type", "township_id": None, "village_id": "village", "is_published": None,
                 "county": None, "county__in": None}  # a county: its townships (_on_table)
# AssetFilters fields the table can express, and the dimension each needs; any other field set → live.
FILTER_DIMENSIONS = {"townships": None, "villages": "village", "categories": None, "types": "type",
                     "statuses": "status_year", "year_min": "status_year", "year_max": "status_year"}


def morton(x: int, y: int) -> int:
    """Interleave the bits of x (even positions) and y (odd): the SQL function layers_morton."""
    result = 0
    for bit in range(max(x.bit_length(), y.bit_length())):
        result |= ((x >> bit) & 1) << (2 * bit) | ((y >> bit) & 1) << (2 * bit + 1)
    return result


def cell_size(z: int) -> float:
    """Side of a cluster cell of a zoom-z tile in EPSG:3857 metres (exact power-of-two fractions of the world)."""
    return 2 * WORLD / 2 ** (z + CELL_BITS)


def _scope_needs(q: Q | None) -> set | None:
    """The dimensions a role scope needs, or None if the table cannot express it."""
    if q is None:
        return set()
    if q.negated or q.connector != Q.AND:
        return None
    needs = set()
    for child in q.children:
        if not isinstance(child, tuple) or child[0] not in SCOPE_LOOKUPS:
            return None
        needs.add(SCOPE_LOOKUPS[child[0]])
    return needs - {None}


def _filters_needs(filters: AssetFilters) -> set | None:
    needs = set()
    for field in dataclasses.fields(filters):
        if getattr(filters, field.name) == field.default:
            continue
        if field.name not in FILTER_DIMENSIONS:
            return None
        needs.add(FILTER_DIMENSIONS[field.name])
    return needs - {None}


def _grains_for(needs: set) -> list[int]:
    return [g for g in GRAIN_ORDER if needs <= {d for d, kept in zip(DIMENSIONS, GRAINS[g], strict=True) if kept}]


def _on_table(q: Q) -> Q:
    """A scope filter (an AND of SCOPE_LOOKUPS) on the table's columns: the county by the townships in it."""
    from geo_assets.models import AdminArea
    from geo_assets.taxonomy import AreaLevel

    children = []
    for name, value in q.children:
        if name in ("county", "county__in"):
            codes = [value] if name == "county" else list(value)
            name, value = "township_id__in", AdminArea.objects.filter(
                level=AreaLevel.TOWNSHIP, parent__code__in=codes).values("pk")
        children.append((name, value))
    return Q(*children)


def precomputed_base(scope_q: Q | None, filters: AssetFilters) -> tuple[str, tuple, tuple[int, ...]] | None:
    """The table's rows a scope and filters select, as SQL (any level, grain and cell), and the grains that keep
    what they need, fewest rows first; None when the table cannot express them. Independent of the tile, so
    callers may cache it."""
    scope_needs, filters_needs = _scope_needs(scope_q), _filters_needs(filters)
    if scope_needs is None or filters_needs is None:
        return None
    qs = AssetCluster.objects.all()
    if scope_q is not None:
        qs = qs.filter(_on_table(scope_q))
    qs = asset_filters_apply(qs, filters)  # the filters' one definition, on the table's same-named columns
    sql, params = qs.order_by().values("level", "grain", "cell", "category", "n", "sum_x", "sum_y").query.sql_with_params()
    return sql, tuple(params), tuple(_grains_for(scope_needs | filters_needs))


def precomputed_source(base: tuple[str, tuple, tuple[int, ...]], tile) -> tuple[str, tuple] | None:
    """Rows (cell, category, n, sx, sy) of the tile's cells from the table: one range of Morton indices of the
    coarsest stored level ≥ z that has a suitable grain, grouped by the tile's cells. None above the finest level."""
    sql, params, grains = base
    choices = sorted((level, GRAIN_ORDER.index(g), g) for level, kept in LEVEL_GRAINS if level >= tile.z
                     for g in kept if g in grains)
    if not choices:
        return None
    level, _rank, grain = choices[0]
    shift = 2 * (level - tile.z)
    first = morton(tile.x, tile.y) << (shift + 2 * CELL_BITS)
    last = first + (1 << (shift + 2 * CELL_BITS))
    return f"""
        SELECT b.cell >> %s AS cell, b.category, sum(b.n) AS n, sum(b.sum_x) AS sx, sum(b.sum_y) AS sy
        FROM ({sql}) b
        WHERE b.level = %s AND b.grain = %s AND b.cell >= %s AND b.cell < %s
        GROUP BY 1, 2""", (shift, *params, level, grain, first, last)  # noqa: S608 - Django-compiled SQL


def precomputed_ranges(base: tuple[str, tuple, tuple[int, ...]], z: int, tiles: list[tuple[int, int]]):
    """For several tiles of zoom z at once (precomputed_source's choice of level and grain): (shift, level, grain,
    lows, highs) — each tile's range of Morton cell indices; None above the finest level."""
    _sql, _params, grains = base
    choices = sorted((level, GRAIN_ORDER.index(g), g) for level, kept in LEVEL_GRAINS if level >= z
                     for g in kept if g in grains)
    if not choices:
        return None
    level, _rank, grain = choices[0]
    shift = 2 * (level - z)
    lows = [morton(x, y) << (shift + 2 * CELL_BITS) for x, y in tiles]
    return shift, level, grain, lows, [low + (1 << (shift + 2 * CELL_BITS)) for low in lows]


def live_base(qs: QuerySet[Asset]) -> tuple[str, tuple]:
    sql, params = qs.order_by().values("category", "geom_web").query.sql_with_params()
    return sql, tuple(params)


def live_source(base: tuple[str, tuple], tile) -> tuple[str, tuple]:
    """Rows (cell, category, n, sx, sy) of the tile's cells aggregated from the assets themselves."""
    sql, params = base
    size = cell_size(tile.z)
    statement = f"""
        SELECT %s + ((p.cx & 1) | ((p.cx & 2) << 1) | ((p.cx & 4) << 2))
                  + (((p.cy & 1) | ((p.cy & 2) << 1) | ((p.cy & 4) << 2)) << 1) AS cell,
               p.category, count(*) AS n, sum(p.px) AS sx, sum(p.py) AS sy
        FROM (
            SELECT b.category,
                   floor((ST_X(c.c) + %s::float8) / %s::float8)::bigint AS cx,
                   floor((%s::float8 - ST_Y(c.c)) / %s::float8)::bigint AS cy,
                   round((ST_X(c.c) + %s::float8) * 100)::bigint AS px,
                   round((%s::float8 - ST_Y(c.c)) * 100)::bigint AS py
            FROM ({sql}) b CROSS JOIN LATERAL (SELECT ST_Centroid(b.geom_web) AS c OFFSET 0) c
            WHERE b.geom_web && ST_TileEnvelope(%s, %s, %s) AND NOT ST_IsEmpty(c.c)
            OFFSET 0
        ) p
        WHERE p.cx >> {CELL_BITS} = %s AND p.cy >> {CELL_BITS} = %s
        GROUP BY 1, 2"""  # noqa: S608 - Django-compiled SQL, values are parameters
    # the cell's Morton index: the tile's own, then the 3 bits of the column and row inside it, interleaved
    prefix = morton(tile.x, tile.y) << (2 * CELL_BITS)
    return statement, (prefix, WORLD, size, WORLD, size, WORLD, WORLD, *params, tile.z, tile.x, tile.y, tile.x,
                       tile.y)


def clusters_sql(source: tuple[str, tuple], tile, extent: int) -> tuple[str, tuple]:
    """The `clusters` tile (count, label, category per occupied cell) from either source."""
    sql, params = source
    return f"""
        WITH r AS MATERIALIZED ({sql}),
        g AS (
            SELECT r.cell, sum(r.n)::bigint AS count, sum(r.sx) AS sx, sum(r.sy) AS sy,
                   (array_agg(r.category ORDER BY r.n DESC, r.category))[1] AS category
            FROM r GROUP BY r.cell HAVING sum(r.n) > 0
        )
        SELECT coalesce(ST_AsMVT(t, 'clusters', {extent}, 'geom'), ''::bytea) FROM (
            SELECT g.count, g.count::text AS label, g.category,
                   ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(g.sx::float8 / g.count / 100 - %s::float8,
                                                        %s::float8 - g.sy::float8 / g.count / 100), 3857),
                                ST_TileEnvelope(%s, %s, %s), {extent}, 0, true) AS geom
            FROM g ORDER BY g.cell
        ) t WHERE t.geom IS NOT NULL""", (*params, WORLD, WORLD, tile.z, tile.x, tile.y)  # noqa: S608
