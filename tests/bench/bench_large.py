"""Large-file measurement (not part of the normal run): `pytest tests/bench/bench_large.py -s`.

Set BENCH_ROWS (default 20000). Prints seconds and peak RSS for check-only (dry run), first import and re-import.
"""

import os
import resource
import time

import pytest

from geo_assets.models import Asset
from tests.importers import builders as b
from tests.importers.conftest import run_report


@pytest.mark.django_db
def test_large_csv(areas, admin_user, tmp_path):
    n = int(os.environ.get("BENCH_ROWS", "20000"))
    data = b.rows(n)
    for i, r in enumerate(data):
        r["资产编号"] = f"B-{i:06d}"
        r["经度"] = 111.501 + (i % 400) * 0.00049
        r["纬度"] = 33.801 + (i // 400 % 400) * 0.00049
    path = b.write_csv(tmp_path / "big.csv", data)
    print(f"\n{n} rows, {path.stat().st_size / 1e6:.1f} MB")
    for label, extra in (("dry run", ("--dry-run",)), ("import", ()), ("re-import", ())):
        t = time.perf_counter()
        code, report = run_report(tmp_path, path, *extra)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{label}: {time.perf_counter() - t:.1f} s, exit {code}, created {report['created']}, "
              f"unchanged {report['unchanged']}, peak RSS {rss:.0f} MB")
    assert Asset.objects.count() == n


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "gpkg", "xlsx"])
def test_large_check_only(areas, admin_user, tmp_path, fmt):
    """Memory stays flat while checking a big file (dry run): BENCH_CHECK_ROWS, default 100000."""
    n = int(os.environ.get("BENCH_CHECK_ROWS", "100000"))
    data = b.rows(n)
    for i, r in enumerate(data):
        r["经度"] = 111.501 + (i % 400) * 0.00049
        r["纬度"] = 33.801 + (i // 400 % 400) * 0.00049
    if fmt == "csv":
        path = b.write_csv(tmp_path / "big.csv", data)
    elif fmt == "xlsx":
        path = b.write_xlsx(tmp_path / "big.xlsx", data)
    else:
        path = b.write_gis(tmp_path / "big.gpkg", b.frame(data))
    del data
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    code, report = run_report(tmp_path, path, "--dry-run")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{fmt} {n} rows ({path.stat().st_size / 1e6:.1f} MB): dry run {time.perf_counter() - t:.1f} s, exit {code}, "
          f"would create {report['created']}, peak RSS {before:.0f} MB before → {rss:.0f} MB after")
    assert report["created"] == n


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["csv", "gpkg", "xlsx"])
def test_large_memory_in_own_process(tmp_path, fmt):
    """Peak RSS of `manage.py import_assets --dry-run` on BENCH_CHECK_ROWS rows, in a fresh process."""
    import subprocess
    import sys

    from django.conf import settings
    from django.db import connection

    from tests.factories import make_admin, make_areas

    make_areas()
    make_admin()
    n = int(os.environ.get("BENCH_CHECK_ROWS", "100000"))
    data = b.rows(n)
    for i, r in enumerate(data):
        r["经度"] = 111.501 + (i % 400) * 0.00049
        r["纬度"] = 33.801 + (i // 400 % 400) * 0.00049
    path = {"csv": lambda: b.write_csv(tmp_path / "big.csv", data),
            "xlsx": lambda: b.write_xlsx(tmp_path / "big.xlsx", data),
            "gpkg": lambda: b.write_gis(tmp_path / "big.gpkg", b.frame(data))}[fmt]()
    from config.env import local_database_url

    url = os.environ.get("DATABASE_URL") or local_database_url()
    url = url.replace("/assets?", f"/{connection.settings_dict['NAME']}?")
    script = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
              "print(p.returncode, round(time.perf_counter() - t, 1), "
              "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, (p.stdout + p.stderr)[-300:])")
    out = subprocess.run([sys.executable, "-c", script, sys.executable, "manage.py", "import_assets", str(path),
                          "--dry-run"], capture_output=True, text=True, env={**os.environ, "DATABASE_URL": url},
                         cwd=settings.BASE_DIR)
    assert out.returncode == 0, out.stderr[-2000:]
    out = out.stdout
    code, seconds, rss, summary = out.split(" ", 3)
    print(f"\n{fmt} {n} rows ({path.stat().st_size / 1e6:.1f} MB): exit {code}, {seconds} s, peak RSS {rss} MB; {summary}")
    assert code == "0"
