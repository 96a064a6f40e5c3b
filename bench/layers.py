"""Benchmarks of the map tiles (issue 11): `manage.py bench --only tiles` and `--only lowzoom`.

tiles — a fixed trace of asset tiles z10–z14 requested over HTTP from a real server (gunicorn, production settings)
  by 8 keep-alive connections, against its anchor: the very same SQL statements the view runs (layers.tiles.TileQuery,
  rendered to literal SQL as Django's client-side binding sends them) executed directly by 8 psycopg connections.
  The trace is weighted by the data: tile i is the tile at zoom 10 + i mod 5 holding the i-th asset in a fixed hash
  order, so dense places are requested more often, as people look there. Two callers: the county inspector (logged
  in by a session cookie: every asset, full names) and the public (anonymous: published assets, public names).
lowzoom — every tile z6–z9 over the assets' extent as the view serves it (precomputed clusters) against the raw,
  unaggregated ST_AsMVT of every asset in the tile, on a bounded subset (the densest and the median tile of each
  zoom: the raw z6 tile alone holds every asset of the province).
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connections, router
from django.http import QueryDict

from bench.kit import peak_rss_mb, percentile, row
from geo_assets.models import Asset, Membership
from geo_assets.taxonomy import Role
from layers.filters import asset_filters_apply, asset_filters_parse
from layers.registry import MAX_TILE_BYTES
from layers.tiles import BUFFER, EXTENT, TileId, asset_tile_query, tile_assets_clusters

ROOT = Path(__file__).resolve().parent.parent
TRACE = 2000
CONCURRENCY = 8
DETAIL_ZOOMS = (10, 11, 12, 13, 14)
LOW_ZOOMS = (6, 7, 8, 9)
# 2 cores: one process per core (each runs Python under its own GIL) with 4 threads, 8 requests in flight like the
# 8 connections. 2 × 8 threads (no queueing however the kernel splits the connections) had a lower p50 but a higher
# p95 here; 1 × 8 a higher p95 still (one GIL); sync workers cannot keep connections alive (docs/performance-tiles.md).
WORKERS, THREADS = 2, CONCURRENCY // 2
SERVER_APP, ANCHOR_APP = "bench-tiles-http", "bench-tiles-sql"  # application_name of each side's connections
# as the TLS-terminating reverse proxy in front of the app says (settings_production: SECURE_SSL_REDIRECT)
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
TARGET_HTTP = 1.1  # p95 over HTTP ≤ 1.1 × p95 of the same SQL (issue 22; 1.3 in issue 11)
TARGET_LOW_SIZE = 0.1  # low-zoom tiles ≥ 10 × smaller than raw
TARGET_LOW_TIME = 0.5  # p95 ≤ 0.5 × raw


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def _db_alias() -> str:
    return router.db_for_read(Asset)


def trace(size: int, *, published_only: bool = False) -> list[TileId]:
    """A deterministic trace over where the assets are (see the module's docstring)."""
    where = "WHERE is_published" if published_only else ""
    with connections[_db_alias()].cursor() as cursor:
        cursor.execute(f"""SELECT ST_X(location), ST_Y(location) FROM geo_assets_asset {where}
                           ORDER BY hashint8(id), id LIMIT %s""", [size])  # noqa: S608 - constant condition
        points = cursor.fetchall()
    if not points:
        raise RuntimeError("没有资产：请先加载数据 (no assets to benchmark)")
    return [TileId(z, *tile_xy(lon, lat, z))
            for i in range(size) for z in [DETAIL_ZOOMS[i % len(DETAIL_ZOOMS)]]
            for lon, lat in [points[i % len(points)]]]


def inspector_user():
    """The county inspector (every asset, read-only), else an active superuser."""
    membership = Membership.objects.filter(role=Role.INSPECTOR, user__is_active=True).select_related("user") \
        .order_by("user_id").first()
    if membership is not None:
        return membership.user
    user = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if user is None:
        raise RuntimeError("没有核查员或管理员账号 (no inspector or superuser to log in as)")
    return user


# ------------------------------------------------------------------------------------------------ the server

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conninfo(alias: str) -> dict:
    params = connections[alias].get_connection_params()
    return {k: params[k] for k in ("dbname", "user", "password", "host", "port") if params.get(k)}


def _database_url(alias: str) -> str:
    """The URL of the database (as settings read it) that the server process should use."""
    info = _conninfo(alias)
    auth = quote(info.get("user", ""), safe="") + (":" + quote(info["password"], safe="") if "password" in info else "")
    query = "&".join(f"{k}={quote(str(info[k]), safe='/')}" for k in ("host", "port") if k in info)
    return f"postgis://{auth}@/{quote(info['dbname'])}" + (f"?{query}" if query else "")


class Server:
    """gunicorn with the production settings (DEBUG off) on a free local port, against the current database."""

    def __init__(self, workers: int = WORKERS, threads: int = THREADS, worker_class: str = "gthread",
                 env: dict | None = None):
        self.n_workers, self.threads, self.worker_class = workers, threads, worker_class
        self.extra_env = dict(env or {})  # e.g. the OGC benchmark's SECURE_SSL_REDIRECT=false (a plain-HTTP client)
        self.port = _free_port()
        self.secret_key = secrets.token_urlsafe(64)
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_production",
               "DATABASE_URL": _database_url(_db_alias()), "SECRET_KEY": self.secret_key,
               "ALLOWED_HOSTS": "127.0.0.1,localhost", "CONN_MAX_AGE": "600",
               # one client address sends every request of the trace: rate limits are not what is measured
               "API_RATE_ANON": "100000000/hour", "API_RATE_USER": "100000000/hour", "LOG_LEVEL": "ERROR",
               "PGAPPNAME": SERVER_APP, **self.extra_env}
        args = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.n_workers), "--threads", str(self.threads), "--worker-class", self.worker_class,
                "--keep-alive", "75", "--log-level", "warning", "--error-logfile", self.log.name]
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                client = HttpClient(self.port, timeout=30)
                try:
                    status, _body = client.get("/tiles/assets/0/0/0.mvt", PROXY_HEADERS)
                finally:
                    client.close()
                if status == 200 and len(self.workers()) == self.n_workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer in 120 s: {Path(self.log.name).read_text()[-2000:]}")

    def workers(self) -> list[int]:
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    children.append(int(entry))
        return children

    def peak_rss(self) -> float:
        """The largest peak RSS (VmHWM) of the worker processes, MB."""
        return max((peak_rss_mb(pid) or 0 for pid in self.workers()), default=0)

    def session_cookie(self, user) -> tuple[str, str]:
        """A session for `user` signed with the server's key; returns (cookie header, session key)."""
        from importlib import import_module

        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.test.utils import override_settings

        with override_settings(SECRET_KEY=self.secret_key):
            session = import_module(settings.SESSION_ENGINE).SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}", session.session_key

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            workers = self.workers()
            self.process.send_signal(signal.SIGINT)  # quick shutdown: the workers stop at once
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for pid in workers:  # never leave a worker of ours behind
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        ours = f"127.0.0.1:{self.port}".encode() in cmdline.read()
                    if ours:
                        os.kill(pid, signal.SIGKILL)
                except (OSError, ProcessLookupError):
                    pass
        self.log.close()
        os.unlink(self.log.name)


class HttpClient:
    """A minimal HTTP/1.1 keep-alive client on a socket: http.client parses headers with the email package (1.5 ×
    the CPU, taken from the cores the server and the database share; the anchor's psycopg client is C)."""

    def __init__(self, port: int, timeout: float = 600):
        self.address, self.timeout = ("127.0.0.1", port), timeout
        self.sock = socket.create_connection(self.address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def get(self, path: str, headers: dict) -> tuple[int, bytes]:
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        self.sock.sendall("\r\n".join(lines).encode("latin-1"))
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
        if "content-length" not in fields:
            raise RuntimeError(f"{path}: no Content-Length ({status_line})")
        length = int(fields["content-length"])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if fields.get("connection", "").lower() == "close":  # e.g. gunicorn's sync workers: no keep-alive
            self.sock.close()
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.buffer = b""
        return int(status_line.split()[1]), body

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


# ------------------------------------------------------------------------------------------------ the runs

def _cpu(pids) -> float:
    """CPU seconds (user + system) the processes used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def _client_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _backends(application_name: str) -> set[int]:
    with connections[_db_alias()].cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return {pid for (pid,) in cursor.fetchall()}


def http_run(server: "Server", paths: list[str], headers: dict, concurrency: int = CONCURRENCY) -> dict:
    """Every path once over `concurrency` keep-alive connections; times, sizes and the CPU each side used."""
    def work(client, path):
        status, body = client.get(path, headers)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status} {body[:200]!r}")
        return len(body)

    workers, backends = server.workers(), _backends(SERVER_APP)
    cpu = (_cpu(workers), _cpu(backends), _client_cpu())
    run = _pool(work, paths, concurrency, lambda: HttpClient(server.port), lambda client: client.close())
    backends_after = _backends(SERVER_APP)
    run["cpu"] = {"server": _cpu(workers) - cpu[0],
                  "db": _cpu(backends | backends_after) - cpu[1],  # connections opened meanwhile count whole
                  "client": _client_cpu() - cpu[2]}
    return run


def sql_run(statements: list[str], concurrency: int = CONCURRENCY) -> dict:
    """The statements run directly, each thread on its own psycopg connection (autocommit, like the view)."""
    import psycopg

    conninfo = _conninfo(_db_alias())
    used: list[float] = []

    def connect():
        conn = psycopg.connect(**conninfo, autocommit=True, application_name=ANCHOR_APP)
        for sql in statements[:len(DETAIL_ZOOMS)]:  # a fresh backend's first plans load its caches: not timed
            conn.execute(sql)
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        return conn, pid, _cpu([pid])

    def close(state):
        conn, pid, cpu = state
        used.append(_cpu([pid]) - cpu)
        conn.close()

    def work(state, sql):
        with state[0].cursor() as cursor:
            cursor.execute(sql)
            tile = cursor.fetchone()[0]
        return len(tile or b"")

    client = _client_cpu()
    run = _pool(work, statements, concurrency, connect, close)
    run["cpu"] = {"db": sum(used), "client": _client_cpu() - client}
    return run


def _pool(work, items: list, concurrency: int, open_state, close_state) -> dict:
    """work(state, item) for every item from `concurrency` threads, each with its own state (a connection);
    returns {"results": [(ms, bytes)] in the items' order, "seconds": wall time}."""
    results: list = [None] * len(items)
    queue = iter(range(len(items)))
    lock = threading.Lock()
    errors: list = []
    ready = threading.Barrier(concurrency + 1)

    def thread():
        state = None
        try:
            state = open_state()
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)
        ready.wait()
        try:
            while state is not None and not errors:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                start = time.perf_counter()
                size = work(state, items[i])
                results[i] = ((time.perf_counter() - start) * 1000, size)
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)
        finally:
            if state is not None:
                close_state(state)

    threads = [threading.Thread(target=thread) for _ in range(concurrency)]
    for t in threads:
        t.start()
    ready.wait()  # every connection is open: the clock starts now
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return {"results": results, "seconds": time.perf_counter() - started}


def _literal(statement) -> str:
    """A TileQuery as the literal SQL Django's client-side binding sends (psycopg ClientCursor)."""
    connection = connections[_db_alias()]
    connection.ensure_connection()
    return connection.ops.compose_sql(statement.sql, statement.params)


def _summary(run: dict, tiles: list[TileId]) -> dict:
    results = run["results"]
    times = [t for t, _ in results]
    return {"p50": percentile(times, 50), "p95": percentile(times, 95), "max_bytes": max(s for _, s in results),
            "rps": len(results) / run["seconds"],
            "cpu_ms": {k: round(v * 1000 / len(results), 2) for k, v in run["cpu"].items()},
            "p95_by_zoom": {z: round(percentile([r[0] for r, t in zip(results, tiles, strict=True) if t.z == z], 95), 1)
                            for z in sorted({t.z for t in tiles})}}


def _median(runs: list[dict], key: str) -> float:
    values = sorted(r[key] for r in runs)
    return values[len(values) // 2]


# ------------------------------------------------------------------------------------------------ benchmarks

def tiles_benchmark(options) -> list[dict]:
    """Asset tiles z10–z14 over HTTP vs the same SQL run directly (p50, p95, largest tile, peak RSS)."""
    quick = options.quick
    size = 40 if quick else max(50, int(TRACE * options.scale))
    repeat = max(1, options.repeat)
    filters = asset_filters_parse(QueryDict(""))
    inspector = inspector_user()
    callers = [("inspector", inspector, False), ("public", AnonymousUser(), True)]
    rows = []
    with Server() as server:
        cookie, session_key = server.session_cookie(inspector)
        try:
            for who, user, published in callers:
                tiles = trace(size, published_only=published)
                paths = [f"/tiles/assets/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
                headers = dict(PROXY_HEADERS)
                if user.is_authenticated:
                    headers["Cookie"] = cookie
                statements = [asset_tile_query(t, user=user, filters=filters) for t in tiles]
                literal = [_literal(s) for s in statements]
                modes = Counter(s.mode for s in statements)
                print(f"  {who}: {len(tiles)} tiles z{DETAIL_ZOOMS[0]}–z{DETAIL_ZOOMS[-1]}, "
                      f"{len(set(tiles))} distinct, statements {dict(modes)}", flush=True)
                http_run(server, paths, headers)  # warm both: caches, connections, workers
                sql_run(literal)
                http_runs, sql_runs = [], []
                for run in range(repeat):  # which side goes first alternates: neither always follows the other
                    if run % 2:
                        http_runs.append(_summary(http_run(server, paths, headers), tiles))
                    sql_runs.append(_summary(sql_run(literal), tiles))
                    if not run % 2:
                        http_runs.append(_summary(http_run(server, paths, headers), tiles))
                    h, a = http_runs[-1], sql_runs[-1]
                    print(f"    http p50 {h['p50']:.1f} p95 {h['p95']:.1f} ms {h['rps']:.0f}/s cpu/request "
                          f"{h['cpu_ms']} · sql p50 {a['p50']:.1f} p95 {a['p95']:.1f} ms {a['rps']:.0f}/s "
                          f"cpu/request {a['cpu_ms']}", flush=True)
                    print(f"      p95 by zoom: http {h['p95_by_zoom']} · sql {a['p95_by_zoom']}", flush=True)
                h = {k: _median(http_runs, k) for k in ("p50", "p95", "max_bytes", "rps")}
                a = {k: _median(sql_runs, k) for k in ("p50", "p95", "max_bytes", "rps")}
                extra = {"worker_rss_mb": server.peak_rss(), "client_rss_mb": peak_rss_mb(), "workers": WORKERS,
                         "threads": THREADS, "concurrency": CONCURRENCY, "requests": len(paths),
                         "requests_per_s": round(h["rps"], 1), "anchor_requests_per_s": round(a["rps"], 1),
                         "p95_by_zoom": http_runs[-1]["p95_by_zoom"],
                         "anchor_p95_by_zoom": sql_runs[-1]["p95_by_zoom"], "cpu_ms_per_request": http_runs[-1]["cpu_ms"],
                         "anchor_cpu_ms_per_request": sql_runs[-1]["cpu_ms"], "statements": dict(modes)}
                label = f"tiles z10–z14 HTTP ({who}, {len(paths):,} tiles, {CONCURRENCY} conn)"
                rows.append(row(f"{label}: p95 ms", h["p95"], "ms", a["p95"], "same SQL via psycopg, p95",
                                None if quick else TARGET_HTTP, higher_is_better=False, **extra))
                rows.append(row(f"{label}: p50 ms", h["p50"], "ms", a["p50"], "same SQL via psycopg, p50", None,
                                higher_is_better=False, **extra))
                rows.append(row(f"tiles z10–z14 ({who}): largest tile KB", h["max_bytes"] / 1024, "KB",
                                MAX_TILE_BYTES / 1024, "MAX_TILE_BYTES", None if quick else 1.0,
                                higher_is_better=False, sql_max_kb=a["max_bytes"] / 1024))
        finally:
            from importlib import import_module

            import_module(settings.SESSION_ENGINE).SessionStore(session_key).delete()
    return rows


RAW_SQL = f"""
    SELECT coalesce(ST_AsMVT(t, 'assets', {EXTENT}, 'geom', 'id'), ''::bytea) FROM (
        SELECT a.id, a.code, a.name, a.category, a.asset_type AS type, a.status,
               ST_AsMVTGeom(a.geom_web, ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
        FROM geo_assets_asset a WHERE a.geom_web && ST_TileEnvelope(%s, %s, %s, margin => %s) {{where}}
    ) t WHERE t.geom IS NOT NULL"""  # noqa: S608 - constants; {where} is one of two constant conditions


def _timed(sql: str, params=()) -> tuple[float, int]:
    with connections[_db_alias()].cursor() as cursor:
        start = time.perf_counter()
        cursor.execute(sql, params)
        tile = cursor.fetchone()[0]
        return (time.perf_counter() - start) * 1000, len(tile or b"")


def province_tiles(zooms=LOW_ZOOMS) -> list[TileId]:
    """Every tile of these zooms over the extent of the assets."""
    with connections[_db_alias()].cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                       "(SELECT ST_Extent(location)::geometry AS e FROM geo_assets_asset) s")
        minx, miny, maxx, maxy = cursor.fetchone()
    tiles = []
    for z in zooms:
        x0, y0 = tile_xy(minx, maxy, z)
        x1, y1 = tile_xy(maxx, miny, z)
        tiles += [TileId(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return tiles


def _assets_in(tile: TileId, where: str) -> int:
    with connections[_db_alias()].cursor() as cursor:
        sql = f"SELECT count(*) FROM geo_assets_asset a WHERE a.geom_web && ST_TileEnvelope(%s, %s, %s) {where}"  # noqa: S608 - constant condition
        cursor.execute(sql, [tile.z, tile.x, tile.y])
        return cursor.fetchone()[0]


LOWZOOM_CALLERS = [  # who, filters, the same rule for the raw anchor (constants)
    ("inspector", "", ""),
    ("public", "", "AND a.is_published"),
    ("inspector, status=idle,damaged", "status=idle,damaged", "AND a.status IN ('idle', 'damaged')"),
]


def lowzoom_benchmark(options) -> list[dict]:
    """Cluster tiles z6–z9 (as the view serves them) vs raw unaggregated ST_AsMVT of the same tiles; the live
    per-request aggregation they replace is timed beside them on the same tiles."""
    quick = options.quick
    repeat = max(1, options.repeat)
    rows = []
    all_tiles = province_tiles()
    for who, query, where in LOWZOOM_CALLERS:
        user = AnonymousUser() if who == "public" else inspector_user()
        filters = asset_filters_parse(QueryDict(query))
        counts = {t: _assets_in(t, where) for t in all_tiles}
        tiles = [t for t in all_tiles if counts[t]]
        if not tiles:
            continue
        statements = {t: asset_tile_query(t, user=user, filters=filters) for t in tiles}
        for t in tiles:  # warm
            _timed(statements[t].sql, statements[t].params)
        clustered = {}
        for t in tiles:
            runs = [_timed(statements[t].sql, statements[t].params) for _ in range(repeat)]
            clustered[t] = (sorted(r[0] for r in runs)[len(runs) // 2], runs[0][1])
        # the raw anchor on a bounded subset: per zoom the densest and the median tile by asset count
        subset = []
        for z in LOW_ZOOMS:
            ranked = sorted((t for t in tiles if t.z == z), key=lambda t: (-counts[t], t.x, t.y))
            subset += list(dict.fromkeys([ranked[0], ranked[len(ranked) // 2]])) if ranked else []
        live_qs = asset_filters_apply(Asset.objects.visible_to(user), filters)
        raw, live = {}, {}
        for t in subset:
            raw[t] = _timed(RAW_SQL.format(where=where), (t.z, t.x, t.y, t.z, t.x, t.y, BUFFER / EXTENT))
            started = time.perf_counter()
            tile_assets_clusters(live_qs, t)  # the per-request aggregation the table replaces
            live[t] = ((time.perf_counter() - started) * 1000, 0)
            print(f"  {who} z{t.z}/{t.x}/{t.y}: {counts[t]:,} assets · raw {raw[t][0]:,.0f} ms {raw[t][1] / 1024:,.0f} KB"
                  f" · live clusters {live[t][0]:,.0f} ms · precomputed {clustered[t][0]:.1f} ms "
                  f"{clustered[t][1] / 1024:.1f} KB", flush=True)
        extra = {"tiles": len(tiles), "raw_tiles": len(subset),
                 "statements": dict(Counter(statements[t].mode for t in tiles)), "client_rss_mb": peak_rss_mb(),
                 "p95_all_tiles_ms": round(percentile([clustered[t][0] for t in tiles], 95), 2),
                 "live_p95_ms": round(percentile([live[t][0] for t in subset], 95), 1),
                 "largest_assets_in_tile": max(counts.values())}
        rows.append(row(f"low-zoom z6–z9 ({who}): p95 ms, {len(subset)} tiles",
                        percentile([clustered[t][0] for t in subset], 95), "ms",
                        percentile([raw[t][0] for t in subset], 95), "raw ST_AsMVT of the same tiles, p95",
                        None if quick else TARGET_LOW_TIME, higher_is_better=False, **extra))
        rows.append(row(f"low-zoom z6–z9 ({who}): largest tile KB", max(c[1] for c in clustered.values()) / 1024,
                        "KB", max(r[1] for r in raw.values()) / 1024, "largest raw ST_AsMVT tile",
                        None if quick else TARGET_LOW_SIZE, higher_is_better=False, **extra))
    return rows
