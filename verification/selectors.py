"""Who may verify what, and the reusable queries of verification (nearby assets, problem list, progress)."""

import datetime
from collections import Counter
from typing import NamedTuple

from django.contrib.gis.db.models.functions import GeometryDistance
from django.contrib.gis.geos import Point
from django.core.exceptions import EmptyResultSet
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from geo_assets.access import scope_for
from geo_assets.dbrouting import read_fetch
from geo_assets.models import SRID, AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.querysets import without_boundaries
from geo_assets.taxonomy import AssetStatus, AssetType, Role
from verification.models import Campaign, CampaignItem, Photo, Verification
from verification.taxonomy import PROBLEM_FINDINGS, Finding, Flag, Review


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


def reviewable_by(user) -> QuerySet[Verification]:
    """County administrators review everything; departments and township clerks the assets they may change."""
    scope = scope_for(user)
    if scope.role not in (Role.COUNTY_ADMIN, Role.DEPARTMENT, Role.TOWNSHIP):
        return Verification.objects.none()
    return Verification.objects.filter(asset__in=Asset.objects.editable_by(user))


def may_verify(user, asset: Asset) -> bool:
    return assets_verifiable_by(user).filter(pk=asset.pk).exists()


def assets_nearby_candidates(user) -> QuerySet[Asset]:
    """What the phone's "附近资产" lists: the active assets the user may see (issue 21: an inspector saw only
    their campaign assignments, the nearest 5.9 km away while standing at an asset). Which of them the user may
    verify, and which a campaign assigns to them, is marked (assets_nearby). Roles that verify nothing: none."""
    scope = scope_for(user)
    if scope.role != Role.INSPECTOR and not scope.edits_anything:
        return Asset.objects.none()
    return Asset.objects.visible_to(user).exclude(status=AssetStatus.DISPOSED)


def verifications_visible_to(user) -> QuerySet[Verification]:
    """Staff see the verifications of the assets they see; the public sees none (only the asset's photos page)."""
    if not scope_for(user).sees_personal_data:
        return Verification.objects.none()
    return Verification.objects.filter(asset__in=Asset.objects.visible_to(user))


class NearbyAsset(NamedTuple):
    """An asset as the nearby list shows it, read with the KNN statement itself (no second query, no model
    instance): what NearbyView and the privacy rule (Redactor.asset_name) read of an Asset."""

    id: int
    code: str
    name: str
    public_name: str
    category: str
    asset_type: str
    custodian_person: str
    village: "_Named | None"
    location: "_XY"
    last_verified_at: datetime.datetime | None
    may_verify: bool = False  # the user may record a verification of it (selectors.assets_verifiable_by)
    assigned: bool = False  # an open campaign assigns it to the user

    @property
    def pk(self) -> int:
        return self.id

    @property
    def village_id(self) -> int | None:
        return self.village.id if self.village else None

    def get_asset_type_display(self) -> str:
        return str(_TYPE_LABELS.get(self.asset_type, self.asset_type))


class _Named(NamedTuple):
    id: int
    name: str


class _XY(NamedTuple):
    x: float
    y: float


_TYPE_LABELS = dict(AssetType.choices)

# The candidates come from the GiST index of `location` (KNN `<->`, planar degrees) under the role's own filter on
# the asset table; the exact distance on the geography — to the nearest point of a line or polygon — then orders
# them, and the nearest `limit` are marked: may the user verify each (assets_verifiable_by), does an open campaign
# assign it to them (assigned_to). One statement returns what the page shows.
NEARBY_SQL = """
WITH c AS ({candidates}),
near AS (
  SELECT a.id, a.code, a.name, a.public_name, a.category, a.asset_type, a.custodian_person, v.id AS village_id,
         v.name AS village_name, ST_X(a.location) AS x, ST_Y(a.location) AS y, a.last_verified_at,
         ST_Distance(g.geom::geography, here.p::geography) AS metres,
         degrees(ST_Azimuth(here.p::geography, ST_ClosestPoint(g.geom, here.p)::geography)) AS bearing
  FROM (SELECT ST_GeomFromEWKB(%s) AS p) here, c JOIN geo_assets_asset a ON a.id = c.id
       CROSS JOIN LATERAL (SELECT coalesce(a.point, a.line, a.polygon) AS geom) g
       LEFT JOIN geo_assets_adminarea v ON v.id = a.village_id
  ORDER BY metres, a.id LIMIT %s),
verifiable AS ({verifiable}),
assigned AS ({assigned})
SELECT near.*, near.id IN (SELECT id FROM verifiable), near.id IN (SELECT asset_id FROM assigned)
FROM near ORDER BY metres, id"""

_NEAR_IDS = RawSQL("SELECT id FROM near", ())  # the marks are read for the nearest rows only

_HERE = Point(0, 0, srid=SRID)  # the position compiled into a cached statement, replaced at each request
_CANDIDATES: dict[tuple, tuple[str, tuple, tuple[int, ...]] | None] = {}


def _candidates(user, limit: int) -> tuple[str, tuple, tuple[int, ...]] | None:
    """(SQL, params, indexes of the position's parameters) of the KNN candidates: compiled once per scope and limit
    (~0.5 ms of the ORM per request otherwise), since only the position changes from one request to the next. (The
    position is a parameter twice when DISTINCT puts the distance in the select list too: an inspector's.)"""
    scope = scope_for(user)
    key = (scope, user.pk if scope.role == Role.INSPECTOR else None, limit)  # an inspector's assets are their own
    if key not in _CANDIDATES:
        if len(_CANDIDATES) >= 1000:
            _CANDIDATES.clear()
        qs = assets_nearby_candidates(user).order_by(GeometryDistance("location", _HERE)).values("id")[: limit * 5]
        try:
            sql, params = qs.query.sql_with_params()
        except EmptyResultSet:
            _CANDIDATES[key] = None
        else:
            at = tuple(i for i, p in enumerate(params) if getattr(p, "ewkb", None) == bytes(_HERE.ewkb))
            assert at, "the position must be a parameter of the candidates"
            _CANDIDATES[key] = (sql, tuple(params), at)
    return _CANDIDATES[key]


def _marks(user) -> tuple[str, tuple]:
    """(SQL, params) of the two marks' subqueries, compiled once per user (~0.5 ms of the ORM otherwise)."""
    key = ("marks", user.pk, scope_for(user))
    if key not in _CANDIDATES:
        parts = []
        for qs in (assets_verifiable_by(user).filter(pk__in=_NEAR_IDS).values("id"),
                   assigned_to(user).filter(asset_id__in=_NEAR_IDS).values("asset_id")):
            try:
                parts.append(qs.query.sql_with_params())
            except EmptyResultSet:
                parts.append(("SELECT NULL::integer AS id, NULL::integer AS asset_id WHERE false", ()))
        (verifiable, v_params), (assigned, a_params) = parts
        _CANDIDATES[key] = (verifiable, assigned, (*v_params, *a_params))
    return _CANDIDATES[key]


def nearby_statement(*, user, lon: float, lat: float, limit: int = 20) -> tuple[str, tuple] | None:
    """The SQL of assets_nearby and its parameters (None: the user may verify nothing). bench/verification.py runs
    the same statement directly as the API benchmark's anchor."""
    here = Point(lon, lat, srid=SRID)
    candidates = _candidates(user, limit)
    if candidates is None:
        return None
    sql, params, at = candidates
    verifiable, assigned, mark_params = _marks(user)
    params = tuple(type(p)(here) if i in at else p for i, p in enumerate(params))
    return (NEARBY_SQL.format(candidates=sql, verifiable=verifiable, assigned=assigned),
            (*params, bytes(here.ewkb), limit, *mark_params))


def assigned_to(user) -> QuerySet[CampaignItem]:
    """The campaign items an open campaign assigns to the user."""
    return CampaignItem.objects.filter(assignee=user, campaign__is_open=True)


def assets_nearby(*, user, lon: float, lat: float, limit: int = 20) -> list[tuple[NearbyAsset, float, float]]:
    """The assets the user may see (assets_nearby_candidates) nearest to a position: (asset, metres, bearing in
    degrees from north), each marked whether the user may verify it and whether a campaign assigns it to them."""
    statement = nearby_statement(user=user, lon=lon, lat=lat, limit=limit)
    if statement is None:
        return []
    # prepared: its text is the same for every position (and every user of a scope's shape), so PostgreSQL parses
    # it once per connection and, where that plan costs no more, keeps one plan (docs/performance.md, session 19)
    rows = read_fetch(Asset, *statement, rows=True, prepared=True)
    return [(NearbyAsset(pk, code, name, public_name, category, asset_type, person,
                         _Named(village_id, village) if village_id else None, _XY(x, y), verified,
                         bool(verifiable), bool(assigned)),
             float(metres), float(bearing) if bearing is not None else 0.0)
            for (pk, code, name, public_name, category, asset_type, person, village_id, village, x, y, verified,
                 metres, bearing, verifiable, assigned) in rows]


def problem_verifications(user) -> QuerySet[Verification]:
    """Approved findings that the asset is not there (未找到, 已拆除) on assets still in the active register."""
    return (verifications_visible_to(user).filter(finding__in=PROBLEM_FINDINGS, review=Review.APPROVED)
            .exclude(asset__status=AssetStatus.DISPOSED).select_related("asset", "asset__village", "verifier")
            .defer(*without_boundaries("asset__village")))


def review_queue(user) -> QuerySet[Verification]:
    return (reviewable_by(user).filter(review=Review.PENDING).select_related("asset", "asset__village", "verifier")
            .defer(*without_boundaries("asset__village")))


def campaign_progress(campaign: Campaign, *, user=None) -> list[dict]:
    """Per village: assets to verify, verified (a verification in the campaign that counts: COUNTED, the one
    definition of geo_assets.querysets.verified_q), flagged (waiting for review, not yet verified), last counted
    observation. With a user: only the campaign's assets that user sees."""
    done = Verification.objects.filter(campaign=campaign, review__in=COUNTED)
    waiting = Verification.objects.filter(campaign=campaign, review=Review.PENDING)
    items = CampaignItem.objects.filter(campaign=campaign)
    if user is not None:
        items = items.filter(asset__in=Asset.objects.visible_to(user))
    rows = (
        items
        .values("asset__village__code", "asset__village__name", "asset__township__name")
        .annotate(
            total=Count("id", distinct=True),
            verified=Count("asset", filter=Q(asset__verifications__in=done), distinct=True),
            flagged=Count("asset", filter=Q(asset__verifications__in=waiting), distinct=True),
            last=Max("asset__verifications__observed_at", filter=Q(asset__verifications__in=done)),
        ).order_by("asset__village__code")
    )
    return [{"code": r["asset__village__code"], "village": r["asset__village__name"],
             "township": r["asset__township__name"], "total": r["total"], "verified": r["verified"],
             "flagged": r["flagged"], "last": r["last"],
             "percent": round(100 * r["verified"] / r["total"]) if r["total"] else 0} for r in rows]


# The county office's pages and what the asset page, village page and map panel show of verifications.

COUNTED = (Review.ACCEPTED, Review.APPROVED)
VERIFYING_ROLES = (Role.INSPECTOR, Role.TOWNSHIP, Role.VILLAGE, Role.DEPARTMENT)


def verifications_shown_to(user) -> QuerySet[Verification]:
    """Staff see every verification of the assets they see, with its review; the public only the ones that count
    (accepted or approved) of published assets — their finding, date and EXIF-free photos, nothing about people."""
    if scope_for(user).sees_personal_data:
        return verifications_visible_to(user)
    return Verification.objects.filter(asset__in=Asset.objects.visible_to(user), review__in=COUNTED)


def asset_verifications(asset: Asset, user) -> QuerySet[Verification]:
    return (verifications_shown_to(user).filter(asset=asset).select_related("verifier", "reviewed_by")
            .prefetch_related("photos").order_by("-observed_at", "-pk"))


def asset_photo_timeline(asset: Asset, user, *, limit: int = 60) -> list[dict]:
    """Repeat photography: the asset's verifications with photos grouped by year, newest year and record first."""
    years: dict[int, list[Verification]] = {}
    for record in asset_verifications(asset, user)[:limit]:
        if record.photos.all():
            years.setdefault(timezone.localtime(record.observed_at).year, []).append(record)
    return [{"year": year, "verifications": records} for year, records in years.items()]


def asset_verification_context(asset: Asset, user) -> dict:
    """For the asset page (templates/maps/includes/asset_verifications.html): the latest verification that counts
    (its date is the asset's last_verified_at, the one definition of "verified") and, for staff, the ones waiting
    for review or rejected since, which do not count."""
    shown = asset_verifications(asset, user)
    latest = shown.filter(review__in=COUNTED).first()
    later = shown.exclude(review__in=COUNTED)
    if latest is not None:
        later = later.filter(observed_at__gt=latest.observed_at)
    return {"latest": latest, "count": shown.filter(review__in=COUNTED).count(), "uncounted": list(later[:5]),
            "timeline": asset_photo_timeline(asset, user), "staff": scope_for(user).sees_personal_data}


def latest_verification_data(asset: Asset, user) -> dict | None:
    """The map panel's `latest_verification`, the latest that counts (as the asset page's 最近核查): the public gets
    the finding, the date and public photo thumbnails."""
    record = asset_verifications(asset, user).filter(review__in=COUNTED).first()
    if record is None:
        return None
    staff = scope_for(user).sees_personal_data
    return {
        "finding": record.finding, "finding_label": str(record.get_finding_display()),
        "observed_at": record.observed_at,
        "photos": [{"thumbnail": f"/field/photos/{p.pk}/thumb.jpg", "url": f"/field/photos/{p.pk}/photo.jpg"}
                   for p in record.photos.all()],
        "review": record.review if staff else None,
        "review_label": str(record.get_review_display()) if staff else None,
        "flags": [str(Flag(f).label) for f in record.flags] if staff else [],
        "verifier": record.verifier.get_username() if staff else None,
        "distance_m": record.distance_m if staff else None,
    }


def village_verification_summary(village: AdminArea, user, *, recent: int = 10) -> dict:
    """For the village page: how many of its active assets were ever verified / this year (Asset.objects.verified,
    the one definition), the latest counted finding per asset counted by finding, and the most recent
    verifications (staff also see those waiting for review or rejected, marked so)."""
    assets = Asset.objects.visible_to(user).in_area(village).exclude(status=AssetStatus.DISPOSED)
    year = timezone.localdate().year
    year_start = datetime.datetime(year, 1, 1, tzinfo=timezone.get_current_timezone())
    shown = verifications_shown_to(user).filter(asset__in=assets)
    latest_per_asset = shown.filter(review__in=COUNTED).order_by("asset_id", "-observed_at").distinct("asset_id")
    by_finding = Counter(latest_per_asset.values_list("finding", flat=True))
    total = assets.count()
    verified = assets.verified().count()
    redactor = Redactor(scope_for(user))
    latest = list(shown.select_related("asset", "verifier").prefetch_related("photos").order_by("-observed_at")[:recent])
    for record in latest:
        record.asset_display_name = redactor.asset_name(record.asset)
    return {
        "total": total, "verified": verified, "percent": round(100 * verified / total) if total else 0,
        "this_year": assets.verified(since=year_start).count(), "year": year,
        "findings": [{"finding": f, "label": Finding(f).label, "count": by_finding[f]}
                     for f in Finding.values if by_finding[f]],
        "recent": latest, "staff": scope_for(user).sees_personal_data,
    }


def campaigns_visible_to(user) -> QuerySet[Campaign]:
    """County-wide readers see every campaign; other staff the campaigns holding an asset they see; the public none."""
    scope = scope_for(user)
    if not scope.sees_personal_data:
        return Campaign.objects.none()
    if scope.reads_everything:
        counties = scope.counties_q()
        return Campaign.objects.all() if counties is None else Campaign.objects.filter(counties)
    items = CampaignItem.objects.filter(asset__in=Asset.objects.visible_to(user)).values("campaign_id")
    return Campaign.objects.filter(pk__in=items)


def campaign_assignees(campaign: Campaign, user) -> dict[str, list[str]]:
    """Per village code: who the campaign's assets (those the user sees) are assigned to."""
    rows = (CampaignItem.objects.filter(campaign=campaign, asset__in=Asset.objects.visible_to(user),
                                        assignee__isnull=False)
            .values_list("asset__village__code", "assignee__username").distinct()
            .order_by("asset__village__code", "assignee__username"))
    result: dict[str, list[str]] = {}
    for code, username in rows:
        result.setdefault(code, []).append(username)
    return result


def verifiers_assignable(campaign: Campaign | None = None):
    """Active accounts acting in a role that may verify (what a campaign assignment needs), of the campaign's county."""
    from django.contrib.auth import get_user_model

    from geo_assets.access import current_membership

    users = (get_user_model().objects.annotate(membership=current_membership())
             .filter(is_active=True, membership__role__in=VERIFYING_ROLES))
    if campaign is not None and campaign.county_id:
        users = users.filter(Q(membership__county=campaign.county_id) | Q(membership__county__isnull=True))
    return users.annotate(role=F("membership__role"), area_name=F("membership__area__name"),
                          department_name=F("membership__department__name")).order_by("username")


def earlier_photo(record: Verification) -> Photo | None:
    """The asset's latest photo from an earlier verification that counts: to compare views in review."""
    return (Photo.objects.filter(verification__asset_id=record.asset_id, verification__review__in=COUNTED,
                                 verification__observed_at__lt=record.observed_at)
            .select_related("verification").order_by("-verification__observed_at", "pk").first())


def photos_served_to(user, *, original: bool = False) -> QuerySet[Photo]:
    """Which photos a user may fetch (every photo URL checks this, so counting through ids finds nothing more).
    The original, with its EXIF, is evidence for staff whose scope holds the asset. The EXIF-free copy and the
    thumbnail: the same staff whatever the review (waiting, rejected), and everyone — the public, staff out of
    scope — the photos of verifications that count (accepted or approved) of published assets, as the public
    pages show them."""
    in_scope = Photo.objects.filter(verification__in=verifications_visible_to(user))
    if original:
        return in_scope
    public = Photo.objects.filter(verification__in=verifications_shown_to(None))
    return in_scope | public
