"""`make bench` (and `python manage.py bench`): run the benchmarks of issue 11, write results.json and results.txt
(var/bench/ unless --out) and print a readable table.

Every figure is measured beside its anchor in the same run on the same machine; a result row is
{"name", "value", "unit", "anchor", "anchor_name", "ratio", "target", "pass"} plus the peak RSS of the processes
measured. The benchmarks are listed in bench/registry.py. `--quick` uses tiny data and no targets (the test suite's
smoke run); `--scale 0.1` a tenth of the issue's sizes; `--repeat 3` reports medians of three runs (without it: the
benchmark's own number of runs, bench.registry.RUNS, one for most); `--only import` runs one.
Runs against the database DATABASE_URL names (`make bench`: assets_bench, prepared by scripts/bench_db.sh).
"""

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

from django.core.management.base import BaseCommand

from bench.kit import RESULTS, pressure_share, pressure_totals, settle, table
from bench.registry import BENCHMARKS, runs


class Command(BaseCommand):
    help = "Run the benchmarks of issue 11 (bench/registry.py): results.json, results.txt and a table."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
        parser.add_argument("--quick", action="store_true", help="tiny data, no targets (smoke run)")
        parser.add_argument("--repeat", type=int, default=None,
                            help="runs per measurement, the median reported (default: bench.registry.RUNS, else 1)")
        parser.add_argument("--scale", type=float, default=1.0, help="multiply the data sizes (0.1: a tenth)")
        parser.add_argument("--out", default=str(RESULTS), help="folder of the results (default: var/bench)")

    def handle(self, *args, **opts):
        results = []
        for name in opts["only"] or BENCHMARKS:
            repeat = runs(name, repeat=opts["repeat"], quick=opts["quick"])
            options = SimpleNamespace(quick=opts["quick"], repeat=repeat, scale=opts["scale"], out=opts["out"])
            self.stdout.write(f"{name}:" + (f" (medians of {repeat} runs)" if repeat > 1 else ""))
            self.stdout.flush()
            settled = settle()
            if settled["tables"] or settled["autovacuum_busy"]:
                self.stdout.write(f"  settled in {settled['seconds']} s: VACUUM of "
                                  + (", ".join(f"{t} ({n:,} dead rows)" for t, n in settled["tables"]) or "nothing")
                                  + (f"; autovacuum still busy ({settled['autovacuum_busy']} workers)"
                                     if settled["autovacuum_busy"] else ""))
            before, stalls, started = os.getloadavg()[0], pressure_totals(), time.monotonic()
            rows = BENCHMARKS[name](options)
            load = [round(before, 1), round(os.getloadavg()[0], 1)]
            pressure = pressure_share(stalls, pressure_totals(), time.monotonic() - started)
            self.stdout.write(f"  load average (1 min) before and after: {load[0]} → {load[1]}"
                              + (f"; some task stalled on cpu {pressure['cpu']} %, memory {pressure['memory']} %, "
                                 f"io {pressure['io']} % of the time" if pressure else ""))
            # every row says how many runs its value is the median of, and the machine's load and stalls while it
            # was measured: on 2 shared cores they move the ratios
            # and what was vacuumed before it (bench.kit.settle: the dead rows an earlier benchmark left)
            vacuumed = {"tables": [t for t, _n in settled["tables"]], "seconds": settled["seconds"]}
            results += [{**r, "runs": repeat, "load_average": load, "pressure": pressure, "settled": vacuumed}
                        for r in rows]
        out = Path(opts["out"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
        (out / "results.txt").write_text(table(results) + "\n", encoding="utf-8")
        self.stdout.write(table(results))
        self.stdout.write(f"written: {out / 'results.json'}, {out / 'results.txt'}")
