"""Precomputed low-zoom clusters (issue 11): asset counts per grid cell, kept exact by database triggers.

One row per (level, grain, cell, dimensions): how many assets have their centre (ST_Centroid of `geom_web`) in the
cell, and the sums of their centres in centimetres (integers, so additions and subtractions never drift). The
triggers and the rebuild function are SQL (migration 0001); layers/clusters.py reads the table. See
layers/README.md, "Precomputed clusters".
"""

from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex

from geo_assets.models import AdminArea


class AssetCluster(models.Model):
    # Grid of the cell: `level` is the tile zoom whose 8 × 8 cells the index counts (cells per world side:
    # 2^(level + 3)); `cell` is the Morton (z-order) index of (column, row from the top), so every tile at a zoom
    # ≤ level is one contiguous range of cells and a coarser cell is `cell >> 2k`.
    level = models.PositiveSmallIntegerField()
    # Which dimensions the row keeps besides township, category and published (layers.clusters.GRAINS): village,
    # asset type, status and year built, or some of them; the others are NULL, meaning "summed over".
    grain = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField()
    township = models.ForeignKey(AdminArea, null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                 db_index=False, related_name="+")
    village = models.ForeignKey(AdminArea, null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                db_index=False, related_name="+")
    category = models.CharField(max_length=20)
    asset_type = models.CharField(max_length=20, null=True)
    is_published = models.BooleanField()
    status = models.CharField(max_length=20, null=True)
    year_built = models.PositiveSmallIntegerField(null=True)
    n = models.IntegerField(help_text="assets whose centre lies in the cell")
    sum_x = models.BigIntegerField(help_text="sum of the centres' x + WORLD, in cm (EPSG:3857)")
    sum_y = models.BigIntegerField(help_text="sum of the centres' WORLD − y, in cm (EPSG:3857)")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "grain", "cell", "township", "village", "category", "asset_type", "is_published",
                        "status", "year_built"],
                name="assetcluster_key", nulls_distinct=False,
            ),
        ]

    def __str__(self):
        return f"{self.level}/{self.grain}/{self.cell}: {self.n}"


class AreaOutline(models.Model):
    """An area's boundary simplified for the boundary tiles of one low zoom (issue 11; layers/outlines.sql in
    migration 0002): DETAIL_MIN_ZOOM − 1 and below, where a village's ~2,000 vertices fall within a few pixels.

    The coverage of each level is simplified edge by edge — every stretch of boundary two areas share is simplified
    once, so neighbours keep one common edge — to OUTLINE_TOLERANCE_PX of a pixel of the zoom. Database triggers on
    geo_assets_adminarea rebuild the rows of a changed area and of its neighbours in the same statement."""

    area = models.ForeignKey(AdminArea, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                             related_name="+")
    zoom = models.PositiveSmallIntegerField(help_text="the tile zoom the outline is simplified for")
    geom_web = models.MultiPolygonField(srid=3857, spatial_index=False)
    label = models.PointField(srid=3857, spatial_index=False, help_text="ST_PointOnSurface of the full boundary")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "zoom"], name="areaoutline_area_zoom"),
            models.CheckConstraint(condition=models.Q(geom_web__isvalid=True), name="areaoutline_geom_web_valid"),
            models.CheckConstraint(condition=models.Q(label__isvalid=True), name="areaoutline_label_valid"),
        ]
        indexes = [
            GistIndex(fields=["geom_web"], name="areaoutline_geom_web_gist"),
            GistIndex(fields=["label"], name="areaoutline_label_gist"),
        ]

    def __str__(self):
        return f"{self.area_id}@z{self.zoom}"
