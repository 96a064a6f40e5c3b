"""Issue 11 benchmark of the field page's nearby list (`manage.py bench --only nearby`).

At deterministic positions (points PostGIS generates with a fixed seed inside villages spread over the province),
for two roles — a village clerk (field staff: the assets of their village) and a county administrator (every asset
of the province) — each in a process of its own:

* **api** — GET /api/v1/verifications/nearby/?lon=…&lat=…&limit=20 through the WSGI application (`config.wsgi`),
  called as a WSGI server calls it (session login, middleware, DRF, throttling, the role-scoped KNN query, JSON;
  until session 9 through Django's test client, whose own instrumentation is not the product's), persistent
  database connections as in production (CONN_MAX_AGE=60);
* **sql** — the statement the API runs (verification.selectors.nearby_statement), built beforehand and run directly on
  a cursor: execute and fetch.

Rows: p95 of the API vs p95 of the SQL, per role (target ≤ 1.5 ×). The two must list the same assets in the same
order.
"""

import io
import json
import sys
import time
from urllib.parse import urlencode

from bench.kit import bench_user
from bench.reports import backend_rss_mb, child_main, run_child

NEARBY_TARGET = 1.3  # issue 22 (1.5 in issue 11)
LIMIT = 20
QUICK_POSITIONS = 3
POSITIONS = 200  # villages × 2 points, at full scale
ROLES = ("village", "county")


def positions(count: int) -> list[dict]:
    """Villages spread evenly by code, two points inside each (ST_GeneratePoints with a fixed seed)."""
    from geo_assets.dbrouting import read_cursor
    from geo_assets.models import AdminArea

    villages = list(AdminArea.objects.villages().order_by("code").values_list("pk", flat=True))
    if not villages:
        return []
    step = max(1, len(villages) // max(1, (count + 1) // 2))
    chosen = villages[::step][: (count + 1) // 2]
    with read_cursor(AdminArea) as cursor:
        cursor.execute("""SELECT v.id, ST_X(p.geom), ST_Y(p.geom)
                          FROM geo_assets_adminarea v, ST_Dump(ST_GeneratePoints(v.geom, 2, 11)) p
                          WHERE v.id = ANY(%s) ORDER BY v.code, p.path""", [chosen])
        return [{"village": v, "lon": round(x, 7), "lat": round(y, 7)} for v, x, y in cursor.fetchall()][:count]


def _users(points: list[dict]) -> dict:
    """Per role and village, the viewer's user id: the village's clerk (a bench account is created for it) or the
    county administrator."""
    from geo_assets.models import AdminArea
    from geo_assets.taxonomy import Role

    county = bench_user().pk
    villages = AdminArea.objects.in_bulk({p["village"] for p in points})
    return {"county": county, "village": {str(v): bench_user(Role.VILLAGE, area=villages[v]).pk for v in villages}}


def _viewer(task: dict, point: dict) -> int:
    return task["users"]["village"][str(point["village"])] if task["role"] == "village" else task["users"]["county"]


def _wsgi_get(app, path: str, query: str, cookie: str) -> tuple[int, bytes]:
    """One GET through the WSGI application as a WSGI server calls it (no test client: its signals, request and
    response copies and cookie jar are not the product's); the status and the whole body."""
    status = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost", "HTTP_COOKIE": cookie,
               "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
               "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
               "wsgi.multiprocess": True, "wsgi.run_once": False}
    result = app(environ, lambda line, headers, exc_info=None: status.append(line))
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return int(status[0].split()[0]), body


def measure_api(task: dict) -> dict:
    """Every position through the API (after one warm-up request per user), called as the WSGI server calls the
    application; per request: seconds and codes."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from config.wsgi import application

    users = get_user_model().objects.in_bulk({_viewer(task, p) for p in task["points"]})
    cookies, clients = {}, []
    for pk, user in users.items():
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)  # a session, as a login makes it
        cookies[pk] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        clients.append(client)
    path = "/api/v1/verifications/nearby/"
    seconds, codes = [], []
    # one warm-up request per user, as each user's first request compiles their statement (verification.selectors:
    # once per scope and user) — then every position is timed
    first = list({_viewer(task, point): point for point in reversed(task["points"])}.values())
    for warm_up in (True, False):
        for point in first if warm_up else task["points"]:
            query = urlencode({"lon": point["lon"], "lat": point["lat"], "limit": LIMIT})
            started = time.perf_counter()
            status, body = _wsgi_get(application, path, query, cookies[_viewer(task, point)])
            elapsed = time.perf_counter() - started
            if status != 200:
                raise RuntimeError(f"nearby API answered {status}: {body[:300]!r}")
            if not warm_up:
                seconds.append(elapsed)
                codes.append([r["code"] for r in json.loads(body)["results"]])
    # the floor: the same route, application, middleware, login, DRF and throttle, refused (400) before its statement
    floor = []
    for point in task["points"]:
        query = urlencode({"lat": point["lat"], "limit": LIMIT})
        started = time.perf_counter()
        status, _body = _wsgi_get(application, path, query, cookies[_viewer(task, point)])
        floor.append(time.perf_counter() - started)
        if status != 400:
            raise RuntimeError(f"nearby API without lon answered {status}")
    for client in clients:
        client.logout()
    return {"seconds": seconds, "codes": codes, "floor_seconds": floor, "db_rss_mb": backend_rss_mb()}


def measure_sql(task: dict) -> dict:
    """The same statements on a cursor: built first, then timed (execute and fetch) one by one."""
    from django.contrib.auth import get_user_model

    from geo_assets.dbrouting import read_cursor
    from geo_assets.models import Asset
    from verification.selectors import nearby_statement

    users = get_user_model().objects.in_bulk({_viewer(task, p) for p in task["points"]})
    statements = [nearby_statement(user=users[_viewer(task, p)], lon=p["lon"], lat=p["lat"], limit=LIMIT)
                  for p in task["points"]]
    seconds, codes = [], []
    with read_cursor(Asset) as cursor:
        if statements and statements[0] is not None:
            cursor.execute(*statements[0])  # warm-up
            cursor.fetchall()
        for statement in statements:
            if statement is None:
                seconds.append(0.0)
                codes.append([])
                continue
            started = time.perf_counter()
            cursor.execute(*statement)
            rows = cursor.fetchall()
            seconds.append(time.perf_counter() - started)
            codes.append([r[1] for r in rows])
    return {"seconds": seconds, "codes": codes, "db_rss_mb": backend_rss_mb()}


MEASURES = {"api": measure_api, "sql": measure_sql}


def nearby_benchmark(options, log=print) -> list[dict]:
    """p95 of the nearby API vs p95 of its SQL, for a village clerk and a county administrator (≤ 1.5 ×)."""
    from bench.kit import median, percentile, row

    count = QUICK_POSITIONS if options.quick else max(2, round(POSITIONS * min(options.scale, 1.0)))
    points = positions(count)
    users = _users(points)
    rows = []
    for role in ROLES:
        task = {"role": role, "points": points, "users": users}
        runs = []
        for _ in range(max(1, options.repeat)):
            api = run_child("bench.verification", {**task, "measure": "api"}, env={"CONN_MAX_AGE": "60"})
            sql = run_child("bench.verification", {**task, "measure": "sql"})
            if api["codes"] != sql["codes"]:
                first = next(i for i, (a, b) in enumerate(zip(api["codes"], sql["codes"], strict=True)) if a != b)
                raise AssertionError(f"nearby API and its SQL disagree at {points[first]}: "
                                     f"{api['codes'][first]} ≠ {sql['codes'][first]}")
            runs.append((api, sql))
        api_p95 = median([percentile(a["seconds"], 95) for a, _s in runs]) * 1000 if points else None
        sql_p95 = median([percentile(s["seconds"], 95) for _a, s in runs]) * 1000 if points else None
        floor_p95 = median([percentile(a["floor_seconds"], 95) for a, _s in runs]) * 1000 if points else None
        api0, sql0 = runs[0]
        who = "village clerk (their village)" if role == "village" else "county administrator (whole province)"
        log(f"  {who}: {len(points)} positions, API p95 {api_p95 or 0:.2f} ms, SQL p95 {sql_p95 or 0:.2f} ms, "
            f"the same request refused before its statement p95 {floor_p95 or 0:.2f} ms")
        rows.append(row(f"nearby: KNN through the API, p95, {who}", None if api_p95 is None else round(api_p95, 3),
                        "ms", None if sql_p95 is None else round(sql_p95, 3), "the same SQL on a cursor, p95",
                        None if options.quick else NEARBY_TARGET, higher_is_better=False, agree=True,
                        positions=len(points), results_per_request=LIMIT,
                        p50_ms=round(median(api0["seconds"]) * 1000, 3) if points else None,
                        anchor_p50_ms=round(median(sql0["seconds"]) * 1000, 3) if points else None,
                        rss_mb=api0["rss_mb"], anchor_rss_mb=sql0["rss_mb"], db_rss_mb=api0["db_rss_mb"],
                        anchor_db_rss_mb=sql0["db_rss_mb"]))
        # information: what a request costs beyond any statement, against the statement (1.3 × leaves 0.3 of it)
        rows.append(row(f"nearby: the request refused before its statement (400), p95, {who}",
                        None if floor_p95 is None else round(floor_p95, 3), "ms",
                        None if sql_p95 is None else round(sql_p95, 3), "the KNN SQL on a cursor, p95", None,
                        higher_is_better=False, positions=len(points)))
    return rows


if __name__ == "__main__":
    child_main(MEASURES)
