"""Asset filters from query parameters — one parser, one meaning for the map's tiles, the GeoJSON API and the
ledger export (layers and importers both call these; layers.filters re-exports them)."""

import re
from dataclasses import dataclass

from django.contrib.gis.geos import Polygon
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from geo_assets import validation, vocab
from geo_assets.models import Asset
from geo_assets.taxonomy import AssetStatus, AssetType, Category

CODE_RE = re.compile(r"^\d{12}$")
MAX_VALUES = 50


@dataclass(frozen=True)
class AssetFilters:
    townships: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    verified: bool | None = None
    bbox: tuple[float, float, float, float] | None = None

    def cache_key(self) -> str:
        return repr(self)


def _values(params, name: str) -> list[str]:
    raw = params.getlist(name) if hasattr(params, "getlist") else [params.get(name, "")]
    values = [v.strip() for item in raw for v in (item or "").split(",") if v.strip()]
    if len(values) > MAX_VALUES:
        raise ValidationError({name: _("Too many values.")})
    return values


def _choices(params, name: str, choices, aliases=None) -> tuple[str, ...]:
    """Codes of `choices`, each given as the code, its label or an alias (the ledgers' wording, geo_assets.vocab);
    a refusal names the values accepted."""
    values = [validation.choice_value(v, choices, field=name, aliases=aliases) for v in _values(params, name)]
    return tuple(dict.fromkeys(values))


def _codes(params, name: str) -> tuple[str, ...]:
    values = _values(params, name)
    bad = [v for v in values if not CODE_RE.match(v)]
    if bad:
        raise ValidationError({name: _("A code has 12 digits: %(value)s") % {"value": bad[0]}})
    return tuple(dict.fromkeys(values))


def _year(params, name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1900 <= int(value) <= 2200:
        raise ValidationError({name: _("Enter a year.")})
    return int(value)


def _bbox(params) -> tuple[float, float, float, float] | None:
    value = (params.get("bbox") or "").strip()
    if not value:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in value.split(","))
    except ValueError:
        raise ValidationError({"bbox": _("bbox is minx,miny,maxx,maxy in degrees.")})
    if not (-180 <= minx < maxx <= 180 and -85 <= miny < maxy <= 85):
        raise ValidationError({"bbox": _("bbox is minx,miny,maxx,maxy in degrees.")})
    return minx, miny, maxx, maxy


def asset_filters_parse(params) -> AssetFilters:
    """Read filters from query parameters; raise ValidationError (→ 400) on anything unknown."""
    filters = AssetFilters(
        townships=_codes(params, "township"),
        villages=_codes(params, "village"),
        categories=_choices(params, "category", Category, vocab.CATEGORY_LABELS),
        types=_choices(params, "type", AssetType, vocab.TYPE_LABELS),
        statuses=_choices(params, "status", AssetStatus, vocab.STATUS_LABELS),
        year_min=_year(params, "year_min"),
        year_max=_year(params, "year_max"),
        verified=validation.yes_no(params.get("verified"), field="verified"),
        bbox=_bbox(params),
    )
    return filters


def asset_filters_apply(qs: QuerySet[Asset], filters: AssetFilters) -> QuerySet[Asset]:
    """Narrow an (already role-scoped) asset queryset by the filters."""
    if filters.townships:
        qs = qs.filter(township__code__in=filters.townships)
    if filters.villages:
        qs = qs.filter(village__code__in=filters.villages)
    if filters.categories:
        qs = qs.filter(category__in=filters.categories)
    if filters.types:
        qs = qs.filter(asset_type__in=filters.types)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.year_min is not None:
        qs = qs.filter(year_built__gte=filters.year_min)
    if filters.year_max is not None:
        qs = qs.filter(year_built__lte=filters.year_max)
    if filters.verified is not None:
        qs = qs.verified() if filters.verified else qs.unverified()
    if filters.bbox is not None:
        box = Polygon.from_bbox(filters.bbox)
        box.srid = 4326
        box.transform(3857)
        qs = qs.filter(geom_web__intersects=box)
    return qs
