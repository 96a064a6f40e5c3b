"""Where one village's report figures spend their time: the report as it runs (its statements sent ahead of its
Python), then one statement after the other — each statement (wall, and planning/execution by EXPLAIN), Python
CPU — and the benchmark's anchor statement for the same village.

python -m bench.profiles.report VILLAGE_ID [VILLAGE_ID …] [--profile]
"""

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main(argv: list[str]) -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.kit import bench_user
    from bench.reports import ANCHOR_PLANNER, anchor_row_parse, anchor_statement
    from geo_assets.models import AdminArea
    from reports import figures

    user = bench_user()
    year = timezone.localdate().year - 1
    for vid in [int(a) for a in argv if a.isdigit()]:
        village = AdminArea.objects.defer("geom", "geom_web").get(pk=vid)
        statements, cpu = [], []

        def caught(execute, sql, params, many, context, statements=statements):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((time.perf_counter() - started, sql, params))

        ahead = []
        for _ in range(5):  # the report as it runs (its statements sent ahead), then one by one with each timed
            started = time.perf_counter()
            figures.report_figures(figures.area_scope(user, village), year)
            ahead.append((time.perf_counter() - started) * 1000)
            statements.clear()
            started_cpu, started = time.process_time(), time.perf_counter()
            with connection.execute_wrapper(caught):
                fig = figures.report_figures(figures.area_scope(user, village), year, read_ahead=False)
            cpu.append(((time.process_time() - started_cpu) * 1000, (time.perf_counter() - started) * 1000))
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("; ".join(f"SET LOCAL {k} = {v}" for k, v in ANCHOR_PLANNER.items()))
            sql, params = anchor_statement([vid], year)
            with connection.connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(sql, params)
                [anchor_row_parse(r) for r in cursor.fetchall()]
                anchor_ms = (time.perf_counter() - started) * 1000
        cpu.sort()
        print(f"village {vid}: {len(fig['assets'])} assets, {len(fig['alerts']['list'])} alerts; figures "
              f"{sorted(ahead)[2]:.1f} ms read ahead, {cpu[2][1]:.1f} ms one by one (Python CPU {cpu[2][0]:.1f} ms), "
              f"{len(statements)} statements, {sum(s for s, _q, _p in statements) * 1000:.1f} ms in them; "
              f"anchor {anchor_ms:.1f} ms")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off; SET LOCAL enable_mergejoin = off; SET LOCAL random_page_cost = 1.1")
            for seconds, sql, params in statements:
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, SUMMARY, TIMING OFF) " + sql, params)
                lines = [r[0] for r in cursor.fetchall()]
                plan, run = (next(float(x.split()[2]) for x in lines if x.startswith(k))
                             for k in ("Planning Time", "Execution Time"))
                print(f"  {seconds * 1000:7.1f} ms  (plan {plan:.2f}, run {run:.2f})  {' '.join(sql.split())[:80]}")
        if "--profile" in argv:
            import cProfile
            import pstats

            profile = cProfile.Profile(time.process_time)
            profile.enable()
            figures.report_figures(figures.area_scope(user, village), year)
            profile.disable()
            pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime")).print_stats(int(os.environ.get("N", "30")))


if __name__ == "__main__":
    main(sys.argv[1:])
