"""Coordinates: GCJ-02/BD-09 ↔ WGS84, DMS text, and choosing the source CRS (Gauss-Krüger zone prefixes).

GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are obfuscations of WGS84, not EPSG systems. The forward formulas are
the published ones; the inverse is computed by fixed-point iteration of the forward transform until the
round trip is within 1e-9° (≈0.1 mm), so the result is within a metre of the true WGS84 position by construction.
"""

import math
import re

from django.utils.translation import gettext as _
from pyproj import CRS

A = 6378245.0
EE = 0.00669342162296594323
X_PI = math.pi * 3000.0 / 180.0


def _outside_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _t_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _t_lon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if _outside_china(lon, lat):
        return lon, lat
    d_lat = _t_lat(lon - 105.0, lat - 35.0)
    d_lon = _t_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((A * (1 - EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (A / sqrt_magic * math.cos(rad) * math.pi)
    return lon + d_lon, lat + d_lat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(forward, lon: float, lat: float) -> tuple[float, float]:
    x, y = lon, lat
    for _step in range(30):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if abs(dx) < 1e-10 and abs(dy) < 1e-10:
            break
    return x, y


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return _invert(wgs84_to_bd09, lon, lat)


OBFUSCATED = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}

_DMS = re.compile(
    r"^\s*([NSEW东西南北]?)\s*(\d+(?:\.\d+)?)\s*(?:[°º˚度:：]\s*(?:(\d+(?:\.\d+)?)\s*(?:[′'’分:：]\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:[″\"”]|''|′′|秒)?)?)?)?)?\s*([NSEW东西南北]?)\s*$",  # i18n: data
    re.IGNORECASE,
)


def degrees_parse(value) -> float | None:
    """Decimal degrees or DMS text (111°35′43.7″E, 33度52分10秒, N33:52:10). None when it is not a coordinate."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    text = str(value).strip().replace("，", ".").replace("。", ".")  # i18n: data
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    m = _DMS.match(text)
    if not m:
        return None
    hemi = (m.group(1) or m.group(5) or "").upper()
    deg = float(m.group(2)) + float(m.group(3) or 0) / 60 + float(m.group(4) or 0) / 3600
    if (m.group(3) and float(m.group(3)) >= 60) or (m.group(4) and float(m.group(4)) >= 60):
        return None
    return -deg if hemi in ("S", "W", "南", "西") else deg  # i18n: data


class CrsChoice:
    """What the user said (--crs) or the file said, resolved to a pyproj CRS or an obfuscated system."""

    def __init__(self, text: str | None):
        self.text = (text or "").strip()
        key = self.text.lower().replace("-", "").replace("_", "")
        self.obfuscated = key if key in OBFUSCATED else None
        self.crs: CRS | None = None
        if self.text and not self.obfuscated:
            self.crs = CRS.from_user_input(self.text)

    @property
    def given(self) -> bool:
        return bool(self.text)


def crs_parse(text: str | None) -> CrsChoice:
    """Parse --crs: EPSG:n, gcj02 or bd09. Raises ValueError with a message for the clerk."""
    try:
        choice = CrsChoice(text)
    except Exception:
        raise ValueError(_("Unknown coordinate system “%(crs)s”: write EPSG:number, gcj02 or bd09") % {"crs": text})
    if choice.crs is not None and not (choice.crs.is_geographic or choice.crs.is_projected):
        raise ValueError(_("The coordinate system “%(crs)s” is neither geographic nor projected") % {"crs": text})
    return choice


def tm_false_easting(crs: CRS) -> tuple[float | None, float | None]:
    """False easting and central meridian of a transverse Mercator CRS, else (None, None)."""
    op = crs.coordinate_operation if crs.is_projected else None
    if op is None or "transverse mercator" not in (op.method_name or "").lower():
        return None, None
    fe = cm = None
    for p in op.params:
        name = p.name.lower()
        if "false easting" in name:
            fe = p.value
        elif "longitude of natural origin" in name:
            cm = p.value
    return fe, cm


def gk_zone_epsg(easting: float) -> int | None:
    """The CGCS2000 Gauss-Krüger EPSG code for an easting carrying its zone number (e.g. 37 512345.6)."""
    zone = int(easting // 1_000_000)
    if 25 <= zone <= 45:
        return 4513 + zone - 25
    if 13 <= zone <= 23:
        return 4491 + zone - 13
    return None


def zone_prefix_strip(crs: CRS, easting: float) -> tuple[float, str | None]:
    """An easting with a zone prefix in a CRS whose false easting is 500 km: strip the prefix if the zone fits."""
    fe, cm = tm_false_easting(crs)
    if fe != 500000 or easting < 1_000_000:
        return easting, None
    zone = int(easting // 1_000_000)
    if cm is not None and (abs(cm - 3 * zone) < 1e-6 or abs(cm - (6 * zone - 3)) < 1e-6):
        return easting - zone * 1_000_000, None
    return easting, _("The easting's zone number %(zone)s does not match the coordinate system's central meridian "
                     "%(meridian)s°") % {"zone": zone, "meridian": cm}
