"""OGC API – Features Part 3 (filtering): `filter=` in CQL2 text or CQL2 JSON on a collection's queryables, turned
into one Django condition that layers/ogc.py ANDs onto the role's queryset (a filter only narrows what the caller
sees: it never widens it).

Parsing is the `cql2` package's (the reference CQL2 parser, which also reads the text into the standard CQL2 JSON);
this module only translates that JSON, strictly: the properties /queryables lists (the same names, each with its type:
numbers compared as numbers, dates and times as instants, or as the day in the county's time zone with DATE()),
comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, and S_INTERSECTS of `geometry` with a literal in `filter-crs`.
Anything else is refused with a message (→ 400). Comparisons keep SQL's three-valued logic, as CQL2 defines it: a
missing value is neither equal nor unequal, and NOT does not turn it into a match.

Rights: the asset name is matched against what the caller is shown: the full name for staff, the public name
(geo_assets.privacy) for the public, so a filter cannot tell the public anything its pages do not show.
"""

import datetime
import json
import math
import re
import threading
from dataclasses import dataclass
from decimal import Decimal

import cql2
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Polygon
from django.core.exceptions import ValidationError
from django.db.models import F, Q, Value
from django.db.models.functions import TruncDate
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Range,
    Regex,
)
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from geo_assets.models import SRID

LANGS = ("cql2-text", "cql2-json")
# GDAL's OAPIF driver up to 3.6 pushes its attribute filters down only to a server that names the draft
# "cql-text" in the OpenAPI document; what it writes is CQL2 text, and is read as such.
LEGACY_LANGS = {"cql-text": "cql2-text"}
MAX_LENGTH = 8_000  # about what a URL carries
MAX_DEPTH = 64  # nested operations
MAX_VALUES = 500  # in an IN list
MAX_VERTICES = 10_000  # of a geometry literal
WEB_SRID = 3857
# the parser recurses on nesting: a thread of its own with room for any input of MAX_LENGTH
PARSER_STACK = 256 * 1024 * 1024
_STACK_LOCK = threading.Lock()

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]


@dataclass(frozen=True)
class Queryable:
    kind: str  # "string", "integer", "number", "date-time" or "geometry"
    field: str  # the model field (path) it reads
    public_field: str | None = None  # what the public is matched against instead (a redacted copy)


# collection kind (layers.ogc.Collection.kind) → queryable name → what it reads; /queryables lists the same names
QUERYABLES = {
    "assets": {
        "code": Queryable("string", "code"),
        "name": Queryable("string", "name", public_field="public_name"),
        "type": Queryable("string", "asset_type"),
        "status": Queryable("string", "status"),
        "category": Queryable("string", "category"),
        "village_code": Queryable("string", "village__code"),
        "township_code": Queryable("string", "township__code"),
        "year_built": Queryable("integer", "year_built"),
        "total_investment": Queryable("number", "total_investment"),
        "updated_at": Queryable("date-time", "updated_at"),
        "geometry": Queryable("geometry", "geom_web"),
    },
    "areas": {
        "code": Queryable("string", "code"),
        "name": Queryable("string", "name"),
        "geometry": Queryable("geometry", "geom_web"),
    },
    "verifications": {
        "finding": Queryable("string", "finding"),
        "review": Queryable("string", "review"),
        "observed_at": Queryable("date-time", "observed_at"),
        "geometry": Queryable("geometry", "position"),
    },
}

COMPARISONS = {"=": Exact, "<": LessThan, "<=": LessThanOrEqual, ">": GreaterThan, ">=": GreaterThanOrEqual}


def _refuse(message) -> ValidationError:
    return ValidationError({"filter": message})


def _parse_guarded(parse, text: str):
    """Run the parser in a thread with a deep stack (it recurses on nesting), returning its CQL2 JSON."""
    outcome = {}

    def run():
        try:
            outcome["value"] = parse(text).to_json()
        except Exception as exc:  # the parser's errors, handed back to the request's thread
            outcome["error"] = exc

    with _STACK_LOCK:  # the stack size is the process's setting: two parses must not reset it under each other
        previous = threading.stack_size(PARSER_STACK)
        try:
            worker = threading.Thread(target=run, name="cql2-parse")
            worker.start()
        finally:
            threading.stack_size(previous)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def filter_parse(text: str, lang: str | None):
    """The filter as CQL2 JSON (a dict, or a boolean); ValidationError (key `filter`) when it cannot be read."""
    lang = LEGACY_LANGS.get(lang or "", lang or "cql2-text")
    if lang not in LANGS:
        raise ValidationError({"filter-lang": _("filter-lang is cql2-text or cql2-json.")})
    if len(text) > MAX_LENGTH:
        raise _refuse(_("The filter is too long (at most %(max)s characters).") % {"max": MAX_LENGTH})
    try:
        return _parse_guarded(cql2.parse_text if lang == "cql2-text" else cql2.parse_json, text)
    except (cql2.ParseError, ValueError) as exc:
        where = re.search(r"--> \d+:(\d+)|column (\d+)", str(exc))
        if where:
            raise _refuse(_("The filter could not be read as %(lang)s (near character %(column)s).")
                          % {"lang": lang, "column": where.group(1) or where.group(2)})
        raise _refuse(_("The filter could not be read as %(lang)s.") % {"lang": lang})


@dataclass(frozen=True)
class FilterCrs:
    """The CRS of the geometry literals (layers.ogc.crs_get's answer, reduced to what is needed here)."""

    srid: int | None  # None: CRS84
    swap_axes: bool  # latitude/northing first


def filter_condition(text: str | None, *, lang: str | None, kind: str, crs: FilterCrs, full_names: bool) -> Q | None:
    """The condition a `filter` parameter sets on a collection of this kind, or None without one."""
    if text is None or not text.strip():
        return None
    parsed = filter_parse(text, lang)
    return _Translator(QUERYABLES.get(kind, {}), crs, full_names).condition(parsed, 0)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Translator:
    def __init__(self, queryables: dict[str, Queryable], crs: FilterCrs, full_names: bool):
        self.queryables = queryables
        self.crs = crs
        self.full_names = full_names

    # ------------------------------------------------------------ predicates

    def condition(self, node, depth: int) -> Q:
        if depth > MAX_DEPTH:
            raise _refuse(_("The filter is nested too deeply."))
        if isinstance(node, bool):
            return Q() if node else Q(pk__in=[])
        if not isinstance(node, dict) or not isinstance(node.get("args"), list):
            raise _refuse(_("The filter must be a condition (a comparison, LIKE, IN, BETWEEN, IS NULL, "
                            "S_INTERSECTS, or these joined by AND, OR and NOT)."))
        op, args = str(node.get("op", "")).lower(), node["args"]
        if op in ("and", "or") and len(args) >= 2:
            parts = [self.condition(arg, depth + 1) for arg in args]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined & part if op == "and" else combined | part
            return combined
        if op == "not" and len(args) == 1:
            return ~self.condition(args[0], depth + 1)
        if op in (*COMPARISONS, "<>") and len(args) == 2:
            return self.comparison(op, *args)
        if op == "like" and len(args) == 2:
            name, queryable = self.property(args[0])
            if queryable.kind != "string" or not isinstance(args[1], str):
                raise _refuse(_("LIKE compares a text property with a quoted pattern: %(name)s.") % {"name": name})
            return Q(Regex(self.column(queryable), Value(_like_regex(args[1]))))
        if op == "in" and len(args) == 2 and isinstance(args[1], list):
            name, queryable = self.property(args[0])
            if not 1 <= len(args[1]) <= MAX_VALUES:
                raise _refuse(_("IN takes from 1 to %(max)s values.") % {"max": MAX_VALUES})
            values = [self.value(name, queryable, v) for v in args[1]]
            if len({kind for kind, value in values}) > 1:
                raise _refuse(_("IN takes values of one kind: %(name)s.") % {"name": name})
            return Q(In(self.column(queryable, values[0]), [value for kind, value in values]))
        if op == "between" and len(args) == 3:
            name, queryable = self.property(args[0])
            low, high = self.value(name, queryable, args[1]), self.value(name, queryable, args[2])
            if low[0] != high[0]:
                raise _refuse(_("BETWEEN takes two values of one kind: %(name)s.") % {"name": name})
            return Q(Range(self.column(queryable, low), (low[1], high[1])))
        if op == "isnull" and len(args) == 1:
            name, queryable = self.property(args[0])
            return Q(IsNull(self.column(queryable), True))
        if op == "s_intersects" and len(args) == 2:
            return self.intersects(*args)
        raise _refuse(_("This filter uses %(what)s, which this service does not offer: comparisons, LIKE, IN, "
                        "BETWEEN, IS NULL, S_INTERSECTS, AND, OR and NOT.") % {"what": op.upper()[:40] or "?"})

    def comparison(self, op: str, lhs, rhs) -> Q:
        if not _is_property(lhs) and _is_property(rhs):
            lhs, rhs = rhs, lhs
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if _is_property(rhs):
            raise _refuse(_("A comparison needs a property on one side and a value on the other."))
        name, queryable = self.property(lhs)
        value = self.value(name, queryable, rhs)
        lookup = COMPARISONS[op if op != "<>" else "="](self.column(queryable, value), value[1])
        return ~Q(lookup) if op == "<>" else Q(lookup)

    # ------------------------------------------------------------ operands

    def property(self, node) -> tuple[str, Queryable]:
        if not _is_property(node):
            raise _refuse(_("A comparison needs a property on one side and a value on the other."))
        name = node["property"]
        queryable = self.queryables.get(name)
        if queryable is not None and queryable.kind == "geometry":
            raise _refuse(_("%(name)s is compared with S_INTERSECTS only.") % {"name": name})
        if queryable is None:
            raise _refuse(_("%(name)s is not a queryable property of this collection: filter on those its "
                            "/queryables lists.") % {"name": str(name)[:60]})
        return name, queryable

    def column(self, queryable: Queryable, value=None):
        field = queryable.field if self.full_names or not queryable.public_field else queryable.public_field
        if value is not None and value[0] == "date":
            return TruncDate(F(field))  # the day in the county's time zone
        return F(field)

    def value(self, name: str, queryable: Queryable, node) -> tuple[str, object]:
        """(kind, value) of a literal for this queryable: kind "date" for a day compared with a date-time."""
        if queryable.kind == "string":
            if not isinstance(node, str):
                raise _refuse(_("%(name)s is text: compare it with a quoted string.") % {"name": name})
            return "string", node
        if queryable.kind in ("integer", "number"):
            if not _is_number(node) or abs(node) >= 1e15:
                raise _refuse(_("%(name)s is a number: compare it with a number.") % {"name": name})
            if queryable.kind == "integer" and float(node).is_integer():
                return "number", int(node)
            return "number", Decimal(repr(float(node)))
        # date-time: TIMESTAMP('…'), DATE('…'), or an RFC 3339 string (as GDAL writes them)
        raw, day = None, None
        if isinstance(node, dict) and isinstance(node.get("timestamp"), str):
            raw = node["timestamp"]
        elif isinstance(node, dict) and isinstance(node.get("date"), str):
            day = _date(node["date"])
        elif isinstance(node, str):
            raw = node if "T" in node or " " in node.strip() else None
            day = None if raw else _date(node)
        if day is not None:
            return "date", day
        try:
            moment = parse_datetime(raw) if raw else None
        except ValueError:  # well formed, but no such day or hour
            moment = None
        if moment is None or not 1900 <= moment.year <= 2200:
            raise _refuse(_("%(name)s is a date and time: compare it with TIMESTAMP('2025-01-31T08:00:00Z'), "
                            "DATE('2025-01-31') or such an RFC 3339 string.") % {"name": name})
        return "date-time", timezone.make_aware(moment) if timezone.is_naive(moment) else moment

    # ------------------------------------------------------------ spatial

    def intersects(self, lhs, rhs) -> Q:
        if _is_property(rhs) and not _is_property(lhs):
            lhs, rhs = rhs, lhs
        queryable = self.queryables.get(lhs.get("property")) if _is_property(lhs) else None
        message = _("S_INTERSECTS compares the geometry property with a geometry: POINT, LINESTRING, POLYGON, "
                    "their MULTI forms, or BBOX, in filter-crs.")
        if queryable is None or queryable.kind != "geometry" or not isinstance(rhs, dict):
            raise _refuse(message)
        shape = self.geometry(rhs, message)
        if shape is None:
            return Q(pk__in=[])
        if queryable.field == "position":  # stored in EPSG:4490
            shape.transform(SRID)
        return Q(**{f"{queryable.field}__intersects": shape})

    def geometry(self, node: dict, message) -> GEOSGeometry | None:
        """The literal in EPSG:3857 (the indexed web geometry), None when it lies outside what can be mapped."""
        bad = _("The geometry is not valid, too large, or outside the coordinates of filter-crs.")
        try:
            if "bbox" in node:
                box = node["bbox"]
                if not isinstance(box, list) or len(box) not in (4, 6) or not all(_is_number(v) for v in box):
                    raise _refuse(message)
                a0, b0, a1, b1 = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
                if self.crs.swap_axes:
                    a0, b0, a1, b1 = b0, a0, b1, a1
                if not (a0 <= a1 and b0 <= b1):
                    raise _refuse(bad)
                shape = Polygon.from_bbox((a0, b0, a1, b1))
            elif node.get("type") in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                                      "MultiPolygon"):
                coordinates = node.get("coordinates")
                if self.crs.swap_axes:
                    coordinates = _swap(coordinates)
                shape = GEOSGeometry(json.dumps({"type": node["type"], "coordinates": coordinates}))
            else:
                raise _refuse(message)
            if (shape.num_coords > MAX_VERTICES or not shape.valid
                    or not all(math.isfinite(v) and abs(v) < 1e8 for v in shape.extent)):
                raise _refuse(bad)
            if self.crs.srid in (None, 4326, SRID):
                x0, y0, x1, y1 = shape.extent
                if not (-180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90):
                    raise _refuse(bad)
                shape = shape.intersection(Polygon.from_bbox((-180, -85, 180, 85)))
                shape.srid = SRID
            else:
                shape.srid = self.crs.srid
            if shape.empty:
                return None
            shape.transform(WEB_SRID)
            return shape
        except (GEOSException, ValueError, TypeError, IndexError):
            raise _refuse(bad)


def _is_property(node) -> bool:
    return isinstance(node, dict) and set(node) == {"property"} and isinstance(node["property"], str)


def _swap(coordinates):
    """Latitude/longitude (or northing/easting) pairs to x/y, at any depth of nesting."""
    if isinstance(coordinates, list) and coordinates and all(_is_number(v) for v in coordinates):
        return [coordinates[1], coordinates[0], *coordinates[2:]] if len(coordinates) >= 2 else coordinates
    if isinstance(coordinates, list):
        return [_swap(part) for part in coordinates]
    raise ValueError(coordinates)


def _date(value: str) -> datetime.date | None:
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    return day if day is not None and 1900 <= day.year <= 2200 else None


def _like_regex(pattern: str) -> str:
    """A CQL2 LIKE pattern (`%` any text, `_` one character, `\\` escaping the next) as an anchored regex."""
    out, chars = ["^"], iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append(re.escape(char))
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    out.append("$")
    return "".join(out)
