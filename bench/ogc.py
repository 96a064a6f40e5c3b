"""The OGC API – Features benchmark of issue 18 (`manage.py bench --only ogc`).

ogc — every asset the county inspector sees (the province: 1.25 M) pulled by GDAL's own client,
  `ogr2ogr -f GPKG out.gpkg OAPIF:http://127.0.0.1:PORT/ogc/ assets -oo PAGE_SIZE=10000`, from a real server
  (gunicorn, production settings, `Authorization: Token …` in GDAL_HTTP_HEADERS as a desktop client sends it),
  against its floor: the same `ogr2ogr -f GPKG` reading PostGIS directly (a `PG:` datasource and one SQL statement
  selecting the same columns — codes, labels, village and township, numbers, dates — and the same geometry).
  Beside them the time of the last page against the first (`limit=10000` over HTTP directly; the last page's
  keyset cursor is constructed: the key before the last 10,000 rows, so it is a full page) and the peak RSS of the
  server's workers. The server runs without the HTTPS redirect (SECURE_SSL_REDIRECT=false): GDAL follows the
  absolute `next` links the server writes, and there is no TLS proxy here to answer https://.
"""

import http.server
import json
import math
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from django.db import connections
from rest_framework.authtoken.models import Token

from bench.kit import median, peak_rss_mb, row
from bench.layers import HttpClient, Server, _conninfo, _db_alias, inspector_user
from geo_assets.models import Asset
from layers.ogc import MAX_LIMIT, cursor_encode

OGR2OGR = shutil.which("ogr2ogr")
TARGET_RATE = 0.3  # features/s through OAPIF ≥ 0.3 × ogr2ogr reading PostGIS
TARGET_LAST_PAGE = 1.5  # the last page ≤ 1.5 × the first
QUICK_PAGE = 5  # --quick: a few pages of the factory data
PAGE_REPEAT = 5  # timed fetches of the first and of the last page (medians)
LAYER = "assets"


def _labels_sql(column: str, field: str) -> str:
    """A CASE giving the label of each choice (the current language), as the OGC properties carry them."""
    choices = Asset._meta.get_field(field).flatchoices
    quoted = " ".join(f"WHEN '{value}' THEN '{str(label).replace(chr(39), chr(39) * 2)}'" for value, label in choices)
    return f"CASE {column} {quoted} ELSE {column} END"


def floor_sql() -> str:
    """The floor's statement: the columns of an OGC asset feature, straight from the tables."""
    return f"""SELECT a.code, a.name, a.category, {_labels_sql('a.category', 'category')} AS category_label,
        a.asset_type AS type, {_labels_sql('a.asset_type', 'asset_type')} AS type_label,
        a.status, {_labels_sql('a.status', 'status')} AS status_label,
        v.code AS village_code, v.name AS village_name, t.code AS township_code, t.name AS township_name,
        a.year_built, a.total_investment::float8 AS total_investment, a.last_verified_at, a.updated_at,
        coalesce(a.point, a.line, a.polygon) AS geom
      FROM geo_assets_asset a LEFT JOIN geo_assets_adminarea v ON v.id = a.village_id
      LEFT JOIN geo_assets_adminarea t ON t.id = a.township_id ORDER BY a.id"""  # noqa: S608 - constants


def _pg_datasource() -> str:
    info = _conninfo(_db_alias())
    return "PG:" + " ".join(f"{key}='{value}'" for key, value in info.items())


def run_measured(args: list[str], env: dict | None = None) -> tuple[float, float | None]:
    """Run a command to its end; (seconds, its peak RSS in MB, read from /proc while it runs)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    peak = [None]

    def watch():
        while process.poll() is None:
            peak[0] = peak_rss_mb(process.pid) or peak[0]
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    if process.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({process.returncode}): {err[-2000:]}")
    return seconds, peak[0]


def gpkg_count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute(f'SELECT count(*) FROM "{LAYER}"').fetchone()[0]  # noqa: S608 - a constant name


def floor_run(out: Path, sql: str | None = None) -> dict:
    args = [OGR2OGR, "-f", "GPKG", str(out), _pg_datasource(), "-sql", sql or floor_sql(), "-nln", LAYER]
    seconds, rss = run_measured(args, {**os.environ, "CPL_DEBUG": "OFF"})
    return {"seconds": seconds, "features": gpkg_count(out), "client_rss_mb": rss}


def oapif_run(server: Server, token: str, out: Path, page_size: int) -> dict:
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Token {token}", "GDAL_HTTP_TIMEOUT": "600",
           "CPL_DEBUG": "OFF"}
    args = [OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:http://127.0.0.1:{server.port}/ogc/", LAYER,
            "-oo", f"PAGE_SIZE={page_size}"]
    seconds, rss = run_measured(args, env)
    return {"seconds": seconds, "features": gpkg_count(out), "client_rss_mb": rss}


class StaticPages:
    """The client's own ceiling: a page server that costs nothing — one real page of the register, held in memory
    and served `pages` times over, each with a `next` link to the following one (plus the landing page and the
    collection GDAL reads first). No database, no Django: what ogr2ogr takes here is GDAL's OAPIF client alone."""

    def __init__(self, features: bytes, pages: int):
        self.features, self.pages = features, pages
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]

    def _handler(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                base = f"http://127.0.0.1:{outer.port}/ogc"
                items = {"href": f"{base}/collections/{LAYER}/items?f=json", "rel": "items",
                         "type": "application/geo+json"}
                collection = {"id": LAYER, "title": LAYER, "itemType": "feature", "links": [items]}
                if "/items" in self.path:
                    page = int(self.path.split("cursor=")[1].split("&")[0]) if "cursor=" in self.path else 0
                    links = [] if page + 1 >= outer.pages else [
                        {"href": f"{base}/collections/{LAYER}/items?f=json&cursor={page + 1}", "rel": "next",
                         "type": "application/geo+json"}]
                    tail = json.dumps({"links": links}).encode()
                    body = b'{"type": "FeatureCollection", "features": [' + outer.features + b"], " + tail[1:]
                elif self.path.startswith(f"/ogc/collections/{LAYER}"):
                    body = json.dumps(collection).encode()
                elif self.path.startswith("/ogc/collections"):
                    body = json.dumps({"links": [], "collections": [collection]}).encode()
                else:
                    body = json.dumps({"links": [{"href": f"{base}/collections", "rel": "data",
                                                  "type": "application/json"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/geo+json" if "/items" in self.path else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def static_run(server: Server, token: str, out: Path, page_size: int, expected: int) -> dict:
    """ogr2ogr OAPIF → GPKG from StaticPages holding the register's first page: as many pages as the real pull."""
    client = HttpClient(server.port, timeout=600)
    try:
        status, body = client.get(f"/ogc/collections/{LAYER}/items?limit={page_size}&f=json",
                                  {"Authorization": f"Token {token}"})
    finally:
        client.close()
    if status != 200:
        raise RuntimeError(f"first page: HTTP {status}")
    features = json.loads(body)["features"]
    encoded = json.dumps(features, ensure_ascii=False).encode()[1:-1]
    with StaticPages(encoded, math.ceil(expected / len(features))) as static:
        args = [OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:http://127.0.0.1:{static.port}/ogc/", LAYER,
                "-oo", f"PAGE_SIZE={page_size}"]
        seconds, rss = run_measured(args, {**os.environ, "CPL_DEBUG": "OFF"})
    return {"seconds": seconds, "features": gpkg_count(out), "client_rss_mb": rss}


def page_times(server: Server, token: str, user, limit: int, repeat: int) -> dict:
    """The first page and the last full page of `limit` features over HTTP: median ms of `repeat` fetches each,
    after one untimed fetch of each."""
    key = Asset.objects.visible_to(user).order_by("-pk").values_list("pk", flat=True)[limit:limit + 1].first()
    base = f"/ogc/collections/{LAYER}/items?limit={limit}&f=json"
    last = base + (f"&cursor={cursor_encode(key)}" if key is not None else "")
    headers = {"Authorization": f"Token {token}"}
    client = HttpClient(server.port, timeout=600)
    found = {}
    try:
        for name, path in (("first", base), ("last", last)):
            times, size = [], 0
            for i in range(repeat + 1):
                started = time.perf_counter()
                status, body = client.get(path, headers)
                if status != 200:
                    raise RuntimeError(f"{path}: HTTP {status} {body[:200]!r}")
                if i:
                    times.append((time.perf_counter() - started) * 1000)
                size = len(body)
            found[name] = {"ms": median(times), "bytes": size}
    finally:
        client.close()
    return found


def ogc_benchmark(options) -> list[dict]:
    """Every asset through GDAL's OAPIF client vs the same ogr2ogr reading PostGIS; last page vs first; RSS."""
    if OGR2OGR is None:
        raise RuntimeError("ogr2ogr is not installed (scripts/sysdeps.sh)")
    quick = options.quick
    repeat = max(1, options.repeat)
    page_size = QUICK_PAGE if quick else MAX_LIMIT
    user = inspector_user()
    expected = Asset.objects.visible_to(user).count()
    connections[_db_alias()].close()  # no connection of ours held open across the long runs
    token, created = Token.objects.get_or_create(user=user)
    floors, pulls, statics = [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ogc-") as tmp, \
                Server(env={"SECURE_SSL_REDIRECT": "false"}) as server:
            idle_rss = server.peak_rss()
            for i in range(repeat):
                floors.append(floor_run(Path(tmp) / f"floor{i}.gpkg"))
                print(f"  floor: ogr2ogr PG → GPKG {floors[-1]['features']:,} features in "
                      f"{floors[-1]['seconds']:.1f} s", flush=True)
                pulls.append(oapif_run(server, token.key, Path(tmp) / f"oapif{i}.gpkg", page_size))
                print(f"  OAPIF → GPKG {pulls[-1]['features']:,} features in {pulls[-1]['seconds']:.1f} s "
                      f"(workers' peak RSS {server.peak_rss():.0f} MB)", flush=True)
                for run in (floors[-1], pulls[-1]):
                    if run["features"] != expected:
                        raise RuntimeError(f"{run['features']} features written, {expected} expected")
                statics.append(static_run(server, token.key, Path(tmp) / f"static{i}.gpkg", page_size, expected))
                print(f"  the client alone (static pages): {statics[-1]['features']:,} features in "
                      f"{statics[-1]['seconds']:.1f} s", flush=True)
            pages = page_times(server, token.key, user, page_size, 1 if quick else PAGE_REPEAT)
            print(f"  first page {pages['first']['ms']:.0f} ms, last page {pages['last']['ms']:.0f} ms "
                  f"({pages['first']['bytes'] / 1e6:.1f} MB each)", flush=True)
            worker_rss = server.peak_rss()
    finally:
        if created:
            token.delete()
    seconds = median([p["seconds"] for p in pulls])
    floor_seconds = median([f["seconds"] for f in floors])
    static_rate = median([r["features"] / r["seconds"] for r in statics])
    extra = {"features": expected, "page_size": page_size, "seconds": round(seconds, 2),
             "anchor_seconds": round(floor_seconds, 2), "worker_rss_mb": worker_rss,
             "client_rss_mb": pulls[-1]["client_rss_mb"], "anchor_client_rss_mb": floors[-1]["client_rss_mb"],
             "page_bytes": pages["first"]["bytes"], "client_alone_features_per_s": round(static_rate),
             "client_alone_ratio": round(static_rate * floor_seconds / expected, 3)}
    label = f"ogc OAPIF → GPKG (inspector, {expected:,} assets, limit {page_size:,})"
    return [
        row(f"{label}: features/s", expected / seconds, "features/s", expected / floor_seconds,
            "ogr2ogr PG → GPKG, same columns", None if quick else TARGET_RATE, **extra),
        row(f"ogc OAPIF → GPKG from static pages (GDAL's client alone, limit {page_size:,}): features/s",
            static_rate, "features/s", expected / floor_seconds, "ogr2ogr PG → GPKG, same columns", None, **extra),
        row(f"ogc items, limit {page_size:,}: last page ms vs first", pages["last"]["ms"], "ms",
            pages["first"]["ms"], "the first page (with numberMatched), ms", None if quick else TARGET_LAST_PAGE,
            higher_is_better=False, **extra),
        row("ogc items: workers' peak RSS MB", worker_rss, "MB", idle_rss, "the workers' RSS before the first page",
            None, higher_is_better=False, **extra),
    ]
