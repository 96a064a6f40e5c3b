"""`make bench`: run the benchmarks of issue 11, write bench/results.json and print a readable table.

Every figure is measured beside its anchor in the same run on the same machine; a result row is
{"name", "value", "unit", "anchor", "anchor_name", "ratio", "target", "pass"} plus the peak RSS of the processes
measured. A benchmark is a function `(options) -> list[dict]` listed in BENCHMARKS (options: quick, repeat, scale):
add more there. `--quick` uses tiny data and no targets (the test suite's smoke run); `--scale 0.1` a tenth of the
issue's sizes; `--repeat 3` reports medians; `--only import` runs one benchmark.
Runs against the database DATABASE_URL names (the Makefile wraps it in scripts/with_db.sh: the local cluster's
dev database, with the demo county `make demo` loads).
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (format, geometry, rows at full size): the 1M-point GeoPackage, 200k-line Shapefile, 100k-row XLSX
IMPORT_CASES = [("gpkg", "point", 1_000_000), ("shp", "line", 200_000), ("xlsx", "point", 100_000)]
IMPORT_TARGETS = {"ogr2ogr": 0.7, "bulk_create": 10.0}  # import rows/s ≥ target × anchor rows/s
MEMORY_TARGET = 1.25  # peak RSS at full size ≤ 1.25 × at a tenth of it: memory does not grow with the file


def import_benchmark(options) -> list[dict]:
    """Import end to end vs ogr2ogr -f PostgreSQL and Django bulk_create (importers/bench.py), rows/s, medians."""
    from geo_assets.benchkit import row
    from importers.bench import bench

    quick, rows = options.quick, []
    for fmt, geometry, size in IMPORT_CASES:
        n = 20 if quick else max(int(size * options.scale), 10)
        runs = [bench(rows=n, fmt=fmt, geometry=geometry, log=lambda line: print("  " + line, flush=True))
                for _ in range(options.repeat)]
        median = {k: {f: statistics.median(r[k][f] for r in runs) for f in ("rows_per_s", "rss_mb", "seconds")}
                  for k in ("import", "bulk_create", "ogr2ogr") if k in runs[0]}
        label = f"import {fmt} {n:,} {geometry}s"
        for anchor, target in IMPORT_TARGETS.items():
            if anchor in median:
                rows.append(row(f"{label} vs {anchor}", median["import"]["rows_per_s"], "rows/s",
                                median[anchor]["rows_per_s"], anchor, None if quick else target,
                                rss_mb=median["import"]["rss_mb"], anchor_rss_mb=median[anchor]["rss_mb"],
                                seconds=median["import"]["seconds"], anchor_seconds=median[anchor]["seconds"]))
        if fmt == "gpkg":
            small = bench(rows=max(n // 10, 10), fmt=fmt, geometry=geometry, log=lambda line: None)
            rows.append(row(f"{label}: peak RSS vs a tenth of the rows", median["import"]["rss_mb"], "MB",
                            small["import"]["rss_mb"], f"import of {max(n // 10, 10):,} rows",
                            None if quick else MEMORY_TARGET, higher_is_better=False))
    return rows


# name → the function, or "module:function" imported when it runs (the modules import Django models)
BENCHMARKS = {
    "import": import_benchmark,
    "tiles": "layers.bench:tiles_benchmark",  # z10–z14 over HTTP vs the same ST_AsMVT SQL run directly
    "lowzoom": "layers.bench:lowzoom_benchmark",  # z6–z9 cluster tiles vs raw unaggregated ST_AsMVT
    "browser": "maps.bench:browser_benchmark",  # the map page in headless Chromium vs one GeoJSON layer
    "reports": "reports.bench:reports_benchmark",  # every village's report figures vs one SQL aggregation
    "nearby": "verification.bench:nearby_benchmark",  # KNN through the API vs the same SQL
}


def _resolve(benchmark):
    if callable(benchmark):
        return benchmark
    import importlib

    module, function = benchmark.split(":")
    return getattr(importlib.import_module(module), function)


def table(results: list[dict]) -> str:
    def fmt(value):
        return "—" if value is None else f"{value:,.0f}" if isinstance(value, int | float) else str(value)

    lines = [f"{'benchmark':<62}{'value':>12}{'anchor':>12}{'ratio':>8}  {'target':<8}{'pass':<5}",
             "-" * 107]
    for r in results:
        passed = {True: "yes", False: "NO", None: "—"}[r["pass"]]
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.3f}"
        lines.append(f"{r['name']:<62}{fmt(r['value']):>12}{fmt(r['anchor']):>12}{ratio:>8}  "
                     f"{r['target'] or '—':<8}{passed:<5}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--quick", action="store_true", help="tiny data, no targets (smoke run)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is reported")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the data sizes (0.1: a tenth)")
    parser.add_argument("--out", default=str(ROOT / "bench"))
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    results = []
    for name in args.only or BENCHMARKS:
        print(f"{name}:", flush=True)
        results += _resolve(BENCHMARKS[name])(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "results.txt").write_text(table(results) + "\n", encoding="utf-8")
    print(table(results))
    print(f"written: {out / 'results.json'}, {out / 'results.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
