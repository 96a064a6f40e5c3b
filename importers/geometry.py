"""Turning a file's geometry or coordinate cells into a CGCS2000 (EPSG:4490) shapely geometry."""

import math

import shapely
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pyproj import CRS, Transformer
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from importers import vocab
from importers.coords import OBFUSCATED, CrsChoice, gk_zone_epsg, zone_prefix_strip

STORAGE = CRS.from_epsg(4490)
# WGS84 and CGCS2000 are treated as identical at map scale (DESIGN.md §4).
_IDENTICAL = {4490, 4326, 4258, 4283, 4269, 4019}
_transformers: dict[str, Transformer] = {}


def geometry_label() -> str:
    """The name errors give the geometry when it has no ledger column of its own (a GIS feature's shape)."""
    return _("Geometry")


class GeometryProblem(Exception):
    """field: the ledger column at fault, or None for the geometry as a whole (the caller knows where it came from)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _epsg(crs: CRS | None) -> int | None:
    if crs is None:
        return None
    try:
        return crs.to_epsg(min_confidence=70)
    except Exception:
        return None


_known: dict[int, tuple[CRS, str, bool]] = {}  # id → (the CRS, its WKT, identical to storage), per CRS object


def _crs_facts(crs: CRS) -> tuple[CRS, str, bool]:
    """WKT and identity of a CRS, worked out once per CRS object rather than once per row."""
    facts = _known.get(id(crs))
    if facts is None or facts[0] is not crs:
        if len(_known) > 64:
            _known.clear()
        identical = _epsg(crs) in _IDENTICAL or bool(crs.is_geographic and crs.ellipsoid and crs.ellipsoid.name in
                                                      ("WGS 84", "GRS 1980", "CGCS2000"))
        facts = _known[id(crs)] = (crs, crs.to_wkt(), identical)
    return facts


def _transformer(crs: CRS) -> Transformer:
    key = _crs_facts(crs)[1]
    if key not in _transformers:
        _transformers[key] = Transformer.from_crs(crs, STORAGE, always_xy=True)
    return _transformers[key]


def _is_identity(crs: CRS | None) -> bool:
    return crs is None or _crs_facts(crs)[2]


def to_storage(geom, *, file_crs: CRS | None, choice: CrsChoice, degrees_expected: bool) -> tuple[object, list[str]]:
    """Reproject a shapely geometry to 4490 (2D). Returns (geometry, notes). Raises GeometryProblem."""
    notes: list[str] = []
    if geom is None or shapely.is_empty(geom):
        raise GeometryProblem(_("Missing geometry (coordinates)"))
    geom = shapely.force_2d(geom)
    if choice.obfuscated:
        fn = OBFUSCATED[choice.obfuscated]
        return shapely.transform(geom, lambda xy: _apply(fn, xy)), notes
    crs = choice.crs or file_crs
    x0, y0 = _first_xy(geom)
    if crs is None and degrees_expected and (abs(x0) > 180 or abs(y0) > 90):
        epsg = gk_zone_epsg(x0) if abs(x0) > 1_000_000 else None
        if epsg is None:
            raise GeometryProblem(
                _("The coordinates %(x).1f, %(y).1f are not longitude and latitude; for projected coordinates give "
                  "the coordinate system with --crs (e.g. EPSG:4527)") % {"x": x0, "y": y0}, vocab.LON
            )
        crs = CRS.from_epsg(epsg)
        notes.append(_("The eastings carry a zone number: read as EPSG:%(epsg)s") % {"epsg": epsg})
    if crs is not None and crs.is_projected:
        _east, problem = zone_prefix_strip(crs, x0)
        if problem:
            raise GeometryProblem(problem, vocab.LON)
        if _east != x0:
            zone = int(x0 // 1_000_000)
            geom = shapely.transform(geom, lambda xy: xy - [zone * 1_000_000, 0])
    if _is_identity(crs):
        return geom, notes
    t = _transformer(crs)
    return shapely.transform(geom, lambda xy: _apply(t.transform, xy)), notes


def _apply(fn, xy):
    import numpy as np

    out = np.empty_like(xy)
    if hasattr(fn, "__self__") and isinstance(fn.__self__, Transformer):
        xs, ys = fn(xy[:, 0], xy[:, 1])
        out[:, 0], out[:, 1] = xs, ys
        return out
    for i, (x, y) in enumerate(xy):
        out[i] = fn(x, y)
    return out


def _first_xy(geom) -> tuple[float, float]:
    coords = shapely.get_coordinates(geom)
    return float(coords[0][0]), float(coords[0][1])


def swapped(geom):
    return shapely.transform(geom, lambda xy: xy[:, ::-1].copy())


# GEOS's reasons, in the interface language.
VALIDITY_WORDS = {
    "Self-intersection": gettext_lazy("Self-intersection"),
    "Ring Self-intersection": gettext_lazy("Ring Self-intersection"),
    "Too few points": gettext_lazy("Too few points"), "Nested shells": gettext_lazy("Nested shells"),
    "Hole lies outside shell": gettext_lazy("Hole lies outside shell"),
    "Interior is disconnected": gettext_lazy("Interior is disconnected"),
    "Invalid Coordinate": gettext_lazy("Invalid Coordinate"), "Duplicate Rings": gettext_lazy("Duplicate Rings"),
    "Ring is not closed": gettext_lazy("Ring is not closed"),
}


def concrete(geom):
    """The register's concrete type: Point, MultiLineString or MultiPolygon. Raises GeometryProblem."""
    if isinstance(geom, MultiPoint):
        if len(geom.geoms) != 1:
            raise GeometryProblem(_("A multipoint feature cannot be one asset: split it into single points"))
        geom = geom.geoms[0]
    if isinstance(geom, LineString):
        geom = MultiLineString([geom])
    elif isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, Point | MultiLineString | MultiPolygon):
        raise GeometryProblem(_("Unsupported geometry type %(type)s: an asset should be a point, a line or a polygon")
                              % {"type": geom.geom_type})
    if geom.is_empty:
        raise GeometryProblem(_("Empty geometry"))
    # a point is valid when its coordinates are finite (GEOS); shapely.is_valid costs ~20 µs a call in warnings
    if not (isinstance(geom, Point) and math.isfinite(geom.x) and math.isfinite(geom.y)) and not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        for en, zh in VALIDITY_WORDS.items():
            reason = reason.replace(en, str(zh))
        raise GeometryProblem(_("Invalid geometry: %(reason)s") % {"reason": reason})
    return geom


def same(a, b, tolerance: float = 1e-7) -> bool:
    if a is None or b is None:
        return a is b
    if a.geom_type != b.geom_type:
        return False
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance))
