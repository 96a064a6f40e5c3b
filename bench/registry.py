"""Every benchmark of `manage.py bench` (and `make bench`), imported by name: add one here.

A benchmark is a function `(options) -> list[dict]` of result rows (bench.kit.row); options has `quick` (tiny data,
no targets: the test suite's smoke runs), `repeat` (runs per measurement, medians reported), `scale` (data sizes)
and `out` (the folder for files of its own). The modules import Django models: import this module after
django.setup() (a management command does).
"""

from bench.export import export_benchmark
from bench.importers import import_benchmark
from bench.layers import lowzoom_benchmark, tiles_benchmark
from bench.maps import browser_benchmark
from bench.ogc import ogc_benchmark
from bench.oversight import oversight_benchmark
from bench.projects import projects_benchmark
from bench.reports import reports_benchmark
from bench.search import search_benchmark
from bench.verification import nearby_benchmark

BENCHMARKS = {
    "import": import_benchmark,  # import end to end vs ogr2ogr -f PostgreSQL and Django bulk_create
    "projects": projects_benchmark,  # project list + fund ledger import vs bulk_create and the 10 s
    "tiles": tiles_benchmark,  # z10–z14 over HTTP vs the same ST_AsMVT SQL run directly
    "lowzoom": lowzoom_benchmark,  # z6–z9 cluster tiles vs raw unaggregated ST_AsMVT
    "browser": browser_benchmark,  # the map page in headless Chromium vs one GeoJSON layer
    "reports": reports_benchmark,  # every village's report figures vs one SQL aggregation
    "nearby": nearby_benchmark,  # KNN through the API vs the same SQL
    "ogc": ogc_benchmark,  # every asset through GDAL's OAPIF client vs ogr2ogr reading PostGIS; last page vs first
    "oversight": oversight_benchmark,  # the province dashboard and a county report vs their figures (issue 19)
    "export": export_benchmark,  # the ledger export vs ogr2ogr from PostGIS; n vs 10 n; XLSX at the web's limit
    "search": search_benchmark,  # the map's search box, every kind of text, against the short text's budget
}

# Runs per measurement of `make bench` when --repeat is not given (medians reported): three for the benchmarks whose
# rows sit near their targets and move by more than their margin between single runs (issue 22: one village's
# report 1.25 → 1.92 in consecutive runs, the tiles 0.92–1.47, the nearby list 1.19–1.43, the map's first render at
# 3k 0.96 → 1.43 with one page load a side); one for the others.
RUNS = {"tiles": 3, "reports": 3, "nearby": 3, "browser": 3}


def runs(name: str, *, repeat: int | None, quick: bool) -> int:
    """Runs per measurement for benchmark `name`: --repeat when given, one for a smoke run, else RUNS or one."""
    return repeat or (1 if quick else RUNS.get(name, 1))
