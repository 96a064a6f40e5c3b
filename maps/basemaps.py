"""Basemaps the map page may offer, from settings (BASEMAPS, BASEMAP_DEFAULT, TIANDITU_KEY, OSM_TILE_URL), and the
offline basemap: tiles in OFFLINE_TILES_DIR/{z}/{x}/{y}.png or in an MBTiles file (OFFLINE_MBTILES), served by the
app; `tiles_fetch` fills the folder while online and `mbtiles_import` installs an MBTiles file."""

import math
import shutil
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%s"
)


def basemaps_available() -> list[dict]:
    """The configured basemaps, in settings order; Tianditu only when a key is set. "none" is always there."""
    offered = []
    for name in settings.BASEMAPS:
        if name == "none":
            offered.append({"id": "none", "label": _("No basemap"), "layers": []})
        elif name == "offline" and (max_zoom := offline_max_zoom()) is not None:
            offered.append({"id": "offline", "label": _("Offline basemap"), "layers": [
                {"url": "/basemap/{z}/{x}/{y}.png", "maxNativeZoom": max_zoom, "attribution": ""}]})
        elif name == "osm":
            offered.append({"id": "osm", "label": "OpenStreetMap", "layers": [
                {"url": settings.OSM_TILE_URL, "maxNativeZoom": 19, "attribution": "© OpenStreetMap"}]})
        elif name == "tianditu" and settings.TIANDITU_KEY:
            url = TIANDITU_URL % settings.TIANDITU_KEY
            offered.append({"id": "tianditu", "label": _("Tianditu"), "layers": [
                {"url": url.replace("{layer}", "vec"), "subdomains": "01234567", "maxNativeZoom": 18,
                 "attribution": _("Tianditu")},
                {"url": url.replace("{layer}", "cva"), "subdomains": "01234567", "maxNativeZoom": 18,
                 "attribution": ""},
            ]})
    if not any(b["id"] == "none" for b in offered):
        offered.insert(0, {"id": "none", "label": _("No basemap"), "layers": []})
    return offered


def basemap_default() -> str:
    ids = [b["id"] for b in basemaps_available()]
    return settings.BASEMAP_DEFAULT if settings.BASEMAP_DEFAULT in ids else "none"


# --- offline tiles -------------------------------------------------------------------------------------------------

MAX_ZOOM = 22


class TileError(Exception):
    """Fetching or importing offline tiles failed; the message is for the operator."""


def _mbtiles(path: Path):
    """A read-only connection to an MBTiles file (sqlite3 raises DatabaseError when it is not one)."""
    return closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True))


def offline_max_zoom() -> int | None:
    """The highest zoom with offline tiles (folder or MBTiles), None when there are none."""
    zooms = []
    root = Path(settings.OFFLINE_TILES_DIR)
    if root.is_dir():
        zooms += [int(d.name) for d in root.iterdir()
                  if d.name.isdigit() and int(d.name) <= MAX_ZOOM and next(d.glob("*/*.png"), None)]
    mbtiles = Path(settings.OFFLINE_MBTILES)
    if mbtiles.is_file():
        try:
            with _mbtiles(mbtiles) as db:  # max() is an index look-up; DISTINCT would scan every tile
                zooms += [z for (z,) in db.execute("SELECT max(zoom_level) FROM tiles") if z is not None]
        except sqlite3.DatabaseError:
            pass  # not an MBTiles file: nothing to offer
    return max(zooms, default=None)


def offline_tile(z: int, x: int, y: int) -> tuple[bytes | Path, str] | None:
    """(file path or bytes, content type) of one XYZ tile, from the folder first, then the MBTiles file."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        return None
    path = Path(settings.OFFLINE_TILES_DIR) / str(z) / str(x) / f"{y}.png"
    if path.is_file():
        return path, "image/png"
    mbtiles = Path(settings.OFFLINE_MBTILES)
    if not mbtiles.is_file():
        return None
    try:
        with _mbtiles(mbtiles) as db:
            row = db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                             (z, x, 2**z - 1 - y)).fetchone()  # MBTiles rows count from the south (TMS)
    except sqlite3.DatabaseError:
        return None
    if row is None:
        return None
    data = bytes(row[0])
    return data, "image/jpeg" if data[:2] == b"\xff\xd8" else "image/webp" if data[8:12] == b"WEBP" else "image/png"


def tile_range(bbox, z: int) -> tuple[range, range]:
    """Columns and rows of the XYZ tiles at zoom z covering bbox (minlon, minlat, maxlon, maxlat)."""
    def xy(lon, lat):
        n = 2**z
        lat = max(min(lat, 85.0511), -85.0511)
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return min(max(x, 0), n - 1), min(max(y, 0), n - 1)

    x0, y0 = xy(bbox[0], bbox[3])
    x1, y1 = xy(bbox[2], bbox[1])
    return range(x0, x1 + 1), range(y0, y1 + 1)


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "geo-assets-basemap-fetch/1.0"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (http(s) checked by the caller)
            return response.read()
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise TileError(_("Downloading a tile failed %(url)s: %(error)s") % {"url": url, "error": exc})


def tiles_fetch(*, bbox, min_zoom: int, max_zoom: int, url: str, delay: float = 0.0, max_tiles: int = 5000,
                progress: Callable[[str], None] = print) -> dict:
    """Download the tile pyramid over bbox from a `{z}/{x}/{y}` URL template into OFFLINE_TILES_DIR, skipping tiles
    already there. Raises TileError (nothing fetched) above max_tiles, and on the first tile that fails."""
    if not url.startswith(("http://", "https://")) or not all(k in url for k in ("{z}", "{x}", "{y}")):
        raise TileError(_("The tile URL must be http(s) and contain {z}/{x}/{y}: %(url)s") % {"url": url})
    if not 0 <= min_zoom <= max_zoom <= MAX_ZOOM:
        raise TileError(_("The zoom levels must satisfy 0 ≤ minimum ≤ maximum ≤ %(max)s.") % {"max": MAX_ZOOM})
    plan = [(z, *tile_range(bbox, z)) for z in range(min_zoom, max_zoom + 1)]
    total = sum(len(xs) * len(ys) for _z, xs, ys in plan)
    if total > max_tiles:
        raise TileError(_("This extent needs %(total)s tiles at zoom %(min_zoom)s–%(max_zoom)s, above the limit of "
                          "%(max_tiles)s: make the extent or the maximum zoom smaller, or raise --max-tiles.")
                        % {"total": total, "min_zoom": min_zoom, "max_zoom": max_zoom, "max_tiles": max_tiles})
    root = Path(settings.OFFLINE_TILES_DIR)
    counts = {"total": total, "fetched": 0, "skipped": 0}
    for z, xs, ys in plan:
        for x in xs:
            for y in ys:
                path = root / str(z) / str(x) / f"{y}.png"
                if path.is_file():
                    counts["skipped"] += 1
                    continue
                data = _download(url.replace("{s}", "a").replace("{z}", str(z)).replace("{x}", str(x))
                                 .replace("{y}", str(y)))
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".part")
                partial.write_bytes(data)
                partial.replace(path)  # never a half-written tile
                counts["fetched"] += 1
                done = counts["fetched"] + counts["skipped"]
                if done % 100 == 0:
                    progress(f"{done}/{total} …")
                if delay:
                    time.sleep(delay)
        progress(_("Zoom %(zoom)s done (%(done)s/%(total)s)")
                 % {"zoom": z, "done": counts["fetched"] + counts["skipped"], "total": total})
    return counts


def mbtiles_import(source: Path) -> dict:
    """Check an MBTiles file and copy it to OFFLINE_MBTILES; returns its tile count and zoom range."""
    try:
        with _mbtiles(source) as db:
            count, zmin, zmax = db.execute("SELECT count(*), min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    except sqlite3.DatabaseError as exc:
        raise TileError(_("%(file)s is not a readable MBTiles file: %(error)s") % {"file": source, "error": exc})
    if not count:
        raise TileError(_("%(file)s has no tiles.") % {"file": source})
    target = Path(settings.OFFLINE_MBTILES)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return {"tiles": count, "min_zoom": zmin, "max_zoom": zmax, "path": str(target)}
