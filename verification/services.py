"""Rules of field verification. The API, the phone page, the review pages, the demo and commands call these."""

import contextlib
import datetime
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pyproj import Geod
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from geo_assets import services as register
from geo_assets.access import scope_for
from geo_assets.errors import NotInScope
from geo_assets.models import SRID, AdminArea, Asset
from geo_assets.models.register import membership_county
from geo_assets.taxonomy import AreaLevel, AssetStatus, Role, county_code_of
from geo_assets.validation import choice_value, date_check
from verification.models import Campaign, CampaignItem, Photo, Verification, photo_path
from verification.photos import PhotoData, photo_read
from verification.selectors import may_verify, reviewable_by
from verification.taxonomy import (
    ACCURACY_LIMIT_M,
    DISTANCE_LIMIT_M,
    DUPLICATE_HAMMING,
    EXIF_DISTANCE_LIMIT_M,
    EXIF_TIME_LIMIT_HOURS,
    FINDING_ALIASES,
    NO_SITE_TYPES,
    CampaignKind,
    Finding,
    Flag,
    Review,
)

GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
MAX_PHOTOS = 6
FUTURE_TOLERANCE = datetime.timedelta(minutes=10)
STATUS_FROM_FINDING = {Finding.DAMAGED: AssetStatus.DAMAGED, Finding.IDLE: AssetStatus.IDLE,
                       Finding.INTACT: AssetStatus.IN_USE}


@dataclass(frozen=True)
class Recorded:
    verification: Verification
    created: bool


def _distance_to_asset(asset: Asset, position: Point) -> float:
    """Metres on the geography from the fix to the asset's geometry (its nearest point; 0 inside a polygon)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(coalesce(point, line, polygon)::geography, ST_GeomFromEWKB(%s)::geography) "
            "FROM geo_assets_asset WHERE id = %s", (bytes(position.ewkb), asset.pk))
        return float(cursor.fetchone()[0])


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return abs(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _duplicate_elsewhere(asset: Asset, phash: str) -> bool:
    """Is a photo of another asset perceptually the same (a few bits of the 64-bit pHash apart)?"""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT 1 FROM verification_photo p JOIN verification_verification v ON v.id = p.verification_id
               WHERE v.asset_id <> %s
                 AND bit_count(('x' || p.phash)::bit(64) # ('x' || %s)::bit(64)) <= %s LIMIT 1""",
            (asset.pk, phash, DUPLICATE_HAMMING))
        return cursor.fetchone() is not None


def max_delay() -> datetime.timedelta:
    """How long before its arrival an observation may have been made (a phone's offline queue) before it is
    flagged: settings.VERIFICATION_MAX_DELAY_DAYS."""
    return datetime.timedelta(days=settings.VERIFICATION_MAX_DELAY_DAYS)


def verification_flags(*, asset: Asset, position: Point, accuracy_m: float, observed_at: datetime.datetime,
                       photos: Sequence[PhotoData], distance_m: float | None,
                       received_at: datetime.datetime | None = None) -> list[str]:
    """Every reason to have a person look at a verification before it counts."""
    flags = []
    received_at = received_at or timezone.now()
    has_site = asset.asset_type not in NO_SITE_TYPES
    if has_site and distance_m is not None and distance_m > DISTANCE_LIMIT_M[asset.asset_type]:
        flags.append(Flag.TOO_FAR)
    if accuracy_m > ACCURACY_LIMIT_M:
        flags.append(Flag.INACCURATE)
    if has_site and not photos:
        flags.append(Flag.PHOTO_MISSING)
    if observed_at > received_at + FUTURE_TOLERANCE:
        flags.append(Flag.FUTURE_TIME)
    if received_at - observed_at > max_delay():
        flags.append(Flag.LATE)  # back-dated, or kept offline far longer than a queue plausibly is
    for photo in photos:
        if photo.lon is not None and _metres(photo.lon, photo.lat, position.x, position.y) > EXIF_DISTANCE_LIMIT_M:
            flags.append(Flag.EXIF_POSITION)
        if photo.taken_at is not None and abs(photo.taken_at - observed_at) > datetime.timedelta(
                hours=EXIF_TIME_LIMIT_HOURS):
            flags.append(Flag.EXIF_TIME)
        if _duplicate_elsewhere(asset, photo.phash):
            flags.append(Flag.DUPLICATE_PHOTO)
    return list(dict.fromkeys(flags))


def _clean_inputs(*, finding: str, lon, lat, accuracy_m, observed_at) -> tuple[str, Point, float, datetime.datetime]:
    errors = {}
    try:  # the code, its Chinese label (存在完好) or the work plan's wording
        finding = choice_value(finding, Finding, field="finding", aliases=FINDING_ALIASES)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        lon, lat = float(lon), float(lat)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError
    except (TypeError, ValueError):
        errors["lon"] = _("Invalid GPS position: longitude -180 to 180, latitude -90 to 90.")
    try:
        accuracy_m = float(accuracy_m)
        if not (0 <= accuracy_m < 1e6):
            raise ValueError
    except (TypeError, ValueError):
        errors["accuracy_m"] = _("The GPS accuracy (metres) must be a number not below 0.")
    if isinstance(observed_at, str):
        from django.utils.dateparse import parse_datetime

        try:
            observed_at = parse_datetime(observed_at)
        except ValueError:
            observed_at = None
    if not isinstance(observed_at, datetime.datetime):
        errors["observed_at"] = _("Invalid observation time (ISO 8601, e.g. 2026-05-01T10:30:00+08:00).")
    else:
        if timezone.is_naive(observed_at):
            observed_at = timezone.make_aware(observed_at, timezone.get_default_timezone())
        try:
            date_check(observed_at, field="observed_at", future_days=1)
            if observed_at > timezone.now() + FUTURE_TOLERANCE:
                raise ValidationError({"observed_at": _(
                    "The observation time is later than the current time: check the phone's date and time, then "
                    "submit again.")})
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return finding, Point(lon, lat, srid=SRID), accuracy_m, observed_at


def verification_record(*, actor, asset_code: str, finding: str, lon, lat, accuracy_m, observed_at,
                        client_id: uuid.UUID | str | None = None, note: str = "",
                        photos: Iterable[tuple[str, bytes]] = (), campaign: Campaign | None = None,
                        received_at: datetime.datetime | None = None) -> Recorded:
    """Record what a verifier found on site. Sending the same client_id again returns the first record.
    `received_at` is for loading past records (the demo) as if they had arrived then; the API and the pages never
    pass it: an observation is measured against the server's own clock."""
    try:
        client_id = uuid.UUID(str(client_id)) if client_id else uuid.uuid4()
    except ValueError:
        raise ValidationError({"client_id": _("client_id must be a UUID.")})
    existing = Verification.objects.filter(client_id=client_id).select_related("asset").first()
    if existing is not None:
        return _repeat(existing, actor=actor, asset_code=asset_code)
    asset = Asset.objects.filter(code=asset_code).first()
    if asset is None or not may_verify(actor, asset):
        raise NotInScope(_("There is no asset numbered “%(code)s” that you may verify.") % {"code": asset_code})
    finding, position, accuracy_m, observed_at = _clean_inputs(finding=finding, lon=lon, lat=lat, accuracy_m=accuracy_m,
                                                      observed_at=observed_at)
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": ngettext("At most %(n)d photo can be uploaded at once.",
                                                   "At most %(n)d photos can be uploaded at once.", MAX_PHOTOS)
                                          % {"n": MAX_PHOTOS}})
    try:
        read = [photo_read(data, name=name) for name, data in photos]
    except ValidationError as exc:  # keyed by the field it is about: the phone shows it next to the photos
        raise ValidationError({"photos": exc.messages})
    if campaign is not None and not campaign.items.filter(asset=asset).exists():
        raise ValidationError({"campaign": _("The asset is not in the chosen campaign.")})
    distance = _distance_to_asset(asset, position)
    flags = verification_flags(asset=asset, position=position, accuracy_m=accuracy_m, observed_at=observed_at,
                               photos=read, distance_m=distance, received_at=received_at)
    try:
        with transaction.atomic():
            record = _save(actor=actor, asset=asset, client_id=client_id, finding=finding, position=position,
                           accuracy_m=accuracy_m, observed_at=observed_at, note=note, distance=distance,
                           flags=flags, photos=read, campaign=campaign or _open_campaign_of(asset))
            if received_at is not None:
                Verification.objects.filter(pk=record.pk).update(received_at=received_at)
                record.received_at = received_at
    except IntegrityError:  # the same client_id arrived twice at once: the other request recorded it
        existing = Verification.objects.filter(client_id=client_id).select_related("asset").first()
        if existing is None:
            raise
        return _repeat(existing, actor=actor, asset_code=asset_code)
    return Recorded(record, True)


def _repeat(existing: Verification, *, actor, asset_code: str) -> Recorded:
    if existing.verifier_id != getattr(actor, "pk", None) or existing.asset.code != asset_code:
        raise ValidationError({"client_id": _("This client_id is already used by another verification.")})
    return Recorded(existing, False)


def _open_campaign_of(asset: Asset) -> Campaign | None:
    item = CampaignItem.objects.filter(asset=asset, campaign__is_open=True).select_related("campaign").first()
    return item.campaign if item else None


@contextlib.contextmanager
def _files_removed_on_error(record: Verification):
    """The photo files this save wrote are removed when it fails (a full disk mid-photo: ENOSPC), with the one
    written in part: the transaction rolls the rows back, no file stays without its row. The folder is the
    verification's own (verification.models.photo_path: asset code and client_id), and only one request at a time can
    be writing in it (the client_id's row is inserted, and locked, before any photo)."""
    folder = photo_path(Photo(verification=record), "")
    storage = Photo._meta.get_field("original").storage
    before = set(storage.listdir(folder)[1]) if storage.exists(folder) else set()
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            for name in set(storage.listdir(folder)[1]) - before:
                storage.delete(folder + name)
            if not before and storage.exists(folder) and storage.listdir(folder) == ([], []):
                storage.delete(folder.rstrip("/"))
        raise


def _save(*, actor, asset, client_id, finding, position, accuracy_m, observed_at, note, distance, flags, photos,
          campaign) -> Verification:
    record = Verification(
        client_id=client_id, asset=asset, campaign=campaign, verifier=actor, finding=finding, position=position,
        accuracy_m=accuracy_m, observed_at=observed_at, note=note[:4000], distance_m=distance, flags=flags,
        review=Review.PENDING if flags else Review.ACCEPTED,
    )
    record.full_clean(exclude=["asset", "verifier", "campaign", "received_at"])
    record._history_user = actor
    record._change_reason = _("field verification")
    record.save()
    with _files_removed_on_error(record):
        for index, photo in enumerate(photos, start=1):
            stored = Photo(
                verification=record, content_type=photo.content_type, size=len(photo.original), width=photo.width,
                height=photo.height, sha256=photo.sha256, phash=photo.phash, exif_taken_at=photo.taken_at,
                exif_position=Point(photo.lon, photo.lat, srid=SRID) if photo.lon is not None else None,
            )
            stored.original.save(f"{index}-original.{photo.extension}", ContentFile(photo.original), save=False)
            stored.public.save(f"{index}.jpg", ContentFile(photo.public), save=False)
            stored.thumbnail.save(f"{index}-thumb.jpg", ContentFile(photo.thumbnail), save=False)
            stored.save()
    if record.counts:
        register.asset_verified_mark(asset=asset, verified_at=observed_at, reason=_("Field verification: %(finding)s") % {
            "finding": record.get_finding_display()})
    return record


@transaction.atomic
def verification_review(*, actor, verification: Verification, approve: bool, comment: str = "",
                        apply_status: bool = False) -> Verification:
    """Approve or reject a flagged verification with a comment. Only an approved one counts for the register."""
    record = reviewable_by(actor).select_for_update().filter(pk=verification.pk).first()
    if record is None:
        raise PermissionDenied(_("You may not review this verification."))
    if record.verifier_id == actor.pk:
        raise PermissionDenied(_("You cannot review a verification you submitted yourself."))
    if record.review != Review.PENDING:
        raise ValidationError({"review": _("This verification has already been reviewed.")})
    comment = comment.strip()
    if not approve and not comment:
        raise ValidationError({"review_comment": _("Give a reason when rejecting.")})
    record.review = Review.APPROVED if approve else Review.REJECTED
    record.reviewed_by, record.reviewed_at, record.review_comment = actor, timezone.now(), comment
    record._history_user = actor
    record._change_reason = _("Review: approved") if approve else _("Review: rejected")
    record.save()
    if approve:
        register.asset_verified_mark(asset=record.asset, verified_at=record.observed_at,
                                     reason=_("Field verification (reviewed): %(finding)s") % {
                                         "finding": record.get_finding_display()})
        if apply_status:
            verification_status_apply(actor=actor, verification=record)
    return record


def verification_status_apply(*, actor, verification: Verification) -> Asset:
    """Carry a counted finding (完好/损坏/闲置) into the asset's status through the register's own rules and the
    actor's rights. 未找到 and 已拆除 go to the problem list: an asset leaves only through a disposal."""
    if not verification.counts:
        raise ValidationError({"review": _("Only a confirmed finding can update the asset's status.")})
    status = STATUS_FROM_FINDING.get(verification.finding)
    if status is None:
        raise ValidationError({"finding": _(
            "“Not found”, “demolished” and “used for another purpose” do not change the asset's status directly: "
            "check, then go through a disposal or a change.")})
    return register.asset_update(actor=actor, asset=verification.asset, changes={"status": status},
                                 reason=_("Verification finding: %(finding)s") % {
                                     "finding": verification.get_finding_display()})


def campaign_sample(*, assets: QuerySet[Asset], share: Decimal, top_value_count: int, seed: int) -> list[int]:
    """A stratified random sample: per township, `share` % of its assets (rounded up) drawn with `seed`, always
    including its `top_value_count` highest-value assets. The same inputs give the same sample."""
    rng = random.Random(seed)
    by_township: dict[int | None, list[tuple[int, Decimal]]] = {}
    for pk, township, value in assets.order_by("township_id", "id").values_list("id", "township_id",
                                                                                 "total_investment"):
        by_township.setdefault(township, []).append((pk, value))
    chosen = []
    for township in sorted(by_township, key=lambda t: (t is None, t or 0)):
        rows = by_township[township]
        top = [pk for pk, _v in sorted(rows, key=lambda r: (-r[1], r[0]))[:top_value_count]]
        rest = [pk for pk, _v in rows if pk not in set(top)]
        wanted = -(-len(rows) * share // 100)  # ceil
        draw = max(0, int(wanted) - len(top))
        chosen += top + sorted(rng.sample(rest, min(draw, len(rest))))
    return chosen


def campaign_default_county(actor) -> str | None:
    """The county of a campaign started with no area ("the whole county"): the actor's one county, or the register's
    only one; None when the actor reaches several (then the campaign's form asks for an area)."""
    counties = scope_for(actor).counties
    if counties is not None:
        return counties[0] if len(counties) == 1 else None
    return membership_county(None)


@transaction.atomic
def campaign_create(*, actor, name: str, kind: str, year: int, area: AdminArea | None = None,
                    asset_types: Sequence[str] = (), sample_share: Decimal = Decimal("100"),
                    top_value_count: int = 0, seed: int = 0, due_on: datetime.date | None = None) -> Campaign:
    """Open an annual inventory (every active asset of the scope) or a spot check (a stratified sample)."""
    scope = scope_for(actor)
    if not scope.is_county_admin:
        raise PermissionDenied(_("Only a county administrator may start a verification campaign."))
    if area is not None and not scope.reaches_area(area.code):
        raise PermissionDenied(_("A campaign covers an area of your own county."))
    if kind == CampaignKind.ANNUAL:
        sample_share, top_value_count = Decimal("100"), 0
    county = (county_code_of(area.code) if area is not None and area.level not in (AreaLevel.PREFECTURE, AreaLevel.PROVINCE)
              else campaign_default_county(actor))
    if county is None:  # a campaign draws, and is managed by, one county (README: every campaign carries its county)
        raise ValidationError({"area": _("You work in several counties: choose the county, township or village the "
                                         "campaign covers.")})
    campaign = Campaign(name=name, kind=kind, year=year, area=area, county_id=county, asset_types=list(asset_types),
                        sample_share=sample_share, top_value_count=top_value_count, seed=seed, due_on=due_on,
                        created_by=actor)
    campaign.full_clean(exclude=["created_by"])
    campaign._history_user = actor
    campaign.save()
    assets = Asset.objects.exclude(status=AssetStatus.DISPOSED)
    if county is not None:
        assets = assets.filter(county=county)
    if area is not None:
        assets = assets.in_area(area)
    if asset_types:
        assets = assets.filter(asset_type__in=asset_types)
    chosen = campaign_sample(assets=assets, share=Decimal(sample_share), top_value_count=top_value_count, seed=seed)
    bulk_create_with_history([CampaignItem(campaign=campaign, asset_id=pk) for pk in chosen], CampaignItem,
                             default_user=actor, default_change_reason=_("Campaign sample"))
    return campaign


@transaction.atomic
def campaign_assign(*, actor, campaign: Campaign, assignee, village: AdminArea | None = None) -> int:
    """Assign a campaign's assets (of one village, or all) to a verifier; returns how many."""
    if not scope_for(actor).is_county_admin or not scope_for(actor).reaches_county(campaign.county_id):
        raise PermissionDenied(_("Only a county administrator may assign a verification campaign."))
    if campaign.county_id and scope_for(assignee).counties is not None and \
            campaign.county_id not in scope_for(assignee).counties:
        raise ValidationError({"assignee": _("The verifier works in another county.")})
    if scope_for(assignee).role not in (Role.INSPECTOR, Role.TOWNSHIP, Role.VILLAGE, Role.DEPARTMENT):
        raise ValidationError({"assignee": _(
            "A campaign can only be assigned to accounts that may verify (inspectors, townships, villages, "
            "departments).")})
    items = campaign.items.all()
    if village is not None:
        items = items.filter(asset__village=village)
    items = list(items)
    for item in items:
        item.assignee = assignee
    bulk_update_with_history(items, CampaignItem, ["assignee"], default_user=actor,
                             default_change_reason=_("Campaign assignment"))
    return len(items)
