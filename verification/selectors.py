"""Who may verify what, and the reusable queries of verification (nearby assets, problem list, progress)."""

from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from geo_assets.access import scope_for
from geo_assets.models import SRID, Asset
from geo_assets.taxonomy import AssetStatus, Role
from verification.models import Campaign, CampaignItem, Verification
from verification.taxonomy import PROBLEM_FINDINGS, Review


def assets_verifiable_by(user) -> QuerySet[Asset]:
    """Recording a verification is its own right: clerks and departments in their scope, inspectors for what an
    open campaign assigns them. Disposed assets are not verified any more."""
    scope = scope_for(user)
    qs = Asset.objects.exclude(status=AssetStatus.DISPOSED)
    if scope.role == Role.INSPECTOR:
        return qs.filter(campaign_items__assignee=user, campaign_items__campaign__is_open=True).distinct()
    if not scope.edits_anything:
        return qs.none()
    return qs.editable_by(user)


def may_verify(user, asset: Asset) -> bool:
    return assets_verifiable_by(user).filter(pk=asset.pk).exists()


def verifications_visible_to(user) -> QuerySet[Verification]:
    """Staff see the verifications of the assets they see; the public sees none (only the asset's photos page)."""
    if not scope_for(user).sees_personal_data:
        return Verification.objects.none()
    return Verification.objects.filter(asset__in=Asset.objects.visible_to(user))


def assets_nearby(*, user, lon: float, lat: float, limit: int = 20) -> list[tuple[Asset, float, float]]:
    """The assets the user may verify nearest to a position: (asset, metres, bearing in degrees from north).

    The GiST index orders candidates by planar distance in degrees (KNN `<->`); the exact distance on the
    geography, to the nearest point of a line or polygon, then orders the final list."""
    here = Point(lon, lat, srid=SRID)
    base, params = assets_verifiable_by(user).order_by().values("id").query.sql_with_params()
    sql = f"""
        WITH c AS (
            SELECT a.id, a.location, coalesce(a.point, a.line, a.polygon) AS geom FROM geo_assets_asset a
            WHERE a.id IN ({base}) ORDER BY a.location <-> ST_GeomFromEWKB(%s) LIMIT %s
        )
        SELECT c.id, ST_Distance(c.geom::geography, ST_GeomFromEWKB(%s)::geography) AS metres,
               degrees(ST_Azimuth(ST_GeomFromEWKB(%s)::geography, ST_ClosestPoint(c.geom, ST_GeomFromEWKB(%s))::geography))
        FROM c ORDER BY metres, c.id LIMIT %s"""  # noqa: S608 - base is Django-compiled SQL, values are parameters
    ewkb = bytes(here.ewkb)
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, ewkb, limit * 5, ewkb, ewkb, ewkb, limit))
        rows = cursor.fetchall()
    assets = Asset.objects.select_related("village", "township").in_bulk([r[0] for r in rows])
    return [(assets[r[0]], float(r[1]), float(r[2]) if r[2] is not None else 0.0) for r in rows]


def problem_verifications(user) -> QuerySet[Verification]:
    """Approved findings that the asset is not there (未找到, 已拆除) on assets still in the active register."""
    return (verifications_visible_to(user).filter(finding__in=PROBLEM_FINDINGS, review=Review.APPROVED)
            .exclude(asset__status=AssetStatus.DISPOSED).select_related("asset", "asset__village", "verifier"))


def review_queue(user) -> QuerySet[Verification]:
    from verification.services import reviewable_by

    return reviewable_by(user).filter(review=Review.PENDING).select_related("asset", "asset__village", "verifier")


def campaign_progress(campaign: Campaign) -> list[dict]:
    """Per village: assets to verify, verified (any verification in the campaign), flagged, last activity."""
    done = Verification.objects.filter(campaign=campaign).exclude(review=Review.REJECTED)
    rows = (
        CampaignItem.objects.filter(campaign=campaign)
        .values("asset__village__code", "asset__village__name", "asset__township__name")
        .annotate(
            total=Count("id"),
            verified=Count("asset", filter=Q(asset__verifications__in=done), distinct=True),
            flagged=Count("asset", filter=Q(asset__verifications__in=done.filter(review=Review.PENDING)),
                          distinct=True),
            last=Max("asset__verifications__observed_at", filter=Q(asset__verifications__in=done)),
        ).order_by("asset__village__code")
    )
    return [{"code": r["asset__village__code"], "village": r["asset__village__name"],
             "township": r["asset__township__name"], "total": r["total"], "verified": r["verified"],
             "flagged": r["flagged"], "last": r["last"],
             "percent": round(100 * r["verified"] / r["total"]) if r["total"] else 0} for r in rows]
