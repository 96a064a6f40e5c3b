"""OGC API – Features (Part 1 Core, Part 2 CRS) over the register: the logic; layers/views_ogc.py only translates.

Collections: `assets` (every asset the caller sees), one per category, `villages` and `townships` (public).
Rights are the map's: `Asset.objects.visible_to(user)` and, for the public, geo_assets.privacy's Redactor.
Filters go through layers.filters (the one filter place of the map); `bbox`/`bbox-crs` and `datetime` are read
here because their CRS and time rules are the standard's; `filter` (Part 3, CQL2) is translated by layers.ogc_filter
into one more condition on the role's queryset.

Paging is keyset on the primary key: the `next` link carries an opaque cursor (the last key of the page), so the
last page of a million costs what the first does. Geometry is written by PostGIS (ST_AsGeoJSON, transformed and,
for the geographic EPSG CRSs, flipped to latitude/longitude as EPSG defines their axes).
"""

import base64
import datetime
import json
import math
from dataclasses import dataclass

from django.contrib.gis.db.models import Extent, GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.gis.geos import Polygon
from django.core.exceptions import ValidationError
from django.db.models import Func, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from geo_assets.access import scope_for
from geo_assets.models import SRID, AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import AreaLevel, AssetStatus, AssetType, Category
from layers import ogc_filter
from layers.filters import asset_filters_apply, asset_filters_parse, projects_offered
from verification.selectors import verifications_shown_to
from verification.taxonomy import Finding, Review

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
WEB_SRID = 3857
# CGCS2000 / 3-degree Gauss–Krüger CM 75E … CM 135E (axes: northing X, easting Y)
GK_ZONES = range(4534, 4555)
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    *ogc_filter.CONFORMANCE,
]


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int | None  # None: CRS84, the stored lon/lat coordinates as they are
    lat_first: bool = False  # EPSG:4326 / 4490: latitude, longitude
    north_first: bool = False  # the Gauss–Krüger zones: northing, easting


def crs_get(uri: str | None) -> Crs:
    """The CRS a `crs` / `bbox-crs` parameter names (CRS84 when absent); ValidationError for any other."""
    if not uri or uri in (CRS84, "CRS84", "OGC:CRS84"):
        return Crs(CRS84, None)
    code = uri[len(EPSG):] if uri.startswith(EPSG) else uri.removeprefix("EPSG:")
    if code.isdigit():
        srid = int(code)
        if srid in (4326, SRID):
            return Crs(EPSG + code, srid, lat_first=True)
        if srid == WEB_SRID:
            return Crs(EPSG + code, srid)
        if srid in GK_ZONES:
            return Crs(EPSG + code, srid, north_first=True)
    raise ValidationError({"crs": _("This CRS is not offered: %(value)s. Give one of those listed by the "
                                    "collection.") % {"value": uri[:80]}})


def gk_zone(lon: float) -> int:
    """The EPSG code of the CGCS2000 3° Gauss–Krüger zone (central meridian a multiple of 3°) holding `lon`."""
    cm = int(round(lon / 3.0)) * 3
    return 4534 + (min(max(cm, 75), 135) - 75) // 3


# ---------------------------------------------------------------- collections


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    kind: str  # "assets", "areas" or "verifications" (staff accounts only)
    category: str | None = None
    level: str | None = None


def collections(user) -> list[Collection]:
    """The collections this caller may read: the verifications only for staff accounts (the map's rule for
    anything beyond the published register, as the project filter)."""
    found = [Collection("assets", _("Assets"), "assets")]
    for category in Category:
        found.append(Collection(category.value, str(category.label), "assets", category=category.value))
    found.append(Collection("villages", _("Villages"), "areas", level=AreaLevel.VILLAGE))
    found.append(Collection("townships", _("Townships"), "areas", level=AreaLevel.TOWNSHIP))
    if projects_offered(user):
        found.append(Collection("verifications", _("Verifications"), "verifications"))
    return found


def collection_get(collection_id: str, user) -> Collection | None:
    return next((c for c in collections(user) if c.id == collection_id), None)


def base_queryset(collection: Collection, user) -> QuerySet:
    if collection.kind == "areas":
        return AdminArea.objects.filter(level=collection.level).select_related("parent")
    if collection.kind == "verifications":
        return verifications_shown_to(user).select_related("asset", "asset__village")
    qs = Asset.objects.visible_to(user).select_related("village", "township")
    if collection.category:
        qs = qs.filter(category=collection.category)
    return qs


def _geometry_expr(collection: Collection):
    if collection.kind == "areas":
        return "geom"
    if collection.kind == "verifications":
        return "position"
    return Coalesce("point", "line", "polygon", output_field=GeometryField(srid=SRID))


def collection_extent(collection: Collection, user) -> list[float] | None:
    """The collection's extent in CRS84 (what the caller sees of it)."""
    field = {"areas": "geom", "verifications": "position"}.get(collection.kind, "location")
    box = base_queryset(collection, user).aggregate(box=Extent(field))["box"]
    return [round(v, 6) for v in box] if box else None


def crs_list(extent: list[float] | None) -> list[str]:
    """The CRSs offered: CRS84, EPSG:4326, EPSG:4490, EPSG:3857 and the Gauss–Krüger zones the extent touches."""
    uris = [CRS84, EPSG + "4326", EPSG + str(SRID), EPSG + str(WEB_SRID)]
    if extent:
        uris += [EPSG + str(code) for code in range(gk_zone(extent[0]), gk_zone(extent[2]) + 1)]
    return uris


# ---------------------------------------------------------------- items


@dataclass(frozen=True)
class ItemQuery:
    limit: int
    cursor: tuple[int, bool] | None
    crs: Crs
    bbox: Polygon | None
    since: datetime.datetime | None
    until: datetime.datetime | None
    filters: object | None
    where: object | None = None  # the `filter` parameter's condition (layers.ogc_filter)


def _limit(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ValidationError({"limit": _("limit is a whole number from 1 to %(max)s.") % {"max": MAX_LIMIT}})
    return int(value)


def cursor_encode(pk: int, *, before: bool = False) -> str:
    """An opaque page key: the rows after (`next`) or before (`prev`) this primary key."""
    return base64.urlsafe_b64encode(f"{'b' if before else 'k'}{pk}".encode()).decode().rstrip("=")


def cursor_decode(value: str | None) -> tuple[int, bool] | None:
    """(primary key, before?) of a cursor; None for the first page."""
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        if raw[:1] in ("k", "b") and raw[1:].isdigit() and len(raw) < 20:
            return int(raw[1:]), raw[0] == "b"
    except (ValueError, UnicodeDecodeError):
        pass
    raise ValidationError({"cursor": _("This page link is not valid; start again from the first page.")})


def _bbox(value: str | None, crs: Crs) -> Polygon | None:
    """`bbox` in `bbox-crs` (its axis order) → a polygon in EPSG:3857, to meet the indexed `geom_web` columns."""
    if not value:
        return None
    message = _("bbox is four numbers: the lower corner then the upper corner, in the axis order of bbox-crs.")
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise ValidationError({"bbox": message})
    if len(numbers) != 4 or not all(math.isfinite(n) and abs(n) < 1e8 for n in numbers):
        raise ValidationError({"bbox": message})
    a0, b0, a1, b1 = numbers
    x0, y0, x1, y1 = (b0, a0, b1, a1) if (crs.lat_first or crs.north_first) else (a0, b0, a1, b1)
    if not (x0 < x1 and y0 < y1):
        raise ValidationError({"bbox": message})
    if crs.srid in (None, 4326, SRID):
        if not (-180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90):
            raise ValidationError({"bbox": message})
        x0, x1 = max(x0, -180), min(x1, 180)
        y0, y1 = max(y0, -85), min(y1, 85)
    box = Polygon.from_bbox((x0, y0, x1, y1))
    box.srid = crs.srid if crs.srid not in (None, 4326) else SRID
    if box.srid != WEB_SRID:
        box.transform(WEB_SRID)
    return box


def _instant(value: str, *, end: bool) -> datetime.datetime | None:
    if value in ("", ".."):
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.datetime.combine(day + datetime.timedelta(days=1) if end else day, datetime.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if not 1900 <= moment.year <= 2200:
        raise ValueError(value)
    return moment


def _datetime(value: str | None) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """`datetime` on the last change: an instant, a date, or an interval `a/b` with `..` for an open end."""
    if not value:
        return None, None
    try:
        if "/" in value:
            start, stop = value.split("/", 1)
            return _instant(start, end=False), _instant(stop, end=True)
        if parse_datetime(value) is not None:
            moment = _instant(value, end=False)
            return moment, moment + datetime.timedelta(microseconds=1)
        return _instant(value, end=False), _instant(value, end=True)
    except ValueError:
        raise ValidationError({"datetime": _("datetime is a date or time (RFC 3339), or an interval start/end "
                                             "with .. for an open end.")})


# OGC query parameter → the map's filter parameter (layers.filters)
PROPERTY_FILTERS = {"type": "type", "status": "status", "village_code": "village", "township_code": "township",
                    "category": "category", "year_built": "year_min"}


def items_query(collection: Collection, params, user) -> ItemQuery:
    crs = crs_get(params.get("crs"))
    filters = None
    if collection.kind == "assets":
        mapped = {target: params[name] for name, target in PROPERTY_FILTERS.items() if params.get(name)}
        if "year_min" in mapped:
            mapped["year_max"] = mapped["year_min"]
        try:
            filters = asset_filters_parse(mapped, user=user)
        except ValidationError as exc:
            back = {v: k for k, v in PROPERTY_FILTERS.items()}
            raise ValidationError({back.get(k, k): v for k, v in exc.message_dict.items()})
    since, until = _datetime(params.get("datetime"))
    return ItemQuery(limit=_limit(params.get("limit")), cursor=cursor_decode(params.get("cursor")), crs=crs,
                     bbox=_bbox(params.get("bbox"), crs_get(params.get("bbox-crs"))), since=since, until=until,
                     filters=filters, where=_filter(collection, params, user))


def _filter(collection: Collection, params, user):
    """The `filter` / `filter-lang` / `filter-crs` parameters (Part 3) as a condition, or None."""
    if not params.get("filter"):
        if params.get("filter-lang") or params.get("filter-crs"):
            raise ValidationError({"filter": _("filter-lang and filter-crs go with a filter.")})
        return None
    try:
        crs = crs_get(params.get("filter-crs"))
    except ValidationError as exc:
        raise ValidationError({"filter-crs": exc.message_dict["crs"]})
    return ogc_filter.filter_condition(
        params.get("filter"), lang=params.get("filter-lang"), kind=collection.kind,
        crs=ogc_filter.FilterCrs(srid=crs.srid, swap_axes=crs.lat_first or crs.north_first),
        full_names=Redactor(scope_for(user)).full)


def _geojson_annotation(collection: Collection, crs: Crs):
    geom = _geometry_expr(collection)
    if crs.srid == WEB_SRID and collection.kind != "verifications":
        geom = "geom_web"
    elif crs.srid not in (None, 4326, SRID):  # incl. 3857 for the verifications (no stored web geometry)  # CGCS2000 and WGS 84 coincide within a metre: stored as is
        geom = Transform(geom, crs.srid)
    if crs.lat_first or crs.north_first:
        geom = Func(geom, function="ST_FlipCoordinates", output_field=GeometryField())
    return AsGeoJSON(geom, precision=3 if crs.srid == WEB_SRID or crs.north_first else 7)


def filtered(collection: Collection, query: ItemQuery, user) -> QuerySet:
    qs = base_queryset(collection, user)
    if query.filters is not None:
        qs = asset_filters_apply(qs, query.filters)
    if query.where is not None:
        qs = qs.filter(query.where)
    if query.bbox is not None and collection.kind == "verifications":
        qs = qs.filter(position__intersects=query.bbox.transform(SRID, clone=True))
    elif query.bbox is not None:
        qs = qs.filter(geom_web__intersects=query.bbox)
    if collection.kind == "verifications":
        if query.since is not None:
            qs = qs.filter(observed_at__gte=query.since)
        if query.until is not None:
            qs = qs.filter(observed_at__lt=query.until)
    if collection.kind == "assets":
        if query.since is not None:
            qs = qs.filter(updated_at__gte=query.since)
        if query.until is not None:
            qs = qs.filter(updated_at__lt=query.until)
    return qs


def _number(value):
    return None if value is None else float(value)


def _when(value):
    return None if value is None else value.isoformat()


def asset_properties(asset: Asset, redactor: Redactor) -> dict:
    return {
        "code": asset.code, "name": redactor.asset_name(asset),
        "category": asset.category, "category_label": str(asset.get_category_display()),
        "type": asset.asset_type, "type_label": str(asset.get_asset_type_display()),
        "status": asset.status, "status_label": str(asset.get_status_display()),
        "village_code": asset.village.code if asset.village else None,
        "village_name": asset.village.name if asset.village else None,
        "township_code": asset.township.code if asset.township else None,
        "township_name": asset.township.name if asset.township else None,
        "year_built": asset.year_built, "total_investment": _number(asset.total_investment),
        "last_verified_at": _when(asset.last_verified_at), "updated_at": _when(asset.updated_at),
    }


def area_properties(area: AdminArea) -> dict:
    return {"code": area.code, "name": area.name, "level": area.level, "level_label": str(area.get_level_display()),
            "parent_code": area.parent.code if area.parent else None}


def verification_properties(record, redactor: Redactor) -> dict:
    """A verification as staff see it on the map: no free text, no verifier."""
    asset = record.asset
    return {"id": record.pk, "asset_code": asset.code, "asset_name": redactor.asset_name(asset),
            "village_code": asset.village.code if asset.village else None,
            "finding": record.finding, "finding_label": str(record.get_finding_display()),
            "review": record.review, "review_label": str(record.get_review_display()),
            "observed_at": _when(record.observed_at), "accuracy_m": record.accuracy_m,
            "distance_m": record.distance_m, "flags": list(record.flags)}


def _properties(collection: Collection, row, redactor: Redactor) -> dict:
    if collection.kind == "assets":
        return asset_properties(row, redactor)
    if collection.kind == "verifications":
        return verification_properties(row, redactor)
    return area_properties(row)


def _feature(collection: Collection, row, redactor: Redactor) -> dict:
    properties = _properties(collection, row, redactor)
    feature_id = str(row.pk) if collection.kind == "verifications" else row.code
    return {"type": "Feature", "id": feature_id, "geometry": json.loads(row.gj) if row.gj else None,
            "properties": properties}


def items_page(collection: Collection, query: ItemQuery, user) -> dict:
    """One page: features, numberMatched, numberReturned and the cursors of the next and previous pages (None on
    the last / the first)."""
    qs = filtered(collection, query, user)
    matched = qs.count()
    key, before = query.cursor if query.cursor is not None else (None, False)
    if before:
        page = qs.filter(pk__lt=key).order_by("-pk")
    else:
        page = qs.order_by("pk") if key is None else qs.filter(pk__gt=key).order_by("pk")
    if collection.kind == "assets":
        page = page.defer("point", "line", "polygon", "location", "geom_web", "note")
    elif collection.kind == "verifications":
        page = page.defer("position", "note", "review_comment", "asset__point", "asset__line", "asset__polygon",
                          "asset__location", "asset__geom_web", "asset__village__geom", "asset__village__geom_web")
    else:
        page = page.defer("geom", "geom_web")
    rows = list(page.annotate(gj=_geojson_annotation(collection, query.crs))[: query.limit + 1])
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    if before:
        rows.reverse()
    # going forward, the page before exists when we came from one; going back, the page after always does
    has_next, has_prev = (True, more) if before else (more, key is not None)
    redactor = Redactor(scope_for(user))
    return {"features": [_feature(collection, row, redactor) for row in rows], "numberMatched": matched,
            "numberReturned": len(rows),
            "next": cursor_encode(rows[-1].pk) if rows and has_next else None,
            "prev": cursor_encode(rows[0].pk, before=True) if rows and has_prev else None}


def item_get(collection: Collection, feature_id: str, crs: Crs, user) -> dict | None:
    if collection.kind == "verifications":
        if not feature_id.isdigit() or len(feature_id) > 18:
            return None
        qs = base_queryset(collection, user).filter(pk=int(feature_id))
    else:
        qs = base_queryset(collection, user).filter(code=feature_id)
    row = qs.annotate(gj=_geojson_annotation(collection, crs)).first()
    return None if row is None else _feature(collection, row, Redactor(scope_for(user)))


# ---------------------------------------------------------------- queryables


def queryables(collection: Collection, base_url: str) -> dict:
    if collection.kind == "verifications":
        properties = {
            "finding": {"type": "string", "title": _("finding"), "enum": list(Finding.values)},
            "review": {"type": "string", "title": _("review"), "enum": list(Review.values)},
            "observed_at": {"type": "string", "format": "date-time", "title": _("observed at")},
            "geometry": {"$ref": "https://geojson.org/schema/Point.json"},
        }
    elif collection.kind == "areas":
        properties = {"code": {"type": "string", "title": _("code")}, "name": {"type": "string", "title": _("name")},
                      "geometry": {"$ref": "https://geojson.org/schema/MultiPolygon.json"}}
    else:
        properties = {
            "code": {"type": "string", "title": _("asset code")},
            "name": {"type": "string", "title": _("asset name")},
            "type": {"type": "string", "title": _("asset type"), "enum": list(AssetType.values)},
            "status": {"type": "string", "title": _("status"), "enum": list(AssetStatus.values)},
            "category": {"type": "string", "title": _("category"), "enum": list(Category.values)},
            "village_code": {"type": "string", "title": _("village"), "pattern": "^[0-9]{12}$"},
            "township_code": {"type": "string", "title": _("township"), "pattern": "^[0-9]{12}$"},
            "year_built": {"type": "integer", "title": _("year built")},
            "total_investment": {"type": "number", "title": _("total investment (10k yuan)")},
            "updated_at": {"type": "string", "format": "date-time", "title": _("updated")},
            "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
        }
    return {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": base_url,
            "type": "object", "title": collection.title, "properties": properties, "additionalProperties": False}
