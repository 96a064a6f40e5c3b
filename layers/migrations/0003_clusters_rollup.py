"""The clusters' delta summed once at the finest cell, then rolled up (issue 22).

Migration 0001's delta crosses every changed asset with the 10 (level, grain) pairs and groups the result: 10 rows
per asset into one sort. Here the assets are first summed per finest cell (level 11) and every dimension, then those
sums are crossed with the pairs and grouped again. The sums are integers, so the rows are the same
(tests/layers/test_clusters.py compares them with 0001's query); an import of 100 000 points groups ~10× fewer rows.
The trigger functions and layers_clusters_rebuild() are replaced; the triggers stay as they are.
"""

import importlib

from django.db import migrations

initial = importlib.import_module("layers.migrations.0001_initial")
FINE_LEVEL, GRAINS, LEVEL_GRAINS = initial.FINE_LEVEL, initial.GRAINS, initial.LEVEL_GRAINS
WORLD, CELL, SIDE, COLUMNS, KEY = initial.WORLD, initial.CELL, initial.SIDE, initial.COLUMNS, initial.KEY
DIMENSIONS = "township_id, village_id, category, asset_type, is_published, status, year_built"


def _delta(source: str) -> str:
    """Signed counts per (level, grain, cell, dimensions) of `source` rows (d = +1 or -1, asset columns)."""
    kept = ", ".join(f"({level}, {grain}, {', '.join(str(k).lower() for k in GRAINS[grain])})"
                     for level, grains in LEVEL_GRAINS for grain in grains)
    return f"""
    SELECT g.level, g.grain, f.m >> (2 * ({FINE_LEVEL} - g.level)) AS cell, f.township_id,
           CASE WHEN g.village THEN f.village_id END, f.category,
           CASE WHEN g.type THEN f.asset_type END, f.is_published,
           CASE WHEN g.status_year THEN f.status END, CASE WHEN g.status_year THEN f.year_built END,
           sum(f.n)::int, sum(f.sx)::bigint, sum(f.sy)::bigint
    FROM (
        SELECT k.m, {", ".join("a." + d for d in DIMENSIONS.split(", "))},
               sum(a.d) AS n, sum(a.d * p.px) AS sx, sum(a.d * p.py) AS sy
        FROM ({source}) a
        CROSS JOIN LATERAL (SELECT ST_Centroid(a.geom_web) AS c OFFSET 0) c
        CROSS JOIN LATERAL (
            SELECT floor((ST_X(c.c) + {WORLD}::float8) / {CELL}::float8)::bigint AS cx,
                   floor(({WORLD}::float8 - ST_Y(c.c)) / {CELL}::float8)::bigint AS cy,
                   round((ST_X(c.c) + {WORLD}::float8) * 100)::bigint AS px,
                   round(({WORLD}::float8 - ST_Y(c.c)) * 100)::bigint AS py
            OFFSET 0) p
        CROSS JOIN LATERAL (SELECT layers_morton(p.cx, p.cy) AS m OFFSET 0) k
        WHERE NOT ST_IsEmpty(c.c) AND p.cx >= 0 AND p.cx < {SIDE} AND p.cy >= 0 AND p.cy < {SIDE}
        GROUP BY k.m, {", ".join("a." + d for d in DIMENSIONS.split(", "))}) f
    CROSS JOIN (VALUES {kept}) g(level, grain, village, type, status_year)
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    HAVING sum(f.n) <> 0 OR sum(f.sx) <> 0 OR sum(f.sy) <> 0"""


def _upsert(source: str) -> str:
    return f"""
    INSERT INTO layers_assetcluster AS t ({COLUMNS})
    {_delta(source)}
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT ({KEY}) DO UPDATE
    SET n = t.n + excluded.n, sum_x = t.sum_x + excluded.sum_x, sum_y = t.sum_y + excluded.sum_y"""


def _trigger_function(name: str, source: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_upsert(source)};
  RETURN NULL;
END $$;
"""


def _rebuild(delta) -> str:
    return f"""
CREATE OR REPLACE FUNCTION layers_clusters_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE written bigint;
BEGIN
  -- writers wait (their triggers would race the rebuild); readers keep reading the old rows until commit
  LOCK TABLE geo_assets_asset IN SHARE MODE;
  PERFORM set_config('work_mem', '256MB', true);
  DELETE FROM layers_assetcluster;
  INSERT INTO layers_assetcluster ({COLUMNS})
  {delta(initial._source(1, "geo_assets_asset"))}
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END $$;
"""


_src = initial._source
FUNCTIONS = [
    _trigger_function("layers_clusters_inserted", _src(1, "new_rows")),
    _trigger_function("layers_clusters_updated", f"{_src(-1, 'old_rows')} UNION ALL {_src(1, 'new_rows')}"),
    _trigger_function("layers_clusters_deleted", _src(-1, "old_rows")),
    _rebuild(_delta),
]
BACKWARD = [
    initial._trigger_function("layers_clusters_inserted", _src(1, "new_rows")),
    initial._trigger_function("layers_clusters_updated", f"{_src(-1, 'old_rows')} UNION ALL {_src(1, 'new_rows')}"),
    initial._trigger_function("layers_clusters_deleted", _src(-1, "old_rows")),
    _rebuild(initial._delta),
]


class Migration(migrations.Migration):

    dependencies = [
        ("layers", "0002_area_outlines"),
    ]

    operations = [migrations.RunSQL(sql=FUNCTIONS, reverse_sql=BACKWARD)]
