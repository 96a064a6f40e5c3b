"""The ledger export (`manage.py bench --only export`): `importers.services.assets_export` as the county-level user
sees it, for an area of n assets and one of about 10 n (the largest township, and the village of it whose count is
nearest a tenth of the township's), in GeoPackage, XLSX and CSV:

* **floor** — the GeoPackage against `ogr2ogr -f GPKG` reading the same assets from PostGIS with one statement
  (bench.ogc's floor: codes, labels, village and township, numbers and the geometry; no funding, owners, projects or
  privacy rule), as assets per second;
* **growth** — the time per asset of the ~10 n area against the n area, per format (target: no more than
  GROWTH_TARGET: the export streams in chunks, so its time grows with the rows and nothing else);
* **the web's limit** — the seconds XLSX (the slowest format) would take for `EXPORT_MAX_ASSETS` assets at the
  township's rate, against the 120 s nginx waits for the file (deploy/nginx/assets.conf).

Medians of `repeat` runs.
"""

from pathlib import Path

from bench.kit import RESULTS, bench_user, row, timed_median

FORMATS = ("gpkg", "xlsx", "csv")
GROWTH_TARGET = 1.25
PROXY_WAIT_S = 120.0  # deploy/nginx/assets.conf: proxy_read_timeout
LIMIT_SHARE = 0.5  # the largest web export takes at most half of what the proxy waits


def _areas():
    """(township, its count), (village, its count): the largest township and its village nearest a tenth of it."""
    from django.db.models import Count

    from geo_assets.models import AdminArea, Asset

    township = (Asset.objects.filter(township__isnull=False).values("township").annotate(n=Count("id"))
                .order_by("-n", "township").first())
    if township is None:
        raise RuntimeError("没有资产：请先加载数据 (no assets loaded)")
    villages = (Asset.objects.filter(township=township["township"], village__isnull=False).values("village")
                .annotate(n=Count("id")))
    village = min(villages, key=lambda v: (abs(v["n"] - township["n"] / 10), v["village"]))
    areas = AdminArea.objects.in_bulk([township["township"], village["village"]])
    return (areas[township["township"]], township["n"]), (areas[village["village"]], village["n"])


def export_benchmark(options) -> list[dict]:
    from django.conf import settings

    from bench.ogc import OGR2OGR, floor_run, floor_sql
    from importers.services import assets_export

    user = bench_user()
    repeat = 1 if options.quick else max(1, options.repeat)
    out = Path(getattr(options, "out", None) or RESULTS) / "export"
    out.mkdir(parents=True, exist_ok=True)
    (township, n_township), (village, n_village) = _areas()
    seconds = {}
    for area, n in ((village, n_village), (township, n_township)):
        where = {"village": area.code} if area.level == "village" else {"township": area.code}
        for fmt in FORMATS:
            path = out / f"{area.code}.{fmt}"

            def export(fmt=fmt, path=path, where=where, n=n):
                path.unlink(missing_ok=True)
                written = assets_export(actor=user, path=path, fmt=fmt, limit=None, **where)
                if written != n:
                    raise RuntimeError(f"{fmt}: {written} of {n} assets exported")

            seconds[area.code, fmt] = timed_median(export, repeat)
            print(f"  export {fmt} {area.name} ({n:,}): {seconds[area.code, fmt]:.2f} s", flush=True)
    rows = []
    if OGR2OGR:
        for area, n in ((village, n_village), (township, n_township)):
            column = "village_code" if area.level == "village" else "township_code"
            sql = f"SELECT * FROM ({floor_sql()}) f WHERE {column} = '{area.code}'"  # noqa: S608 - a code of ours

            def floor(area=area, sql=sql, n=n):
                path = out / f"{area.code}-floor.gpkg"
                path.unlink(missing_ok=True)
                result = floor_run(path, sql=sql)
                if result["features"] != n:
                    raise RuntimeError(f"ogr2ogr wrote {result['features']} of {n} assets")

            floor_s = timed_median(floor, repeat)
            rows.append(row(f"export gpkg, {area.name} ({n:,} assets) vs ogr2ogr PostGIS → GPKG: assets/s",
                            n / seconds[area.code, "gpkg"], "assets/s", n / floor_s, "ogr2ogr", None))
    for fmt in FORMATS:
        per_small = seconds[village.code, fmt] / n_village
        per_large = seconds[township.code, fmt] / n_township
        rows.append(row(f"export {fmt}: ms per asset, {township.name} ({n_township:,}) vs {village.name} "
                        f"({n_village:,})", 1000 * per_large, "ms", 1000 * per_small, "the smaller area",
                        None if options.quick else GROWTH_TARGET, higher_is_better=False))
    limit = settings.EXPORT_MAX_ASSETS
    rows.append(row(f"export xlsx of the web's limit ({limit:,} assets, at {township.name}'s rate) vs nginx's wait: s",
                    limit * seconds[township.code, "xlsx"] / n_township, "s", PROXY_WAIT_S, "proxy_read_timeout",
                    None if options.quick else LIMIT_SHARE, higher_is_better=False))
    return rows
