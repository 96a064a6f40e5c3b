"""Basemaps the map page may offer, from settings (BASEMAPS, BASEMAP_DEFAULT, TIANDITU_KEY, OSM_TILE_URL)."""

from django.conf import settings

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%s"
)


def basemaps_available() -> list[dict]:
    """The configured basemaps, in settings order; Tianditu only when a key is set. "none" is always there."""
    offered = []
    for name in settings.BASEMAPS:
        if name == "none":
            offered.append({"id": "none", "label": "无底图", "layers": []})
        elif name == "offline":
            offered.append({"id": "offline", "label": "离线底图", "layers": [
                {"url": "/basemap/{z}/{x}/{y}.png", "maxNativeZoom": 18, "attribution": ""}]})
        elif name == "osm":
            offered.append({"id": "osm", "label": "OpenStreetMap", "layers": [
                {"url": settings.OSM_TILE_URL, "maxNativeZoom": 19, "attribution": "© OpenStreetMap"}]})
        elif name == "tianditu" and settings.TIANDITU_KEY:
            url = TIANDITU_URL % settings.TIANDITU_KEY
            offered.append({"id": "tianditu", "label": "天地图", "layers": [
                {"url": url.replace("{layer}", "vec"), "subdomains": "01234567", "maxNativeZoom": 18,
                 "attribution": "天地图"},
                {"url": url.replace("{layer}", "cva"), "subdomains": "01234567", "maxNativeZoom": 18,
                 "attribution": ""},
            ]})
    if not any(b["id"] == "none" for b in offered):
        offered.insert(0, {"id": "none", "label": "无底图", "layers": []})
    return offered


def basemap_default() -> str:
    ids = [b["id"] for b in basemaps_available()]
    return settings.BASEMAP_DEFAULT if settings.BASEMAP_DEFAULT in ids else "none"
