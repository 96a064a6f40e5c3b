"""Precomputed low-zoom clusters (issue 11): the table, the SQL that maintains it and its first build.

Statement-level AFTER triggers with transition tables add the inserted assets, subtract the old and add the new
version of updated ones (and subtract deleted ones, should a DELETE ever get past the register's refusal); TRUNCATE
empties the table. layers_clusters_rebuild() recomputes everything (`manage.py clusters_rebuild`).
The constants below are frozen here; layers/clusters.py holds the same values for the reader.
"""

import django.db.models.deletion
from django.db import migrations, models

WORLD = 20037508.342789244  # half the EPSG:3857 world, metres
FINE_LEVEL = 11  # finest tile zoom served from the table (DETAIL_MIN_ZOOM - 1)
# Which dimensions a grain keeps besides township, category and published: (village, type, status + year built).
GRAINS = {0: (False, False, False), 1: (True, True, False), 2: (True, True, True), 3: (False, False, True)}
# Stored grids (8 × 8 cells per tile of the zoom) and the grains kept on each; a tile reads the coarsest level ≥ its
# zoom that has the grain it needs.
LEVEL_GRAINS = ((11, (0, 1, 2, 3)), (8, (0, 1, 2, 3)), (6, (0, 3)))
LEVELS = tuple(level for level, _grains in LEVEL_GRAINS)
FINE_BITS = FINE_LEVEL + 3
CELL = repr(2 * WORLD / 2**FINE_BITS)
SIDE = 2**FINE_BITS

# Morton (z-order) index of (x, y) for x, y < 2^24: the bits of each byte spread out by a lookup table.
SPREAD = "('{" + ",".join(str(sum(((b >> i) & 1) << (2 * i) for i in range(8))) for b in range(256)) + "}'::bigint[])"


def _spread(v: str) -> str:
    return (f"({SPREAD}[({v} & 255) + 1] | ({SPREAD}[(({v} >> 8) & 255) + 1] << 16)"
            f" | ({SPREAD}[(({v} >> 16) & 255) + 1] << 32))")


MORTON = f"""
CREATE OR REPLACE FUNCTION layers_morton(x bigint, y bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {_spread('x')} | ({_spread('y')} << 1) $$;
"""

KEY = "level, grain, cell, township_id, village_id, category, asset_type, is_published, status, year_built"
COLUMNS = f"{KEY}, n, sum_x, sum_y"


def _delta(source: str) -> str:
    """Signed counts per (level, grain, cell, dimensions) of `source` rows (d = +1 or -1, asset columns)."""
    kept = ", ".join(f"({level}, {grain}, {', '.join(str(k).lower() for k in GRAINS[grain])})"
                     for level, grains in LEVEL_GRAINS for grain in grains)
    return f"""
    SELECT g.level, g.grain, k.m >> (2 * ({FINE_LEVEL} - g.level)) AS cell, a.township_id,
           CASE WHEN g.village THEN a.village_id END, a.category,
           CASE WHEN g.type THEN a.asset_type END, a.is_published,
           CASE WHEN g.status_year THEN a.status END, CASE WHEN g.status_year THEN a.year_built END,
           sum(a.d)::int, sum(a.d * p.px)::bigint, sum(a.d * p.py)::bigint
    FROM ({source}) a
    CROSS JOIN LATERAL (SELECT ST_Centroid(a.geom_web) AS c OFFSET 0) c
    CROSS JOIN LATERAL (
        SELECT floor((ST_X(c.c) + {WORLD}::float8) / {CELL}::float8)::bigint AS cx,
               floor(({WORLD}::float8 - ST_Y(c.c)) / {CELL}::float8)::bigint AS cy,
               round((ST_X(c.c) + {WORLD}::float8) * 100)::bigint AS px,
               round(({WORLD}::float8 - ST_Y(c.c)) * 100)::bigint AS py
        OFFSET 0) p
    CROSS JOIN LATERAL (SELECT layers_morton(p.cx, p.cy) AS m OFFSET 0) k
    CROSS JOIN (VALUES {kept}) g(level, grain, village, type, status_year)
    WHERE NOT ST_IsEmpty(c.c) AND p.cx >= 0 AND p.cx < {SIDE} AND p.cy >= 0 AND p.cy < {SIDE}
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    HAVING sum(a.d) <> 0 OR sum(a.d * p.px) <> 0 OR sum(a.d * p.py) <> 0"""


def _source(sign: int, table: str) -> str:
    return (f"SELECT {sign} AS d, township_id, village_id, category, asset_type, status, is_published, year_built, "
            f"geom_web FROM {table}")


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


FUNCTIONS = [
    MORTON,
    _trigger_function("layers_clusters_inserted", _source(1, "new_rows")),
    _trigger_function("layers_clusters_updated",
                      f"{_source(-1, 'old_rows')} UNION ALL {_source(1, 'new_rows')}"),
    _trigger_function("layers_clusters_deleted", _source(-1, "old_rows")),
    """
CREATE OR REPLACE FUNCTION layers_clusters_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM layers_assetcluster;
  RETURN NULL;
END $$;
""",
    f"""
CREATE OR REPLACE FUNCTION layers_clusters_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE written bigint;
BEGIN
  -- writers wait (their triggers would race the rebuild); readers keep reading the old rows until commit
  LOCK TABLE geo_assets_asset IN SHARE MODE;
  PERFORM set_config('work_mem', '256MB', true);
  DELETE FROM layers_assetcluster;
  INSERT INTO layers_assetcluster ({COLUMNS})
  {_delta(_source(1, "geo_assets_asset"))}
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END $$;
""",
]

TRIGGERS = [
    "CREATE TRIGGER layers_clusters_insert AFTER INSERT ON geo_assets_asset REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION layers_clusters_inserted();",
    "CREATE TRIGGER layers_clusters_update AFTER UPDATE ON geo_assets_asset "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION layers_clusters_updated();",
    "CREATE TRIGGER layers_clusters_delete AFTER DELETE ON geo_assets_asset REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION layers_clusters_deleted();",
    "CREATE TRIGGER layers_clusters_truncate AFTER TRUNCATE ON geo_assets_asset "
    "FOR EACH STATEMENT EXECUTE FUNCTION layers_clusters_truncated();",
]

BACKWARD = [
    f"DROP TRIGGER IF EXISTS layers_clusters_{event} ON geo_assets_asset;"
    for event in ("insert", "update", "delete", "truncate")
] + [
    f"DROP FUNCTION IF EXISTS {name}();"
    for name in ("layers_clusters_inserted", "layers_clusters_updated", "layers_clusters_deleted",
                 "layers_clusters_truncated", "layers_clusters_rebuild")
] + ["DROP FUNCTION IF EXISTS layers_morton(bigint, bigint);"]


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('geo_assets', '0008_attachment_history'),
    ]

    operations = [
        migrations.CreateModel(
            name='AssetCluster',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.PositiveSmallIntegerField()),
                ('grain', models.PositiveSmallIntegerField()),
                ('cell', models.BigIntegerField()),
                ('category', models.CharField(max_length=20)),
                ('asset_type', models.CharField(max_length=20, null=True)),
                ('is_published', models.BooleanField()),
                ('status', models.CharField(max_length=20, null=True)),
                ('year_built', models.PositiveSmallIntegerField(null=True)),
                ('n', models.IntegerField(help_text='assets whose centre lies in the cell')),
                ('sum_x', models.BigIntegerField(help_text="sum of the centres' x + WORLD, in cm (EPSG:3857)")),
                ('sum_y', models.BigIntegerField(help_text="sum of the centres' WORLD − y, in cm (EPSG:3857)")),
                ('township', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.adminarea')),
                ('village', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.adminarea')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('level', 'grain', 'cell', 'township', 'village', 'category', 'asset_type', 'is_published', 'status', 'year_built'), name='assetcluster_key', nulls_distinct=False)],
            },
        ),
        migrations.RunSQL(sql=FUNCTIONS + TRIGGERS + ["SELECT layers_clusters_rebuild();", "ANALYZE layers_assetcluster;"],
                          reverse_sql=BACKWARD),
    ]
