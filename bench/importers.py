"""Measuring the importer against its anchors (issue 11), for `manage.py bench_import` and `make bench`.

A deterministic ledger of N assets (points, or short lines) over the loaded villages, written by the export's own
writers; then, each in a process of its own so that its peak RSS is its own: the import end to end (check and write,
with the register's indexes and history), `ogr2ogr -f PostgreSQL` loading the same file into a scratch table (with
its GiST index), and Django `bulk_create` of the same rows without any validation. The import and bulk_create run in
a transaction rolled back after the clock stops (nothing is kept, so runs can repeat); the scratch table is dropped.
"""

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiLineString, Point
from django.db import connection, transaction

from bench.kit import peak_rss_mb, row
from geo_assets.dbroles import as_owner
from geo_assets.models import SRID, AdminArea, Asset
from geo_assets.taxonomy import TYPE_CATEGORY
from importers import cells, vocab, writers
from importers.readers import CHUNK, ledger_open

FORMATS = ("gpkg", "shp", "xlsx", "csv")
SUFFIX = {"gpkg": ".gpkg", "shp": ".zip", "xlsx": ".xlsx", "csv": ".csv"}
TYPES = {"point": ("供水饮水", "光伏电站", "卫生", "文化", "电力设施", "扶贫车间"), "line": ("道路交通", "农田水利")}


def _inside(shape, box, rnd: random.Random) -> tuple[float, float]:
    while True:
        x, y = rnd.uniform(box[0], box[2]), rnd.uniform(box[1], box[3])
        if shapely.contains_xy(shape, x, y):
            return x, y


def ledger_generate(path: Path, *, rows: int, fmt: str, geometry: str = "point", seed: int = 11) -> int:
    """Write `rows` assets spread over every village (inside it, so all rows are valid) in `fmt`."""
    villages = []
    for v in AdminArea.objects.villages().with_parent().order_by("code"):
        shape = shapely.from_wkb(bytes(v.geom.wkb))
        shapely.prepare(shape)
        villages.append((v, shape, shape.bounds))
    if not villages:
        raise ValueError("no villages: load areas first (manage.py load_demo)")
    rnd = random.Random(seed)

    def features():
        for i in range(rows):
            village, shape, box = villages[i % len(villages)]
            x, y = _inside(shape, box, rnd)
            asset_type = TYPES[geometry][i % len(TYPES[geometry])]
            row = {
                vocab.NAME: f"基准资产{i:07d}", vocab.TYPE: asset_type,
                vocab.CATEGORY: vocab.label(vocab.CATEGORY_LABELS, TYPE_CATEGORY[vocab.TYPE_INDEX[asset_type]]),
                vocab.TOWNSHIP: village.parent.name, vocab.VILLAGE: village.name, vocab.AREA_CODE: village.code,
                vocab.YEAR: str(2016 + i % 9), vocab.FUNDING: "财政专项扶贫资金（中央）:10;统筹整合财政涉农资金:5",
                vocab.INVESTMENT: "15", vocab.CUSTODIAN: f"{village.name}村民委员会", vocab.CUSTODIAN_PERSON: "张三丰",
                vocab.PHONE: "13800000000", vocab.STATUS: "在用", vocab.LON: repr(x), vocab.LAT: repr(y),
            }
            geom = shapely.Point(x, y)
            if geometry == "line":
                geom = shapely.MultiLineString([[(x, y), _inside(shape, (x - 0.002, y - 0.002, x + 0.002, y + 0.002),
                                                                 rnd)]])
                row[vocab.WKT] = geom.wkt
            yield row, geom

    return writers.write(fmt, path, features())


# ---------------------------------------------------------------- what each child process measures

def _production_like() -> None:
    """As in production: DEBUG off, so Django does not keep every SQL statement in memory."""
    settings.DEBUG = False


def measure_import(path: Path, *, keep: bool = False) -> dict:
    from importers.services import actor_resolve, assets_import

    _production_like()
    actor = actor_resolve(username=None)
    with transaction.atomic():
        started = time.perf_counter()
        report = assets_import(actor=actor, path=path)
        seconds = time.perf_counter() - started
        transaction.set_rollback(not keep)
    return {"seconds": seconds, "rows": report.created + report.updated + report.unchanged,
            "invalid": report.invalid, "errors": [e.message for e in report.errors[:3]], "rss_mb": peak_rss_mb()}


def _asset_unchecked(i: int, values: dict, geometry) -> Asset:
    asset_type = vocab.TYPE_INDEX[vocab.text_key(values[vocab.TYPE])]
    if geometry is None:
        wkt = cells.text(values.get(vocab.WKT))
        geometry = shapely.from_wkt(wkt) if wkt else shapely.Point(float(values[vocab.LON]), float(values[vocab.LAT]))
    geos = GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=SRID)
    if geos.geom_type == "LineString":
        geos = MultiLineString(geos, srid=SRID)
    return Asset(code=f"BC-{i:07d}", name=values[vocab.NAME], asset_type=asset_type,
                 category=TYPE_CATEGORY[asset_type], total_investment=Decimal(cells.text(values[vocab.INVESTMENT])),
                 **({"point": geos} if isinstance(geos, Point) else {"line": geos}))


def measure_bulk_create(path: Path) -> dict:
    """The usual Django way: read the file, build model instances, bulk_create them (no checks, no village, no
    history, no funding lines)."""
    _production_like()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, transaction.atomic():
        started = time.perf_counter()
        ledger = ledger_open(path, workdir=Path(tmp))
        done = 0
        for chunk in ledger.chunks(CHUNK):
            Asset.objects.bulk_create([_asset_unchecked(done + i, r.values, r.geometry) for i, r in enumerate(chunk)],
                                      batch_size=CHUNK)
            done += len(chunk)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"seconds": seconds, "rows": done, "rss_mb": peak_rss_mb()}


# ---------------------------------------------------------------- ogr2ogr

def ogr2ogr_args(path: Path, fmt: str, table: str) -> list[str]:
    db = connection.settings_dict  # under as_owner(): the scratch table is DDL, the schema owner's to make
    conn = {"dbname": db["NAME"], "host": db["HOST"], "port": db["PORT"], "user": db["USER"],
            "password": db["PASSWORD"]} | {k: v for k, v in db["OPTIONS"].items() if k in ("host", "port")}
    args = ["ogr2ogr", "-f", "PostgreSQL", "PG:" + " ".join(f"{k}='{v}'" for k, v in conn.items() if v),
            f"/vsizip/{path}" if fmt == "shp" else str(path), "-nln", table, "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid"]
    if fmt == "csv":
        args += ["-oo", "X_POSSIBLE_NAMES=经度", "-oo", "Y_POSSIBLE_NAMES=纬度", "-oo", "GEOM_POSSIBLE_NAMES=WKT",
                 "-a_srs", "EPSG:4490"]
    elif fmt == "xlsx":
        point = f'MakePoint(CAST("{vocab.LON}" AS REAL), CAST("{vocab.LAT}" AS REAL), 4490)'
        args += ["-dialect", "SQLite", "-sql", f'SELECT *, {point} AS geom FROM "{writers.LAYER}"']  # noqa: S608
    return args


def _database_url() -> str:
    """The URL of this process's database (a test run's too), for the measuring child processes."""
    from config.env import local_database_url

    url = urlsplit(os.environ.get("DATABASE_URL") or local_database_url())
    return url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()


def _run_measured(args: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a process; its wall time, its peak RSS in MB (sampled every 10 ms) and its output."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)  # noqa: S603
        rss = 0.0
        while process.poll() is None:
            rss = max(rss, peak_rss_mb(process.pid) or 0)
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if process.returncode:
        raise RuntimeError(f"{args[0]} failed ({process.returncode}): {output[-2000:]}")
    return seconds, rss, output


def written_tables() -> list[str]:
    """The tables an import writes (the register's assets, funding lines and owner shares with their history, the
    map's clusters by trigger)."""
    from geo_assets.models import FundingLine, OwnerShare
    from layers.models import AssetCluster

    models = (Asset, FundingLine, OwnerShare)
    return [m._meta.db_table for m in (*models, *(m.history.model for m in models), AssetCluster)]


def written_vacuum() -> None:
    """VACUUM (ANALYZE) what the rolled-back runs left dead (a million rows and their index entries), so that
    autovacuum does not do it during the next benchmark (docs/performance.md, session 10: the nearby rows read 1.36
    and 2.61 × under it). Outside any transaction, as the schema's owner."""
    with as_owner(connection), connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(map(connection.ops.quote_name, written_tables()))}")


def bench(*, rows: int, fmt: str, geometry: str = "point", keep: bool = False, workdir: Path | None = None,
          log=print) -> dict:
    """Generate, then measure the import and its anchors; returns the figures (also for bench.registry)."""
    with tempfile.TemporaryDirectory(prefix="bench-", dir=workdir) as tmp:
        path = Path(tmp) / f"bench{SUFFIX[fmt]}"
        started = time.perf_counter()
        ledger_generate(path, rows=rows, fmt=fmt, geometry=geometry)
        log(f"{rows} {geometry} rows as {fmt}: {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE") or "config.settings",
               "DATABASE_URL": _database_url()}
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench_import", "--file", str(path)]
        result = {"rows": rows, "format": fmt, "geometry": geometry, "file_mb": round(path.stat().st_size / 1e6, 1)}
        for name, args in (("import", [*manage, "--measure", "import", *(["--keep"] if keep else [])]),
                           ("bulk_create", [*manage, "--measure", "bulk_create"])):
            figures = json.loads(_run_measured(args, env)[2].strip().splitlines()[-1])
            if figures["rows"] != rows:
                raise RuntimeError(f"{name} handled {figures['rows']} of {rows} rows: {figures}")
            result[name] = {"seconds": round(figures["seconds"], 2), "rss_mb": round(figures["rss_mb"])}
            log(f"{name}: {figures['seconds']:.1f} s, peak RSS {figures['rss_mb']:.0f} MB")
        if shutil.which("ogr2ogr"):
            table = f"bench_ogr2ogr_{os.getpid()}"
            with as_owner(connection):
                try:
                    seconds, rss, _out = _run_measured(ogr2ogr_args(path, fmt, table))
                    with connection.cursor() as cursor:
                        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
                        loaded = cursor.fetchone()[0]
                finally:
                    with connection.cursor() as cursor:
                        cursor.execute(f'DROP TABLE IF EXISTS "{table}"')
            if loaded != rows:
                raise RuntimeError(f"ogr2ogr loaded {loaded} of {rows} rows")
            result["ogr2ogr"] = {"seconds": round(seconds, 2), "rss_mb": round(rss)}
            log(f"ogr2ogr: {seconds:.1f} s, peak RSS {rss:.0f} MB")
        started = time.perf_counter()
        written_vacuum()
        log(f"the rolled-back rows vacuumed: {time.perf_counter() - started:.1f} s (not measured)")
    for name in ("import", "bulk_create", "ogr2ogr"):
        if name in result:
            result[name]["rows_per_s"] = round(rows / max(result[name]["seconds"], 1e-6))
    return result


# ------------------------------------------------------------------------ the `import` benchmark of `manage.py bench`

# (format, geometry, rows at full size): the 1M-point GeoPackage, 200k-line Shapefile, 100k-row XLSX
IMPORT_CASES = [("gpkg", "point", 1_000_000), ("shp", "line", 200_000), ("xlsx", "point", 100_000)]
IMPORT_TARGETS = {"ogr2ogr": 0.7, "bulk_create": 10.0}  # import rows/s ≥ target × anchor rows/s
# issue 22: the 1M-point GeoPackage with every check kept, ≥ 0.25 × ogr2ogr (the other formats keep issue 11's)
FORMAT_TARGETS = {"gpkg": {"ogr2ogr": 0.25}}
MEMORY_TARGET = 1.25  # peak RSS at full size ≤ 1.25 × at a tenth of it: memory does not grow with the file


def import_benchmark(options) -> list[dict]:
    """Import end to end vs ogr2ogr -f PostgreSQL and Django bulk_create (bench() above), rows/s, medians."""
    quick, rows = options.quick, []
    for fmt, geometry, size in IMPORT_CASES:
        n = 20 if quick else max(int(size * options.scale), 10)
        runs = [bench(rows=n, fmt=fmt, geometry=geometry, log=lambda line: print("  " + line, flush=True))
                for _ in range(options.repeat)]
        median = {k: {f: statistics.median(r[k][f] for r in runs) for f in ("rows_per_s", "rss_mb", "seconds")}
                  for k in ("import", "bulk_create", "ogr2ogr") if k in runs[0]}
        label = f"import {fmt} {n:,} {geometry}s"
        for anchor, target in (IMPORT_TARGETS | FORMAT_TARGETS.get(fmt, {})).items():
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
