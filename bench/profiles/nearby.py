"""Where a nearby request's time goes: statements (every database connection, the cache's too) and Python.

python -m bench.profiles.nearby [county|village] [--profile]
"""

import os
import sys
import time
from collections import defaultdict
from contextlib import ExitStack

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CONN_MAX_AGE", "60")


def main(argv: list[str]) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DEBUG = False  # as bench.verification's children: no statement log, the login statement prepared
    from django.test import Client

    from bench.kit import bench_user
    from bench.verification import positions
    from geo_assets.models import AdminArea
    from geo_assets.taxonomy import Role

    points = positions(40)
    role = argv[0] if argv and not argv[0].startswith("-") else "county"
    village = AdminArea.objects.get(pk=points[0]["village"])
    user = bench_user() if role == "county" else bench_user(Role.VILLAGE, area=village)
    if role != "county":
        points = [p for p in points if p["village"] == village.pk] * 20
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def get(p):
        return client.get("/api/v1/verifications/nearby/", {"lon": p["lon"], "lat": p["lat"], "limit": 20})

    for p in points[:3]:
        get(p)
    statements = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - started, " ".join(sql.split())[:90]))

    cpu, wall = time.process_time(), time.perf_counter()
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(timed))
        for p in points:
            assert get(p).status_code == 200
    n = len(points)
    print(f"{role}: {n} requests, {(time.perf_counter() - wall) / n * 1000:.2f} ms each, Python CPU "
          f"{(time.process_time() - cpu) / n * 1000:.2f} ms, {len(statements) / n:.1f} statements")
    by_sql = defaultdict(list)
    for seconds, sql in statements:
        by_sql[sql].append(seconds)
    for sql, seconds in by_sql.items():
        print(f"  {sum(seconds) / n * 1000:7.3f} ms a request  {sql}")
    if "--profile" in argv:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for p in points:
            get(p)
        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(50)


if __name__ == "__main__":
    main(sys.argv[1:])
