"""`make load` (and `python manage.py load`): the Locust load test against `make serve`'s stack on the database
DATABASE_URL names (`make load`: the benchmark province). Steps the users up until the tiles' p95 passes 500 ms or a
request fails, holds the highest good level for --duration, then runs the faults (bench/load/faults.py) — and prints
the sustained rate, the peak memory and the fault table. Results in var/load/results.json."""

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.load import faults as fault_runs
from bench.load.plan import plan_prepare
from bench.load.runner import TILE_P95_MS, MemoryWatch, figures, locust_run, requests_read, serving, writes_check

OUT = Path(settings.BASE_DIR) / "var" / "load"


def database_url() -> str:
    from django.db import connection

    from bench.load.faults import url_of

    return url_of(connection)


class Command(BaseCommand):
    help = "Load test with Locust against make serve: stepped users, a sustained run, the faults; prints the figures."

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=float, default=600, help="seconds of the sustained run (default 600)")
        parser.add_argument("--step", type=float, default=45, help="seconds at each level while stepping up")
        parser.add_argument("--levels", default="4,8,12,16,24,32,48,64,96",
                            help="users at each step, comma-separated")
        parser.add_argument("--faults", default=",".join(fault_runs.UNDER_MAKE_LOAD),
                            help=f"faults to run after ('' for none): {', '.join(fault_runs.FAULTS)} (db_restart "
                                 "copies the database into a private cluster: for small ones)")
        parser.add_argument("--out", default=str(OUT))

    def handle(self, *args, **opts):
        out = Path(opts["out"])
        stamp = time.strftime("%Y%m%d-%H%M%S")
        work = out / stamp
        plan = plan_prepare(work / "plan.json")
        self.stdout.write(f"Plan: {len(plan['assets'])} assets, {len(plan['tiles'])} tiles, "
                          f"{len(plan['villages'])} villages ({work / 'plan.json'})")
        url = database_url()
        result = {"database": url.split("@", 1)[-1], "steps": []}
        levels = [int(n) for n in opts["levels"].split(",") if n.strip()]
        with serving(url, work / "server") as server, MemoryWatch(server) as memory:
            good = []
            for users in levels:
                step_out = work / f"step-{users}"
                start, end = locust_run(server, work / "plan.json", step_out, users=users, seconds=opts["step"])
                # the first 5 s ramp and log in: measured from then on
                fig = figures(requests_read(step_out, start + 5, end), end - start - 5)
                result["steps"].append({"users": users, **fig.as_dict()})
                self.stdout.write(f"  {users:4d} users: {fig.rate:7.1f} req/s, tiles p95 {fig.tile_p95} ms, "
                                  f"{fig.failures} failed, RSS peak {memory.peak_mb:.0f} MB")
                self.stdout.flush()
                if not fig.good():
                    break
                good.append(users)
            if not good:
                raise CommandError(f"Even {levels[0]} users broke p95 ≤ {TILE_P95_MS:.0f} ms or had errors.")
            # the best level held for --duration; when it does not hold that long, the next lower good level
            result["sustained_tries"] = []
            for best in reversed(good):
                self.stdout.write(f"Sustained: {best} users for {opts['duration']:.0f} s …")
                self.stdout.flush()
                sustained_out = work / f"sustained-{best}"
                start, end = locust_run(server, work / "plan.json", sustained_out, users=best,
                                        seconds=opts["duration"])
                fig = figures(requests_read(sustained_out, start + 5, end), end - start - 5)
                writes = writes_check(sustained_out)
                tried = {"users": best, **fig.as_dict(), "writes": writes, "peak_rss_mb": round(memory.peak_mb)}
                result["sustained_tries"].append(tried)
                if fig.good():
                    result["sustained"] = tried
                    break
                self.stdout.write(f"  not held: {fig.rate:.1f} req/s, tiles p95 {fig.tile_p95} ms, "
                                  f"{fig.failures} failed {fig.failed}")
            else:
                result["sustained"] = None
        held = result["sustained"] is not None
        self.stdout.write((self.style.SUCCESS if held else self.style.ERROR)(
            ("Sustained rate: " if held else "No level held (the last tried): ")
            + f"{fig.rate:.1f} req/s with {best} users for {fig.seconds:.0f} s — tiles p95 {fig.tile_p95} ms, {fig.failures} errors; peak RSS of gunicorn + workers {memory.peak_mb:.0f} MB; "
            f"writes accepted {writes['verifications']} verifications ({writes['resends_answered']} resends answered "
            f"with the first record) + {writes['lifecycle_steps']} lifecycle steps, lost {writes['lost']}, "
            f"duplicates {writes['duplicates']}"))
        self.stdout.write(f"  {'group':12} {'requests':>9} {'failed':>7} {'p50 ms':>8} {'p95 ms':>8}")
        for group, g in fig.groups.items():
            self.stdout.write(f"  {group:12} {g['requests']:9d} {g['failures']:7d} {g['p50']:8} {g['p95']:8}")
        names = [n for n in opts["faults"].split(",") if n]
        if names:
            rows = []
            for name in names:
                self.stdout.write(f"Fault {name} …")
                self.stdout.flush()
                try:
                    rows.append(fault_runs.FAULTS[name](url, work / f"fault-{name}", plan=work / "plan.json",
                                                        users=max(4, best // 2)))
                except Exception as exc:  # a fault that could not be staged (e.g. no root for the tmpfs) says so
                    rows.append(fault_runs.not_run(name, exc))
            result["faults"] = rows
            self.stdout.write("Faults (under load):")
            self.stdout.write(fault_runs.table(rows))
        (out / "results.json").parent.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        self.stdout.write(f"Results: {out / 'results.json'}")
        failed = [row["fault"] for row in result.get("faults", []) if not row["ok"]]
        if failed:
            raise CommandError(f"Faults not survived: {', '.join(failed)}")
        if not held:
            raise CommandError("No level held p95 ≤ 500 ms for tiles with 0 errors for the whole duration.")
