"""Business rules of the register. Every writer (admin, pages, API, importers, commands) goes through here."""

import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.gis.geos import (
    GEOSGeometry,
    LineString,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
    WKBWriter,
)
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from geo_assets import validation
from geo_assets.access import scope_for
from geo_assets.errors import NotInScope
from geo_assets.models import SRID, AdminArea, Asset, Disposal, FundingLine, OwnerShare
from geo_assets.models.register import asset_code_validator
from geo_assets.privacy import asset_public_name
from geo_assets.taxonomy import (
    AreaLevel,
    AssetStatus,
    DisposalStatus,
    Role,
)

GEOMETRY_FIELDS = ("point", "line", "polygon")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Share:
    owner_name: str
    owner_kind: str
    share: Decimal


def geometry_split(geom: GEOSGeometry | None) -> dict[str, GEOSGeometry | None]:
    """Put a geometry into the asset's concrete column: point, multi-line or multi-polygon."""
    result: dict[str, GEOSGeometry | None] = dict.fromkeys(GEOMETRY_FIELDS)
    if geom is None:
        return result
    if geom.srid is None:
        geom.srid = SRID
    elif geom.srid != SRID:
        geom = geom.transform(SRID, clone=True)
    if geom.hasz:
        geom = GEOSGeometry(memoryview(_drop_z(geom)), srid=SRID)
    if isinstance(geom, Point):
        result["point"] = geom
    elif isinstance(geom, LineString):
        result["line"] = MultiLineString(geom, srid=SRID)
    elif isinstance(geom, MultiLineString):
        result["line"] = geom
    elif isinstance(geom, Polygon):
        result["polygon"] = MultiPolygon(geom, srid=SRID)
    elif isinstance(geom, MultiPolygon):
        result["polygon"] = geom
    else:
        raise ValidationError({"geometry": _("Unsupported geometry type %(type)s: use a point, line or polygon.")
                               % {"type": geom.geom_type}})
    return result


def _drop_z(geom: GEOSGeometry) -> bytes:
    writer = WKBWriter()
    writer.outdim = 2
    return bytes(writer.write(geom))


def _require_editable(actor, asset: Asset) -> None:
    if asset.pk is not None and not Asset.objects.editable_by(actor).filter(pk=asset.pk).exists():
        raise NotInScope(_("You may not change assets outside your area or sector."))
    if not _in_scope_unsaved(actor, asset):
        raise NotInScope(_scope_refusal(actor, asset))


def _scope_refusal(actor, asset: Asset) -> str:
    """Why an asset, as it is in memory, falls outside the actor's area or sector — in words a clerk understands."""
    scope = scope_for(actor)
    if scope.role in (Role.TOWNSHIP, Role.VILLAGE) and asset.village_id:
        own = AdminArea.objects.filter(pk=scope.area_id).values_list("name", flat=True).first() or "—"
        township = asset.village.parent.name if asset.village.parent_id else ""
        return _("The location lies in %(village)s (%(township)s), outside your area %(own)s: an asset cannot be "
                 "moved or entered outside your area.") % {"village": asset.village.name, "township": township,
                                                          "own": own}
    if scope.counties is not None and asset_county(asset) not in scope.counties:
        return _("The location lies outside your county: an asset cannot be entered or moved into another county.")
    if scope.role == Role.DEPARTMENT:
        return _("The asset type %(type)s is not one your department manages.") % {
            "type": asset.get_asset_type_display()}
    return _("You may not change assets outside your area or sector.")


def _in_scope_unsaved(actor, asset: Asset) -> bool:
    """Would the asset, as it is now in memory, fall inside the actor's scope?"""
    return scope_for(actor).covers(asset_type=asset.asset_type, village_id=asset.village_id,
                                   township_id=asset.township_id, county=asset_county(asset))


def asset_county(asset: Asset) -> str | None:
    """The county code an asset, as it is in memory, lies in (what the database fills in on saving)."""
    from geo_assets.taxonomy import county_code_of

    area = asset.township if asset.township_id else (asset.village if asset.village_id else None)
    if area is not None:
        return county_code_of(area.code)
    geom = asset.geometry
    if geom is None:
        return None
    return (AdminArea.objects.filter(level=AreaLevel.COUNTY, geom__covers=geom.point_on_surface)
            .order_by("code").values_list("code", flat=True).first())


def asset_locate(*, asset: Asset) -> None:
    """Derive village and township from the geometry; a stated village must contain it. Containment is
    validation.villages_covering, the same PostGIS test the importers run for thousands of rows at once."""
    geom = asset.geometry
    if geom is None:
        return
    covering = validation.villages_covering([bytes(geom.wkb)], SRID)[0].villages
    if asset.village_id:
        village = asset.village
        if village.level != AreaLevel.VILLAGE:
            raise ValidationError({"village": _("%(name)s is not a village.") % {"name": village.name}})
        if village.pk not in covering:
            raise ValidationError({"village": _("The asset's location is not inside the village %(name)s.")
                                   % {"name": village.name}})
    else:
        village = AdminArea.objects.filter(pk__in=covering[:1]).with_parent().first()
        if village is None:
            raise ValidationError({"geometry": _("The asset's location is not inside any village of the county.")})
        asset.village = village
    if asset.township_id and asset.township_id != village.parent_id:
        raise ValidationError({"township": _("The village %(village)s does not belong to the township %(township)s.")
                               % {"village": village.name, "township": asset.township.name}})
    asset.township_id = village.parent_id


def _asset_apply_rules(asset: Asset) -> None:
    validation.asset_rules_apply(asset)  # the same rules the importers' bulk path applies


def _asset_code_next(asset: Asset) -> str:
    """Codes are <12-digit village code>-<4-digit number within the village>."""
    AdminArea.objects.select_for_update().filter(pk=asset.village_id).first()
    prefix = f"{asset.village.code}-"
    numbers = Asset.objects.filter(code__startswith=prefix, code__regex=r"^\d{12}-\d{4,}$").values_list("code", flat=True)
    number = max((int(code.rsplit("-", 1)[1]) for code in numbers), default=0) + 1  # 10000 follows 9999
    return f"{prefix}{number:04d}"


def asset_check(*, actor, asset: Asset) -> None:
    """Apply and check every rule on an asset in memory, without saving it."""
    disposed = asset.pk is not None and Disposal.objects.filter(asset_id=asset.pk,
                                                                status=DisposalStatus.EXECUTED).exists()
    # Every fault at once (issue 21 item 20), not one per attempt: each check adds to one ValidationError.
    errors: dict[str, list] = {}

    def collect(check, *args, **kwargs) -> bool:
        try:
            check(*args, **kwargs)
        except ValidationError as exc:
            for key, messages in (exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc}).items():
                errors.setdefault(key, []).extend(m for m in ValidationError(messages).messages
                                                  if m not in errors.get(key, []))
            return False
        return True

    collect(validation.status_check, asset.status, disposed=disposed)
    collect(_asset_apply_rules, asset)
    if collect(asset_locate, asset=asset):
        _require_editable(actor, asset)  # needs the village asset_locate found
    # village and township were checked by asset_locate (no second look-up of the foreign keys)
    collect(asset.full_clean, exclude=["location", "geom_web", "code", "village", "township"])
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def asset_save(*, actor, asset: Asset, reason: str) -> Asset:
    """Check an asset in memory and save it, with the actor and reason in its history."""
    asset_check(actor=actor, asset=asset)
    stored, stored_code = (Asset.objects.filter(pk=asset.pk).values_list("last_verified_at", "code").first()
                           if asset.pk else None) or (None, None)
    if asset.last_verified_at != stored:  # one definition of "verified": querysets.verified_q
        raise ValidationError({"last_verified_at": _(
            "The last verification date is set only by on-site verifications that count; it cannot be entered or "
            "imported.")})
    if not asset.code:
        asset.code = _asset_code_next(asset)
    elif asset.code != stored_code and not asset_code_validator.regex.search(asset.code):  # a code given or changed
        raise ValidationError({"code": asset_code_validator.message})
    elif Asset.objects.filter(code=asset.code).exclude(pk=asset.pk).exists():
        raise ValidationError({"code": _("The asset code %(code)s is already used.") % {"code": asset.code}})
    asset.public_name = asset_public_name(asset)[:200]
    asset._change_reason = reason
    if actor is not None and getattr(actor, "is_authenticated", False):
        asset._history_user = actor
    asset.save()
    return asset


def owner_shares_validate(*, asset: Asset, shares: list[Share]) -> None:
    validation.owner_shares_check(shares, asset_type=asset.asset_type, registration_status=asset.registration_status)


def _funding_total(funding: Iterable[tuple[str, Decimal]]) -> Decimal:
    return validation.funding_total(funding)


@transaction.atomic
def asset_register(
    *,
    actor,
    fields: Mapping[str, Any],
    geometry: GEOSGeometry,
    funding: Iterable[tuple[str, Decimal]] = (),
    owners: Iterable[Share] = (),
    reason: str = "",
) -> Asset:
    """Enter a new asset with its funding sources and owners."""
    asset = Asset(**fields, **geometry_split(geometry))
    funding = list(funding)
    owners = list(owners)
    if funding:
        _funding_validate(funding)
        asset.total_investment = _funding_total(funding)
    _shares_validate_for(asset, owners)
    reason = reason or _("entered in the register")
    asset_save(actor=actor, asset=asset, reason=reason)
    _children_replace(asset, funding, owners, actor=actor, reason=reason, created=True)
    return asset


@transaction.atomic
def asset_update(
    *,
    actor,
    asset: Asset,
    changes: Mapping[str, Any],
    geometry: GEOSGeometry | None = None,
    funding: Iterable[tuple[str, Decimal]] | None = None,
    owners: Iterable[Share] | None = None,
    reason: str = "",
) -> Asset:
    """Change an asset; the actor must be allowed to edit it both before and after the change."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    _require_editable(actor, asset)
    if "status" in changes and changes["status"] == AssetStatus.DISPOSED != asset.status:
        raise ValidationError({"status": _("An asset becomes disposed only through an approved disposal.")})
    if ("village" in changes or "village_id" in changes or geometry is not None) and "township" not in changes:
        asset.township_id = None
    for name, value in changes.items():
        setattr(asset, name, value)
    if geometry is not None:
        for name, value in geometry_split(geometry).items():
            setattr(asset, name, value)
        if "village" not in changes and "village_id" not in changes:
            asset.village_id = None
    funding = None if funding is None else list(funding)
    if funding:
        _funding_validate(funding)
        asset.total_investment = _funding_total(funding)
    if owners is not None:
        owners = list(owners)
        _shares_validate_for(asset, owners)
    reason = reason or _("changed")
    asset_save(actor=actor, asset=asset, reason=reason)
    _children_replace(asset, funding, owners, actor=actor, reason=reason)
    return asset


def _shares_validate_for(asset: Asset, owners: list[Share]) -> None:
    owner_shares_validate(asset=asset, shares=owners)
    asset.owner_kind = validation.owner_kind_for(asset.owner_kind, owners)


def _funding_validate(funding: list[tuple[str, Decimal]]) -> None:
    validation.funding_check(funding)


def _children_replace(asset: Asset, funding, owners, *, actor, reason: str, created: bool = False) -> None:
    """Sync funding lines and owner shares: update in place, add new, and zero out lines no longer listed.
    Sources and owner names were checked for duplicates before, so rows are unique by construction."""
    if funding is not None:
        existing = {} if created else {line.source: line for line in asset.funding.all()}
        for source, amount in funding:
            line = existing.pop(source, None) or FundingLine(asset=asset, source=source)
            if line.pk is None or line.amount != Decimal(amount):
                line.amount = Decimal(amount)
                _child_save(line, reason, actor)
        for line in existing.values():
            if line.amount != 0:
                line.amount = Decimal("0")
                _child_save(line, reason, actor)
    if owners is not None:
        existing_shares = {} if created else {s.owner_name: s for s in asset.owners.all()}
        for share in owners:
            row = existing_shares.pop(share.owner_name, None) or OwnerShare(asset=asset, owner_name=share.owner_name)
            if row.pk is None or (row.owner_kind, row.share) != (share.owner_kind, share.share):
                row.owner_kind, row.share = share.owner_kind, share.share
                _child_save(row, reason, actor)
        for row in existing_shares.values():
            # A former owner keeps its row (nothing is deleted) with a zero share.
            if row.share != 0:
                row.share = Decimal("0")
                _child_save(row, reason, actor)


def _child_save(obj, reason: str, actor) -> None:
    obj.full_clean(exclude=["asset"], validate_unique=False)  # the asset is the one just checked
    obj._change_reason = reason
    if actor is not None and getattr(actor, "is_authenticated", False):
        obj._history_user = actor
    obj.save()


@transaction.atomic
def asset_dispose(
    *,
    actor,
    asset: Asset,
    method: str,
    approval_reference: str,
    approved_on: datetime.date,
    proceeds: Decimal = Decimal("0"),
) -> Disposal:
    """Record a disposal that was approved and carried out (e.g. before the register existed) in one step.
    New disposals go through the workflow in lifecycle.services (request, assessment, approval, execution)."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    _require_editable(actor, asset)
    if asset.status == AssetStatus.DISPOSED:
        raise ValidationError({"status": _("The asset has already been disposed of.")})
    if not approval_reference.strip():
        raise ValidationError({"approval_reference": _("A disposal needs the approval document.")})
    if Disposal.objects.filter(asset=asset).exclude(status=DisposalStatus.REJECTED).exists():
        raise ValidationError({"status": _("The asset already has a disposal request in progress: follow the disposal "
                                             "workflow.")})
    disposal = Disposal.objects.filter(asset=asset).first() or Disposal(asset=asset)
    disposal.method, disposal.approval_reference, disposal.approved_on = method, approval_reference, approved_on
    disposal.proceeds, disposal.recorded_by = proceeds, actor
    disposal.status, disposal.executed_on = DisposalStatus.EXECUTED, approved_on
    disposal.full_clean()
    disposal._change_reason = approval_reference
    if getattr(actor, "is_authenticated", False):
        disposal._history_user = actor
    disposal.save()
    asset.status = AssetStatus.DISPOSED
    asset._change_reason = _("disposed: %(ref)s") % {"ref": approval_reference}
    asset._history_user = actor
    asset.full_clean(exclude=["location", "geom_web"])
    asset.save()
    return disposal


@transaction.atomic
def asset_funding_set(*, actor, asset: Asset, funding: Iterable[tuple[str, Decimal]], reason: str = "") -> Asset:
    """Replace an asset's funding sources; the total investment follows their sum."""
    funding = list(funding)
    _funding_validate(funding)
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    _require_editable(actor, asset)
    _children_replace(asset, funding, None, actor=actor, reason=reason)
    total = _funding_total(funding)
    if funding and asset.total_investment != total:
        asset.total_investment = total
        asset_save(actor=actor, asset=asset, reason=reason or _("funding changed"))
    return asset


@transaction.atomic
def asset_owners_set(*, actor, asset: Asset, owners: Iterable[Share], reason: str = "") -> Asset:
    """Replace an asset's owners and shares (they must add up to 100 %)."""
    owners = list(owners)
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    _require_editable(actor, asset)
    _shares_validate_for(asset, owners)
    _children_replace(asset, None, owners, actor=actor, reason=reason)
    return asset


def asset_context_areas(*, actor, asset: Asset | None, tolerance: float = 0.0002) -> dict:
    """GeoJSON of the boundaries to draw around an asset being edited: its village and the neighbouring villages,
    or, for a new asset, the villages the actor may enter assets in (townships for county-wide roles)."""
    if asset is not None and asset.village_id:
        areas = AdminArea.objects.villages().filter(geom__touches=asset.village.geom) | AdminArea.objects.filter(
            pk=asset.village_id)
        own = {asset.village_id}
    else:
        scoped = AdminArea.objects.within_scope_of(actor)
        scope = scope_for(actor)
        areas = scoped.townships() if scope.role in ("county_admin", "department") else scoped.villages()
        own = set()
    features = []
    for area in areas.only("id", "code", "name", "geom"):
        geom = area.geom.simplify(tolerance, preserve_topology=True)
        features.append({"type": "Feature", "geometry": json.loads(geom.geojson),
                         "properties": {"code": area.code, "name": area.name, "own": area.pk in own}})
    return {"type": "FeatureCollection", "features": features}


@transaction.atomic
def area_save(*, actor, area: AdminArea, reason: str) -> AdminArea:
    """Create or change an area (county administrators only, within their county; a county or anything above it,
    in a register of several counties, a system administrator)."""
    scope = scope_for(actor)
    if not scope.is_county_admin:
        raise NotInScope(_("Only county administrators may change administrative areas."))
    stored = AdminArea.objects.filter(pk=area.pk).values_list("code", flat=True).first() if area.pk else None
    if scope.counties is not None and (
            not scope.reaches_area(area.code) or (stored is not None and not scope.reaches_area(stored))
            or area.level in (AreaLevel.PROVINCE, AreaLevel.PREFECTURE)
            or (area.level == AreaLevel.COUNTY and area.pk is None)):
        raise NotInScope(_("County administrators change the areas of their own county only."))
    if area.level != AreaLevel.PROVINCE and area.parent is not None:
        from geo_assets.taxonomy import PARENT_LEVEL

        expected_parent = PARENT_LEVEL[area.level]
        if area.parent.level != expected_parent:
            raise ValidationError({"parent": _("The parent of a %(level)s must be a %(parent)s.")
                                   % {"level": area.get_level_display(),
                                      "parent": AreaLevel(expected_parent).label}})
    area.full_clean(exclude=["geom_web"])
    area._change_reason = reason
    if actor is not None and getattr(actor, "is_authenticated", False):
        area._history_user = actor
    area.save()
    return area


ROLE_AREA_LEVEL = {"township": AreaLevel.TOWNSHIP, "village": AreaLevel.VILLAGE, "prefecture": AreaLevel.PREFECTURE,
                   "province": AreaLevel.PROVINCE}


@transaction.atomic
def user_grant_role(*, actor, username: str, role: str, area_code: str | None = None,
                    department_name: str | None = None, county_code: str | None = None) -> tuple[Any, str | None]:
    """Give a user (created when new, with a generated password that is returned) one more role in the register:
    a person may hold several (Membership), and acts in one at a time (membership_activate). A county's bodies
    belong to a county: the county of the area, else `county_code`, else the register's only county. County
    administrators grant roles of their own county; the oversight roles of a prefecture or province only a
    superuser. Township and village roles need an area of that level, departments a department."""
    from django.contrib.auth import get_user_model
    from django.utils.crypto import get_random_string

    from geo_assets.models import Department, Membership
    from geo_assets.models.register import membership_county
    from geo_assets.taxonomy import COUNTY_ROLES, OVERSIGHT_ROLES, Role, county_code_of

    scope = scope_for(actor)
    if not scope.is_county_admin:
        raise NotInScope(_("Only county administrators may grant roles."))
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role %(role)s.") % {"role": role}})
    if role in OVERSIGHT_ROLES and not getattr(actor, "is_superuser", False):
        raise NotInScope(_("Only a system administrator may grant the prefecture's and province's roles."))
    area = department = None
    if role in ROLE_AREA_LEVEL:
        area = AdminArea.objects.filter(code=area_code or "", level=ROLE_AREA_LEVEL[role]).first()
        if area is None:
            raise ValidationError({"area": _("No %(level)s with the code %(code)s.")
                                   % {"level": AreaLevel(ROLE_AREA_LEVEL[role]).label, "code": area_code or "—"}})
    if role == Role.DEPARTMENT:
        department = Department.objects.filter(name=department_name or "").first()
        if department is None:
            raise ValidationError({"department": _("No department named %(name)s.") % {"name": department_name or "—"}})
    county = None
    if role in COUNTY_ROLES:
        if area is not None:
            county = county_code_of(area.code)
        elif county_code:
            county = AdminArea.objects.filter(code=county_code, level=AreaLevel.COUNTY).values_list(
                "code", flat=True).first()
            if county is None:
                raise ValidationError({"county": _("No county with the code %(code)s.") % {"code": county_code}})
        else:  # the granter's own county, else the register's only one
            county = scope.counties[0] if scope.counties and len(scope.counties) == 1 else membership_county(None)
            if county is None and AdminArea.objects.filter(level=AreaLevel.COUNTY).exists():
                raise ValidationError({"county": _("The register holds several counties: say which county the "
                                                   "role belongs to (its 12-digit code).")})
        if scope.counties is not None and county not in scope.counties:
            raise NotInScope(_("County administrators grant roles of their own county only."))
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    password = None
    if user is None:
        password = get_random_string(14)
        user = User(username=username)
        user.set_password(password)
        user.full_clean(exclude=["password"])
    elif scope.counties is not None and Membership.objects.filter(user=user).exclude(
            county__in=scope.counties).exists():
        raise NotInScope(_("This account holds roles outside your county: ask a system administrator."))
    user.is_staff = user.is_staff or role != Role.PUBLIC
    user.save()
    membership = Membership.objects.filter(user=user, role=role, area=area, department=department).first()
    if membership is None:
        membership = Membership(user=user, role=role, area=area, department=department, county_id=county,
                                current=not Membership.objects.filter(user=user, current=True).exists())
        membership.full_clean(exclude=["user", "county"])
        membership._change_reason = _("role granted")
        if getattr(actor, "is_authenticated", False):
            membership._history_user = actor
        membership.save()
    user._asset_scope = None
    return user, password


@transaction.atomic
def membership_activate(*, actor, membership_id: int):
    """The user acts in another of their own memberships from now on (every session and token of theirs)."""
    from geo_assets.models import Membership

    chosen = Membership.objects.select_for_update().filter(pk=membership_id, user=actor).first()
    if chosen is None:
        raise NotInScope(_("This role is not one of yours."))
    if not chosen.current:
        Membership.objects.filter(user=actor, current=True).update(current=False)
        chosen.current = True
        chosen._change_reason = _("role chosen")
        chosen._history_user = actor
        chosen.save(update_fields=["current"])
    actor._asset_scope = None
    return chosen


@transaction.atomic
def asset_verified_mark(*, asset: Asset, verified_at: datetime.datetime, reason: str) -> Asset:
    """An on-site verification confirmed the asset: move `last_verified_at` forward (never back), with a history
    row. Only the verification services call this, after checking the verifier's right to verify."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if asset.last_verified_at is not None and asset.last_verified_at >= verified_at:
        return asset
    asset.last_verified_at = verified_at
    asset._change_reason = reason
    asset.save(update_fields=["last_verified_at", "updated_at"])
    return asset
