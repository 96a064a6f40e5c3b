"""Reads of the map page: the first view's clusters written into the page (issue 22)."""

import hashlib
import json
import math

from django.core.cache import cache
from django.http import QueryDict

from geo_assets.access import scope_for
from layers.filters import asset_filters_parse
from layers.registry import DETAIL_MIN_ZOOM, VIEW_CLUSTERS_MAX_TILES
from layers.tiles import data_kind, data_version, view_clusters

# The windows the page guesses its map's size from (map.css: a 290 px filter panel beside the map and a 39 px header
# above it on a desk). A window whose map is framed at another zoom, or whose view falls outside the ranges written,
# asks the API as before: a guess only decides whether the first view needs a request.
FIRST_VIEW_WINDOWS = ((1366, 768), (1280, 800), (1920, 1080))
PANEL_WIDTH, HEADER_HEIGHT = 290, 39
# Phones (map.css below 700 px: the map is the whole width, the filter panel slides over it, the header is 45 px)
FIRST_VIEW_PHONES = ((360, 780), (375, 667), (390, 844), (412, 915))
PHONE_HEADER_HEIGHT = 45
MIN_ZOOM, MAX_ZOOM = 5, 19  # settings.LEAFLET_CONFIG's
# Kept in the shared cache per scope and data version: a province's first view costs ~70 ms of SQL per page.
CACHE_SECONDS = 3600


def _pixel(lng: float, lat: float, z: int) -> tuple[float, float]:
    """Leaflet's EPSG:3857 pixel at zoom z."""
    n = 256 * 2**z
    sin = math.sin(max(-85.0511287798, min(85.0511287798, lat)) * math.pi / 180)
    return (lng + 180) / 360 * n, (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * n


def _fit_zoom(box, width: int, height: int) -> int:
    """The zoom of Leaflet's fitBounds(box) in a map of this size (map.getBoundsZoom, zoomSnap 1)."""
    (x0, y1), (x1, y0) = _pixel(box[0], box[1], 0), _pixel(box[2], box[3], 0)
    scale = min(width / max(x1 - x0, 1e-12), height / max(y1 - y0, 1e-12))
    zoom = math.floor(round(math.log2(scale) * 100) / 100)  # Leaflet rounds to 1/100 of a level first
    return max(MIN_ZOOM, min(MAX_ZOOM, zoom))


def _range(box, width: int, height: int, dense_max_zoom: int) -> dict | None:
    """The cluster tiles map.js asks for on the view fitBounds(box) gives in a map of this size (ViewClusters._range
    and the margin of _update); None where it asks none (a detail zoom above dense_max_zoom)."""
    zoom = _fit_zoom(box, width, height)
    if zoom > dense_max_zoom:
        return None
    z, margin = (zoom, 1) if zoom < DETAIL_MIN_ZOOM else (DETAIL_MIN_ZOOM - 1, 0)
    (ax, ay), (bx, by) = _pixel(box[0], box[3], zoom), _pixel(box[2], box[1], zoom)
    left, top = round((ax + bx) / 2 - width / 2), round((ay + by) / 2 - height / 2)
    s, n = 2 ** (z - zoom), 2**z

    def clamp(v):
        return max(0, min(n - 1, v))

    def tiles(m):
        return {"z": z, "x0": clamp(math.floor(left * s / 256) - m), "y0": clamp(math.floor(top * s / 256) - m),
                "x1": clamp(math.floor(((left + width) * s - 1) / 256) + m),
                "y1": clamp(math.floor(((top + height) * s - 1) / 256) + m)}

    want = tiles(margin)
    if _tiles(want) > VIEW_CLUSTERS_MAX_TILES:
        want = tiles(0)
    return want if _tiles(want) <= VIEW_CLUSTERS_MAX_TILES else None


def _tiles(r: dict) -> int:
    return (r["x1"] - r["x0"] + 1) * (r["y1"] - r["y0"] + 1)


def first_view_ranges(box, *, dense_max_zoom: int) -> list[dict]:
    """The cluster ranges map.js asks for on the default first view (fitBounds of `box`): one per zoom the windows of
    FIRST_VIEW_WINDOWS and FIRST_VIEW_PHONES frame it at, the union of theirs if the API would serve it."""
    ranges: dict[int, dict] = {}
    maps = [(w - PANEL_WIDTH, h - HEADER_HEIGHT) for w, h in FIRST_VIEW_WINDOWS]
    maps += [(w, h - PHONE_HEADER_HEIGHT) for w, h in FIRST_VIEW_PHONES]
    for w, h in maps if box else ():
        r = _range(box, w, h, dense_max_zoom)
        if r is None:
            continue
        have = ranges.get(r["z"])
        if have is not None:
            union = {"z": r["z"], **{k: min(have[k], r[k]) for k in ("x0", "y0")},
                     **{k: max(have[k], r[k]) for k in ("x1", "y1")}}
            r = union if _tiles(union) <= VIEW_CLUSTERS_MAX_TILES else have
        ranges[r["z"]] = r
    return list(ranges.values())


def first_view_clusters(*, user, box, dense_max_zoom: int) -> list[dict]:
    """The clusters of the map's default first view (fitBounds of `box`, no filters) for the page to draw without a
    request: `{z, x0, y0, x1, y1, doc}` per range of first_view_ranges, `doc` exactly what /api/v1/map/clusters/
    answers this user for that range (layers.tiles.view_clusters: the same scope, nothing but counts and categories).

    Cached under the user's whole scope (every field of geo_assets.access.Scope: view_clusters reads nothing else of
    the user when no filter is given) and the data version the tiles' ETags use, so that no scope's clusters are
    ever given to another and a write through the services shows on the next page."""
    ranges = first_view_ranges(box, dense_max_zoom=dense_max_zoom)
    if not ranges:
        return []
    filters = asset_filters_parse(QueryDict(""), user=user)  # no filters: the page's first view has none
    version = data_version(data_kind(filters))
    key = "maps:first-clusters:" + hashlib.sha256(repr((scope_for(user), version, ranges)).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = []
        for r in ranges:
            document = view_clusters(user=user, filters=filters, **r)
            found.append({**r, "doc": json.loads(document) if document else {"clusters": None}})
        cache.set(key, found, CACHE_SECONDS)
    return found
