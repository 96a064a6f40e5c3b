"""`make bench` (`manage.py bench`) in miniature (tiny files, no targets), so that the benchmark harness cannot rot
unnoticed."""

import json
import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bench.importers import written_tables
from tests.factories import make_admin, make_areas


@pytest.mark.django_db(transaction=True)  # the measured imports run in processes of their own: the areas must be committed
def test_bench_quick_run_writes_results(tmp_path):
    make_areas()
    make_admin()
    out, started = StringIO(), timezone.now()
    call_command("bench", "--quick", "--only", "import", "--out", str(tmp_path), stdout=out)  # others: own smoke tests
    assert "ratio" in out.getvalue() and "written:" in out.getvalue()
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    anchors = {"bulk_create", "import of 10 rows"} | ({"ogr2ogr"} if shutil.which("ogr2ogr") else set())
    assert {r["anchor_name"] for r in results} == anchors
    for r in results:
        assert set(r) >= {"name", "value", "anchor", "ratio", "target", "pass"}
        assert r["value"] > 0 and r["anchor"] > 0 and r["ratio"] > 0 and r["target"] is None and r["pass"] is None
        before, after = r["load_average"]  # the machine's load while the row was measured
        assert before >= 0 and after >= 0
        assert f"{before}→{after}" in out.getvalue()
    text = (tmp_path / "results.txt").read_text(encoding="utf-8")
    assert "ratio" in text and "load" in text.splitlines()[0]
    # what the rolled-back runs left dead is vacuumed before the next benchmark, not by autovacuum during it
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum >= %s", [started])
        vacuumed = {name for (name,) in cursor.fetchall()}
    assert set(written_tables()) <= vacuumed
