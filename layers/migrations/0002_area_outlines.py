"""Simplified boundaries for the low-zoom boundary tiles (issue 11): the table, the SQL that keeps it and its build.

At z ≤ 11 a village's ~2,000 vertices fall within a few pixels, yet the boundary tiles carried all of them (1.6 MB
of the 1.8 MB the province's first view transferred). `layers_areaoutline` holds, per area and per zoom
OUTLINE_MIN_ZOOM..OUTLINE_MAX_ZOOM, the boundary simplified to OUTLINE_TOLERANCE_PX of a pixel of that zoom.

Neighbours must keep one common edge, so each level's coverage is simplified *edge by edge*: every boundary segment
is matched with the identical segment of the neighbour sharing it (the areas of a level share vertices), the
segments of each pair of areas (or of one area alone, on the outer edge) are merged into chains, every chain is
simplified once (ST_SimplifyPreserveTopology, endpoints kept) and each area is rebuilt from its simplified chains
(ST_BuildArea). PostGIS 3.3 has no ST_CoverageSimplify. An area whose rebuilt outline is not a valid polygon falls
back to its own ST_SimplifyPreserveTopology (then to the full boundary).

Statement-level triggers on geo_assets_adminarea rebuild the rows of the inserted, changed or deleted areas and of
the areas of the same level whose boxes touch theirs (their shared edges changed), in the same transaction.
`SELECT layers_outlines_rebuild()` rebuilds everything. Constants are frozen here; layers/registry.py holds the same
values for the reader (layers/tiles.py).
"""

import django.contrib.gis.db.models.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models

WORLD = 20037508.342789244  # half the EPSG:3857 world, metres
OUTLINE_MIN_ZOOM = 6  # tiles below read this zoom's outlines
OUTLINE_MAX_ZOOM = 11  # DETAIL_MIN_ZOOM - 1: from z12 on the tiles carry the full boundary, as before
OUTLINE_TOLERANCE_PX = 0.5  # of a 256-px tile's pixel at the zoom
ZOOMS = ", ".join(f"({z}, {OUTLINE_TOLERANCE_PX * 2 * WORLD / 256 / 2**z!r}::float8)"
                  for z in range(OUTLINE_MIN_ZOOM, OUTLINE_MAX_ZOOM + 1))

BUILD = f"""
CREATE OR REPLACE FUNCTION layers_outlines_build(targets bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE written bigint;
BEGIN
  DELETE FROM layers_areaoutline WHERE area_id = ANY(targets);
  INSERT INTO layers_areaoutline (area_id, zoom, geom_web, label)
  WITH t AS (
    SELECT id, level, geom_web FROM geo_assets_adminarea WHERE id = ANY(targets)
  ),
  -- the targets and the areas of their level whose boxes touch theirs: the only ones that can share an edge
  nb AS (
    SELECT t.id, t.level, t.geom_web FROM t
    UNION ALL
    SELECT a.id, a.level, a.geom_web FROM geo_assets_adminarea a
    WHERE a.id <> ALL(targets) AND EXISTS (SELECT 1 FROM t WHERE t.level = a.level AND t.geom_web && a.geom_web)
  ),
  seg AS (
    SELECT nb.id, nb.level, ST_AsBinary(ST_Normalize(s.geom)) AS k
    FROM nb CROSS JOIN LATERAL ST_DumpSegments(nb.geom_web) s
  ),
  -- each distinct segment once, with the areas having it (two for a shared edge)
  keyed AS (
    SELECT level, k, array_agg(id ORDER BY id) AS ids FROM seg GROUP BY level, k HAVING bool_or(id = ANY(targets))
  ),
  -- the chain a segment belongs to: (a, b) shared by exactly two areas, else (a, NULL) for each area having it
  sides AS (
    SELECT level, k, i AS a, CASE WHEN cardinality(ids) = 2 THEN ids[2] END AS b
    FROM keyed CROSS JOIN LATERAL unnest(CASE WHEN cardinality(ids) = 2 THEN ids[1:1] ELSE ids END) i
  ),
  chains AS (
    SELECT c.a, c.b, ST_Normalize(d.geom) AS line
    FROM (SELECT a, b, ST_LineMerge(ST_Collect(ST_GeomFromWKB(k, 3857) ORDER BY k)) AS merged
          FROM sides GROUP BY level, a, b) c
    CROSS JOIN LATERAL ST_Dump(c.merged) d
    WHERE c.a = ANY(targets) OR c.b = ANY(targets)
  ),
  simple AS (
    SELECT c.a, c.b, z.zoom, ST_SimplifyPreserveTopology(c.line, z.tolerance) AS line
    FROM chains c CROSS JOIN (VALUES {ZOOMS}) z(zoom, tolerance)
  ),
  built AS (
    SELECT x.area_id, x.zoom, ST_Multi(ST_CollectionExtract(ST_BuildArea(ST_Collect(x.line)), 3)) AS geom
    FROM (SELECT a AS area_id, zoom, line FROM simple UNION ALL SELECT b, zoom, line FROM simple WHERE b IS NOT NULL) x
    WHERE x.area_id = ANY(targets)
    GROUP BY x.area_id, x.zoom
  )
  SELECT t.id, z.zoom,
         CASE WHEN NOT ST_IsEmpty(b.geom) AND ST_IsValid(b.geom) THEN b.geom
              WHEN ST_IsValid(f.geom) AND NOT ST_IsEmpty(f.geom) THEN f.geom
              ELSE t.geom_web END,
         ST_PointOnSurface(t.geom_web)
  FROM t CROSS JOIN (VALUES {ZOOMS}) z(zoom, tolerance)
  LEFT JOIN built b ON b.area_id = t.id AND b.zoom = z.zoom
  CROSS JOIN LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_SimplifyPreserveTopology(t.geom_web, z.tolerance), 3))
                      AS geom) f
  WHERE NOT ST_IsEmpty(t.geom_web) AND ST_IsValid(t.geom_web);
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END $$;
"""

# the changed areas and those of the same level whose boxes touch their old or new boundary
_AROUND = """
  SELECT array_agg(DISTINCT a.id) FROM geo_assets_adminarea a
  JOIN ({changed}) c ON a.level = c.level AND a.geom_web && c.geom_web"""

# Rebuilding an area's outlines costs ~1.7 s for a dense village with its neighbours: the statement triggers only queue the
# ids, and one deferred trigger builds them all at commit — an import of 560 villages builds once, not 560 times.
QUEUE = [
    "CREATE TABLE layers_areaoutline_pending (area_id bigint NOT NULL);",
    """
CREATE OR REPLACE FUNCTION layers_outlines_queue(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(ids) > 0 THEN
    INSERT INTO layers_areaoutline_pending (area_id) SELECT unnest(ids);
  END IF;
END $$;
""",
    """
CREATE OR REPLACE FUNCTION layers_outlines_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
  WITH done AS (DELETE FROM layers_areaoutline_pending RETURNING area_id)
  SELECT array_agg(DISTINCT area_id) INTO ids FROM done;
  IF ids IS NOT NULL THEN
    PERFORM layers_outlines_build(ids);
  END IF;
  RETURN NULL;
END $$;
""",
    "CREATE CONSTRAINT TRIGGER layers_outlines_flush AFTER INSERT ON layers_areaoutline_pending "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION layers_outlines_flush();",
]

FUNCTIONS = [
    BUILD,
    """
CREATE OR REPLACE FUNCTION layers_outlines_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE written bigint;
BEGIN
  LOCK TABLE geo_assets_adminarea IN SHARE MODE;
  DELETE FROM layers_areaoutline_pending;
  DELETE FROM layers_areaoutline;
  SELECT layers_outlines_build(coalesce(array_agg(id), '{}')) INTO written FROM geo_assets_adminarea;
  RETURN written;
END $$;
""",
    f"""
CREATE OR REPLACE FUNCTION layers_outlines_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM layers_outlines_queue(({_AROUND.format(changed="SELECT level, geom_web FROM new_rows")}));
  RETURN NULL;
END $$;
""",
    f"""
CREATE OR REPLACE FUNCTION layers_outlines_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE changed bigint[];
BEGIN
  SELECT array_agg(n.id) INTO changed FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.geom IS DISTINCT FROM o.geom OR n.level IS DISTINCT FROM o.level;
  IF changed IS NULL THEN RETURN NULL; END IF;
  PERFORM layers_outlines_queue(({_AROUND.format(changed='''
      SELECT level, geom_web FROM new_rows WHERE id = ANY(changed)
      UNION ALL SELECT level, geom_web FROM old_rows WHERE id = ANY(changed)''')}));
  RETURN NULL;
END $$;
""",
    f"""
CREATE OR REPLACE FUNCTION layers_outlines_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM layers_areaoutline WHERE area_id IN (SELECT id FROM old_rows);
  PERFORM layers_outlines_queue(({_AROUND.format(changed="SELECT level, geom_web FROM old_rows")}));
  RETURN NULL;
END $$;
""",
    """
CREATE OR REPLACE FUNCTION layers_outlines_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM layers_areaoutline;
  RETURN NULL;
END $$;
""",
]

TRIGGERS = [
    "CREATE TRIGGER layers_outlines_insert AFTER INSERT ON geo_assets_adminarea REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION layers_outlines_inserted();",
    "CREATE TRIGGER layers_outlines_update AFTER UPDATE ON geo_assets_adminarea "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION layers_outlines_updated();",
    "CREATE TRIGGER layers_outlines_delete AFTER DELETE ON geo_assets_adminarea REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION layers_outlines_deleted();",
    "CREATE TRIGGER layers_outlines_truncate AFTER TRUNCATE ON geo_assets_adminarea "
    "FOR EACH STATEMENT EXECUTE FUNCTION layers_outlines_truncated();",
]

BACKWARD = [
    "DROP TABLE IF EXISTS layers_areaoutline_pending;",
    "DROP FUNCTION IF EXISTS layers_outlines_flush();",
    "DROP FUNCTION IF EXISTS layers_outlines_queue(bigint[]);",
] + [
    f"DROP TRIGGER IF EXISTS layers_outlines_{event} ON geo_assets_adminarea;"
    for event in ("insert", "update", "delete", "truncate")
] + [
    f"DROP FUNCTION IF EXISTS {name}();"
    for name in ("layers_outlines_inserted", "layers_outlines_updated", "layers_outlines_deleted",
                 "layers_outlines_truncated", "layers_outlines_rebuild")
] + ["DROP FUNCTION IF EXISTS layers_outlines_build(bigint[]);"]


class Migration(migrations.Migration):

    dependencies = [
        ('geo_assets', '0008_attachment_history'),
        ('layers', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='AreaOutline',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('zoom', models.PositiveSmallIntegerField(help_text='the tile zoom the outline is simplified for')),
                ('geom_web', django.contrib.gis.db.models.fields.MultiPolygonField(spatial_index=False, srid=3857)),
                ('label', django.contrib.gis.db.models.fields.PointField(help_text='ST_PointOnSurface of the full boundary', spatial_index=False, srid=3857)),
                ('area', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.adminarea')),
            ],
            options={
                'indexes': [django.contrib.postgres.indexes.GistIndex(fields=['geom_web'], name='areaoutline_geom_web_gist'), django.contrib.postgres.indexes.GistIndex(fields=['label'], name='areaoutline_label_gist')],
                'constraints': [models.UniqueConstraint(fields=('area', 'zoom'), name='areaoutline_area_zoom'), models.CheckConstraint(condition=models.Q(('geom_web__isvalid', True)), name='areaoutline_geom_web_valid'), models.CheckConstraint(condition=models.Q(('label__isvalid', True)), name='areaoutline_label_valid')],
            },
        ),
        migrations.RunSQL(sql=FUNCTIONS + QUEUE + TRIGGERS + ["SELECT layers_outlines_rebuild();", "ANALYZE layers_areaoutline;"],
                          reverse_sql=BACKWARD),
    ]
