"""Read-side rules of the map: summaries of what a user may see in an area."""

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from geo_assets.access import scope_for
from geo_assets.dbrouting import OverBudget, statement_budget
from geo_assets.models import AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.querysets import verified_q
from geo_assets.taxonomy import AreaLevel, AssetStatus, Category


def areas_outlined(areas, *, zoom: int):
    """Areas with `outline_geojson`: each boundary as simplified for the map at `zoom` (layers.models.AreaOutline,
    kept by the database; the full boundary where an area has none) as GeoJSON text made by PostGIS, in the storage
    SRID, coordinates to 6 decimals (~0.1 m); the full boundaries are not sent."""
    from layers.models import AreaOutline

    outline = Subquery(AreaOutline.objects.filter(area=OuterRef("pk"), zoom=zoom).values("geom_web")[:1],
                       output_field=GeometryField(srid=3857))
    geometry = Coalesce(Transform(outline, settings.STORAGE_SRID), "geom",
                        output_field=GeometryField(srid=settings.STORAGE_SRID))
    return areas.defer("geom", "geom_web").annotate(outline_geojson=AsGeoJSON(geometry, precision=6))


SEARCH_TRIGRAM = 3  # pg_trgm finds a substring of at least three characters through its index
SEARCH_BUDGET_MS = 400  # a shorter text is looked for row by row, in code order, for at most this long


def assets_searched(*, user, q: str, limit: int) -> tuple[list, bool]:
    """The first `limit` assets (by code) the user may see whose code starts with `q`, one of whose names contains it
    (the name and the public name; the public name alone for whoever may not see names: a beneficiary's name finds
    nothing), or whose village's name does; and whether the search was complete.

    Each way is a statement of its own, planned for its own rows (within one OR no index could serve). The code's
    start and the villages go through their indexes, a text of three characters or more through the names' trigram
    indexes (asset_name_trgm, asset_public_name_trgm). A shorter text (a rare character: the register read row by
    row) is given SEARCH_BUDGET_MS, after which the search is incomplete."""
    visible = Asset.objects.visible_to(user).order_by("code")
    using = visible.db
    starts = Q()
    for variant in dict.fromkeys((q, q.upper(), q.lower())):  # the code index's LIKE tells case
        starts |= Q(code__startswith=variant)
    found, complete = set(visible.filter(starts).values_list("code", "pk")[:limit]), True
    villages = list(AdminArea.objects.filter(level=AreaLevel.VILLAGE, name__icontains=q).values_list("pk", flat=True))
    if villages:
        found.update(visible.filter(village__in=villages).values_list("code", "pk")[:limit])
    named = Q()
    for field in ("name", "public_name") if Redactor(scope_for(user)).full else ("public_name",):
        named |= Q(**{f"{field}__icontains": q})
    if len(q) >= SEARCH_TRIGRAM:
        found.update(visible.filter(named).values_list("code", "pk")[:limit])
    else:
        try:
            with statement_budget(using, ms=SEARCH_BUDGET_MS):
                found.update(visible.using(using).filter(named).values_list("code", "pk")[:limit])
        except OverBudget:
            complete = False
    ids = [pk for _, pk in sorted(found)[:limit]]
    return list(visible.filter(pk__any=ids).with_areas()) if ids else [], complete


def area_summary(*, user, area: AdminArea) -> dict:
    """Counts and investment by category and by status of the assets in an area that the user may see (their
    scope's and the published rest: staff see at least what the public sees). `area` as AdminAreaQuerySet.with_box
    gives it: its box, not its boundary."""
    qs = Asset.objects.openable_by(user).in_area(area).order_by()
    by_category = {row["category"]: row for row in qs.values("category").annotate(
        count=Count("id"), investment=Sum("total_investment"))}
    by_status = dict(qs.values_list("status").annotate(count=Count("id")))
    totals = qs.aggregate(count=Count("id"), investment=Sum("total_investment"),
                          # verified among the active assets, as the village page's and the reports' coverage
                          verified=Count("id", filter=verified_q() & ~Q(status=AssetStatus.DISPOSED)))
    return {
        "code": area.code, "name": area.name, "level": area.level, "level_label": area.get_level_display(),
        "parent_code": area.parent.code if area.parent else None,
        "parent_name": area.parent.name if area.parent else None,
        "bbox": list(area.box.extent),
        "total": {"count": totals["count"], "investment": totals["investment"] or 0,
                  "verified": totals["verified"]},
        "by_category": [
            {"category": value, "label": label, "count": by_category.get(value, {}).get("count", 0),
             "investment": by_category.get(value, {}).get("investment") or 0}
            for value, label in Category.choices
        ],
        "by_status": [{"status": value, "label": label, "count": by_status.get(value, 0)}
                      for value, label in AssetStatus.choices],
        "report_url": f"/villages/{area.code}/" if area.level == AreaLevel.VILLAGE else None,
    }


def clusters_rebuild(*, vacuum: bool = True) -> int:
    """Recompute the precomputed cluster table (layers.models.AssetCluster) from the assets; returns its rows.

    The triggers keep the table exact on every insert and update, so this is for repairs (e.g. after triggers were
    disabled for a restore) and the first build. Asset writers wait meanwhile; tile readers see the old rows."""
    from django.db import connections, router, transaction

    from layers.models import AssetCluster

    using = router.db_for_write(AssetCluster)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT layers_clusters_rebuild()")
        rows = cursor.fetchone()[0]
    if vacuum and not connections[using].in_atomic_block:
        with connections[using].cursor() as cursor:
            cursor.execute("VACUUM ANALYZE layers_assetcluster")
    return rows
