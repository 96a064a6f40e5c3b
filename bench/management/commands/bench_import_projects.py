"""`python manage.py bench_import_projects [--projects N] [--lines M] [--times 1,10]`: the project list's and the
fund ledger's import, timed (bench/projects.py)."""

import json

from django.core.management.base import BaseCommand, CommandError

from bench import projects as bench


class Command(BaseCommand):
    help = ("Generate a real-looking project list of N projects and a fund ledger of M fund lines (XLSX, as the finance "
            "bureau sends them) over the loaded villages and time their import, the same files again (unchanged) and "
            "bulk_create of the same rows; for N and each multiple given by --times. Nothing is kept.")

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=2000)
        parser.add_argument("--lines", type=int, default=6000)
        parser.add_argument("--times", default="1,10", help="multiples of the sizes to run, e.g. 1,10")
        parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")

    def handle(self, *args, **opts):
        try:
            times = [int(t) for t in opts["times"].split(",") if t.strip()]
        except ValueError:
            raise CommandError("--times: integers separated by commas, e.g. 1,10")
        results = []
        for factor in times:
            try:
                results.append(bench.bench(projects=opts["projects"] * factor, lines=opts["lines"] * factor,
                                           log=self.stdout.write))
            except (ValueError, RuntimeError) as exc:
                raise CommandError(str(exc))
        self.stdout.write(f"{'projects':>9}{'lines':>8}{'projects s':>12}{'funds s':>9}{'both s':>8}{'again s':>9}"
                          f"{'bulk_create s':>15}{'peak RSS MB':>13}")
        for r in results:
            self.stdout.write(f"{r['projects']:>9}{r['lines']:>8}{r['projects_import']:>12.2f}{r['funds_import']:>9.2f}"
                              f"{r['import']:>8.2f}{r['projects_again'] + r['funds_again']:>9.2f}"
                              f"{r['bulk_create']:>15.2f}{r['rss_mb']:>13}")
        if opts["json"]:
            self.stdout.write(json.dumps(results))
