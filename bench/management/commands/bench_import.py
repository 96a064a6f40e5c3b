"""`python manage.py bench_import --rows N --format gpkg|shp|xlsx|csv`: the import against ogr2ogr and bulk_create."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bench import importers as bench


class Command(BaseCommand):
    help = ("Generate a deterministic ledger of N assets over the loaded villages and time its import end to end "
            "beside ogr2ogr -f PostgreSQL and Django bulk_create of the same file (rows/s, ratios, peak RSS). "
            "Nothing is kept: the import is rolled back after the clock stops.")

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20000)
        parser.add_argument("--format", choices=bench.FORMATS, default="gpkg")
        parser.add_argument("--geometry", choices=("point", "line"), default="point")
        parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
        parser.add_argument("--keep", action="store_true", help="commit the imported assets instead")
        # internal: what a measuring child process does
        parser.add_argument("--measure", choices=("import", "bulk_create"), help=None)
        parser.add_argument("--file")

    def handle(self, *args, **opts):
        if opts["measure"]:
            if not opts["file"]:
                raise CommandError("--measure is what the benchmark's child processes run: it needs --file (a ledger "
                                   "the benchmark wrote); run bench_import --rows N --format F instead")
            path = Path(opts["file"])
            figures = (bench.measure_import(path, keep=opts["keep"]) if opts["measure"] == "import"
                       else bench.measure_bulk_create(path))
            self.stdout.write(json.dumps(figures, ensure_ascii=False))
            return
        try:
            result = bench.bench(rows=opts["rows"], fmt=opts["format"], geometry=opts["geometry"], keep=opts["keep"],
                                 log=self.stdout.write)
        except (ValueError, RuntimeError) as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"{'':<12}{'seconds':>9}{'rows/s':>10}{'peak RSS MB':>13}{'import ÷ this':>15}")
        for name in ("import", "ogr2ogr", "bulk_create"):
            if name in result:
                r = result[name]
                ratio = result["import"]["rows_per_s"] / r["rows_per_s"]
                self.stdout.write(f"{name:<12}{r['seconds']:>9.1f}{r['rows_per_s']:>10}{r['rss_mb']:>13}{ratio:>15.3f}")
        if "ogr2ogr" not in result:
            self.stdout.write("ogr2ogr is not installed (Debian: apt-get install gdal-bin): no anchor")
        if opts["json"]:
            self.stdout.write(json.dumps(result))
