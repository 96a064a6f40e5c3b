"""Turning a file's geometry or coordinate cells into a CGCS2000 (EPSG:4490) shapely geometry."""

import shapely
from pyproj import CRS, Transformer
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from importers.coords import OBFUSCATED, CrsChoice, gk_zone_epsg, zone_prefix_strip

STORAGE = CRS.from_epsg(4490)
# WGS84 and CGCS2000 are treated as identical at map scale (DESIGN.md §4).
_IDENTICAL = {4490, 4326, 4258, 4283, 4269, 4019}
_transformers: dict[str, Transformer] = {}


class GeometryProblem(Exception):
    def __init__(self, message: str, field: str = "几何"):
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
        raise GeometryProblem("缺少几何图形（坐标）")
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
                f"坐标 {x0:.1f}, {y0:.1f} 不是经纬度；投影坐标请用 --crs 指定坐标系（如 EPSG:4527）", "经度"
            )
        crs = CRS.from_epsg(epsg)
        notes.append(f"东坐标带有带号，按 EPSG:{epsg} 解读")
    if crs is not None and crs.is_projected:
        _east, problem = zone_prefix_strip(crs, x0)
        if problem:
            raise GeometryProblem(problem, "经度")
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


VALIDITY_WORDS = {
    "Self-intersection": "自相交", "Ring Self-intersection": "环自相交", "Too few points": "点数太少",
    "Nested shells": "外环嵌套", "Hole lies outside shell": "内环在外环之外", "Interior is disconnected": "内部不连通",
    "Invalid Coordinate": "坐标无效", "Duplicate Rings": "环重复", "Ring is not closed": "环未闭合",
}


def concrete(geom):
    """The register's concrete type: Point, MultiLineString or MultiPolygon. Raises GeometryProblem."""
    if isinstance(geom, MultiPoint):
        if len(geom.geoms) != 1:
            raise GeometryProblem("多点要素不能作为一个资产：请拆分为单点")
        geom = geom.geoms[0]
    if isinstance(geom, LineString):
        geom = MultiLineString([geom])
    elif isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, Point | MultiLineString | MultiPolygon):
        raise GeometryProblem(f"不支持的几何类型 {geom.geom_type}：资产应为点、线或面")
    if geom.is_empty:
        raise GeometryProblem("几何图形为空")
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        for en, zh in VALIDITY_WORDS.items():
            reason = reason.replace(en, zh)
        raise GeometryProblem(f"几何图形无效：{reason}")
    return geom


def same(a, b, tolerance: float = 1e-7) -> bool:
    if a is None or b is None:
        return a is b
    if a.geom_type != b.geom_type:
        return False
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance))
