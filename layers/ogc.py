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
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models import Extent, GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.gis.geos import Polygon
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connections, router
from django.db.models import F, Func, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
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
AREAS_MAX_LIMIT = 100  # full boundaries: a page of a province's villages was 33 MB, 8.6 s of a worker

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
    # a larger `limit` is served as this (the standard: not an error); an area's full boundary is ~50 KB of GeoJSON
    # (a township's ~150 KB), so a page of 10,000 would be the whole province's boundaries in one response
    max_limit: int = MAX_LIMIT


def collections(user) -> list[Collection]:
    """The collections this caller may read: the verifications only for staff accounts (the map's rule for
    anything beyond the published register, as the project filter)."""
    found = [Collection("assets", _("Assets"), "assets")]
    for category in Category:
        found.append(Collection(category.value, str(category.label), "assets", category=category.value))
    found.append(Collection("villages", _("Villages"), "areas", level=AreaLevel.VILLAGE, max_limit=AREAS_MAX_LIMIT))
    found.append(Collection("townships", _("Townships"), "areas", level=AreaLevel.TOWNSHIP, max_limit=AREAS_MAX_LIMIT))
    if projects_offered(user):
        found.append(Collection("verifications", _("Verifications"), "verifications"))
    return found


def collection_get(collection_id: str, user) -> Collection | None:
    return next((c for c in collections(user) if c.id == collection_id), None)


def base_queryset(collection: Collection, user) -> QuerySet:
    if collection.kind == "areas":
        return AdminArea.objects.filter(level=collection.level).with_parent()
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


def collection_extents(found: list[Collection], user) -> dict[str, list[float] | None]:
    """collection_extent of each collection, the asset collections (all and one per category) in one pass over
    the assets instead of one each (a province's assets: 0.4 s a pass)."""
    extents = {c.id: collection_extent(c, user) for c in found if c.kind != "assets"}
    assets = [c for c in found if c.kind == "assets"]
    if assets:
        boxes = base_queryset(Collection("assets", "", "assets"), user).aggregate(**{
            f"box_{i}": Extent("location", filter=Q(category=c.category) if c.category else None)
            for i, c in enumerate(assets)})
        for i, c in enumerate(assets):
            box = boxes[f"box_{i}"]
            extents[c.id] = [round(v, 6) for v in box] if box else None
    return extents


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


def _counted(query: ItemQuery, count: bool | None) -> bool:
    """numberMatched is exact or absent (the standard allows leaving it out): given on the first page (no cursor),
    left out on the pages a client reaches by following links, so paging does not count the collection each time."""
    return query.cursor is None if count is None else count


def _keyset(qs: QuerySet, query: ItemQuery) -> tuple[QuerySet, int | None, bool]:
    """The page's rows in key order after (or, going back, before) the cursor; (queryset, key, before?)."""
    key, before = query.cursor if query.cursor is not None else (None, False)
    if before:
        return qs.filter(pk__lt=key).order_by("-pk"), key, True
    return (qs.order_by("pk") if key is None else qs.filter(pk__gt=key).order_by("pk")), key, False


def _slim(collection: Collection, qs: QuerySet) -> QuerySet:
    """Without the columns a feature does not show: the stored geometries (the feature's comes as GeoJSON) and the
    boundaries of the areas joined for their code and name (a province's village has thousands of vertices: read
    along with every asset, they made a page of 10,000 assets take a minute)."""
    if collection.kind == "assets":
        return qs.defer("point", "line", "polygon", "location", "geom_web", "note", "village__geom",
                        "village__geom_web", "township__geom", "township__geom_web")
    if collection.kind == "verifications":
        return qs.defer("position", "note", "review_comment", "asset__point", "asset__line", "asset__polygon",
                        "asset__location", "asset__geom_web", "asset__village__geom", "asset__village__geom_web")
    return qs.defer("geom", "geom_web")


def items_page(collection: Collection, query: ItemQuery, user, *, count: bool | None = None) -> dict:
    """One page: features, numberMatched (see _counted; None when left out), numberReturned and the cursors of the
    next and previous pages (None on the last / the first)."""
    qs = filtered(collection, query, user)
    matched = qs.count() if _counted(query, count) else None
    page, key, before = _keyset(qs, query)
    page = _slim(collection, page)
    limit = min(query.limit, collection.max_limit)
    rows = list(page.annotate(gj=_geojson_annotation(collection, query.crs))[: limit + 1])
    more = len(rows) > limit
    rows = rows[: limit]
    if before:
        rows.reverse()
    # going forward, the page before exists when we came from one; going back, the page after always does
    has_next, has_prev = (True, more) if before else (more, key is not None)
    redactor = Redactor(scope_for(user))
    return {"features": [_feature(collection, row, redactor) for row in rows], "numberMatched": matched,
            "numberReturned": len(rows),
            "next": cursor_encode(rows[-1].pk) if rows and has_next else None,
            "prev": cursor_encode(rows[0].pk, before=True) if rows and has_prev else None}


def _iso_utc(column: str) -> str:
    """SQL writing a timestamptz as Python's isoformat() writes the (UTC) datetimes Django reads: seconds, the
    microseconds only when there are any, +00:00."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (f"CASE WHEN {column} IS NULL THEN NULL ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN extract(microseconds FROM {column})::bigint %% 1000000 = 0 THEN '' "
            f"ELSE to_char({utc}, '.US') END || '+00:00' END")


# the asset page's columns (alias → field), selected by Django with the caller's rights and filters
_ASSET_COLUMNS = {"o_id": "pk", "o_code": "code", "o_name": "name", "o_public_name": "public_name",
                  "o_category": "category", "o_type": "asset_type", "o_status": "status",
                  "o_village_code": "village__code", "o_village_name": "village__name",
                  "o_township_code": "township__code", "o_township_name": "township__name",
                  "o_year_built": "year_built", "o_total_investment": "total_investment",
                  "o_last_verified_at": "last_verified_at", "o_updated_at": "updated_at"}


def _asset_feature_sql(full: bool) -> str:
    """One asset as a GeoJSON Feature, written by PostgreSQL: the properties of asset_properties (same keys, same
    order, same values; the labels from the %s JSON maps of the current language), the geometry from ST_AsGeoJSON.
    The public's name is its stored public name (the caller falls back to Python when one is missing)."""
    name = "o_name" if full else "nullif(o_public_name, '')"
    label = "coalesce(%s::jsonb ->> {0}, {0})"
    return (
        """'{"type": "Feature", "id": ' || to_json(o_code)::text || ', "geometry": ' || coalesce(o_gj, 'null') || """
        """', "properties": ' || json_build_object("""
        f"'code', o_code, 'name', {name}, 'category', o_category, "
        f"'category_label', {label.format('o_category')}, 'type', o_type, 'type_label', {label.format('o_type')}, "
        f"'status', o_status, 'status_label', {label.format('o_status')}, "
        "'village_code', o_village_code, 'village_name', o_village_name, "
        "'township_code', o_township_code, 'township_name', o_township_name, "
        "'year_built', o_year_built, 'total_investment', o_total_investment, "
        f"'last_verified_at', {_iso_utc('o_last_verified_at')}, 'updated_at', {_iso_utc('o_updated_at')}"
        ")::text || '}'"
    )


def _labels(field: str) -> str:
    return json.dumps({str(value): str(label) for value, label in Asset._meta.get_field(field).flatchoices},
                      ensure_ascii=False)


def items_page_encoded(collection: Collection, query: ItemQuery, user, *, count: bool | None = None) -> dict | None:
    """items_page for the asset collections with the features already encoded: `features` is the bytes of the
    GeoJSON features, comma-separated, built in one SQL statement (keyset page, json_build_object, ST_AsGeoJSON)
    instead of a model and a dict per feature. The rows, rights, filters and order are items_page's (the same
    queryset, filtered()); None where items_page must answer (the boundaries and verifications, or a public page
    holding an asset without its stored public name)."""
    if collection.kind != "assets":
        return None
    qs = filtered(collection, query, user)
    matched = qs.count() if _counted(query, count) else None
    page, key, before = _keyset(qs, query)
    columns = {alias: F(field) for alias, field in _ASSET_COLUMNS.items()}
    page = page.annotate(**columns, o_gj=_geojson_annotation(collection, query.crs)).values(*columns, "o_gj")
    inner, inner_params = page[: query.limit + 1].query.sql_with_params()
    full = Redactor(scope_for(user)).full
    sql = (f"WITH page AS ({inner}) "  # noqa: S608 - the Django-compiled query and constant SQL; values are params
           "SELECT (SELECT count(*) FROM page) > %s, count(*), min(o_id), max(o_id), "
           f"coalesce(bool_or(o_public_name = ''), false) AND NOT %s, "
           f"convert_to(string_agg({_asset_feature_sql(full)}, ', ' ORDER BY o_id), 'UTF8') "
           f"FROM (SELECT * FROM page ORDER BY o_id {'DESC' if before else 'ASC'} LIMIT %s) AS kept")
    params = [*inner_params, query.limit, full, _labels("category"), _labels("asset_type"), _labels("status"),
              query.limit]
    with connections[router.db_for_read(Asset)].cursor() as cursor:
        cursor.execute(sql, params)
        more, returned, first, last, unnamed, features = cursor.fetchone()
    if unnamed:
        return None
    # going forward, the page before exists when we came from one; going back, the page after always does
    has_next, has_prev = (True, more) if before else (more, key is not None)
    return {"features": bytes(features or b""), "numberMatched": matched, "numberReturned": returned,
            "next": cursor_encode(last) if returned and has_next else None,
            "prev": cursor_encode(first, before=True) if returned and has_prev else None}


# ---------------------------------------------------------------- read-ahead
#
# A client following `next` links (GDAL, QGIS, OWSLib) asks for page k+1 only once it has read page k, so the
# server's time for a page and the client's time to read it add up. With read-ahead, the process that answered page
# k computes page k+1 on a thread of its own while the client reads page k, and hands it over when exactly that
# page is asked for — by the same user with the same scope (role, area, asset types, department: read again for the
# request), in the same language, with the same parameters — within READ_AHEAD_SECONDS. A page so answered is the
# register as it was when the client was reading the page before (at most READ_AHEAD_SECONDS earlier): what a
# request sent a moment earlier would have got. Only JSON pages of the asset collections, only where no transaction
# is open (a request inside one, e.g. a test's, sees rows a thread of its own cannot). OGC_READ_AHEAD = False in the
# settings turns it off.

READ_AHEAD_SECONDS = 10
READ_AHEAD_PAGES = 4  # pages held (and threads computing them) at most per process (10,000 assets: ~6.5 MB)


def _page_key(collection: Collection, params, user, cursor: str | None = None) -> tuple:
    items = {k: tuple(v) for k, v in params.lists() if k not in ("f", "cursor")}
    if cursor is None:
        cursor = params.get("cursor")
    return (getattr(user, "pk", None), scope_for(user), translation.get_language(), collection.id, cursor,
            tuple(sorted(items.items())))


class _ReadAhead:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple, tuple[float, Future]] = OrderedDict()
        self.pool: ThreadPoolExecutor | None = None

    def take(self, key: tuple) -> dict | None:
        with self.lock:
            entry = self.entries.pop(key, None)
        if entry is None:
            return None
        started, future = entry
        if time.monotonic() - started > READ_AHEAD_SECONDS:  # too old: the request computes the page itself
            future.cancel()
            return None
        try:
            return future.result(timeout=READ_AHEAD_SECONDS)
        except Exception:  # noqa: BLE001 - the page is then computed by the request itself
            return None

    def start(self, key: tuple, job) -> None:
        with self.lock:
            if self.pool is None:
                # a thread per page held: a page read ahead never queues behind another client's
                self.pool = ThreadPoolExecutor(max_workers=READ_AHEAD_PAGES, thread_name_prefix="ogc-read-ahead")
            if key in self.entries:
                return
            while len(self.entries) >= READ_AHEAD_PAGES:
                self.entries.popitem(last=False)[1][1].cancel()
            self.entries[key] = (time.monotonic(), self.pool.submit(job))


READ_AHEAD = _ReadAhead()


def _read_ahead_allowed(collection: Collection) -> bool:
    return (collection.kind == "assets" and getattr(settings, "OGC_READ_AHEAD", True)
            and not connections[router.db_for_read(Asset)].in_atomic_block)


def items_page_served(collection: Collection, params, user) -> dict | None:
    """items_page_encoded for a JSON request: the page read ahead for it if there is one, and the next page read
    ahead for the client's next request (see above)."""
    key = _page_key(collection, params, user)
    found = READ_AHEAD.take(key) if _read_ahead_allowed(collection) else None
    if found is None:
        found = items_page_encoded(collection, items_query(collection, params, user), user)
    if found is not None and found["next"] and _read_ahead_allowed(collection):
        following = params.copy()
        following["cursor"] = found["next"]
        language = translation.get_language()

        def job():
            close_old_connections()
            try:
                with translation.override(language):
                    return items_page_encoded(collection, items_query(collection, following, user), user)
            finally:
                close_old_connections()

        READ_AHEAD.start(_page_key(collection, following, user), job)
    return found


def item_get(collection: Collection, feature_id: str, crs: Crs, user) -> dict | None:
    if collection.kind == "verifications":
        if not feature_id.isdigit() or len(feature_id) > 18:
            return None
        qs = base_queryset(collection, user).filter(pk=int(feature_id))
    else:
        qs = base_queryset(collection, user).filter(code=feature_id)
    row = _slim(collection, qs).annotate(gj=_geojson_annotation(collection, crs)).first()
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
