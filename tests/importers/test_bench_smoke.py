"""`make bench` in miniature (tiny files, no targets), so that the benchmark harness cannot rot unnoticed."""

import importlib.util
import json
import shutil

import pytest
from django.conf import settings

from tests.factories import make_admin, make_areas


@pytest.mark.django_db(transaction=True)  # the measured imports run in processes of their own: the areas must be committed
def test_bench_quick_run_writes_results(tmp_path):
    make_areas()
    make_admin()
    spec = importlib.util.spec_from_file_location("bench_runner", settings.BASE_DIR / "scripts" / "bench.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    assert runner.main(["--quick", "--only", "import", "--out", str(tmp_path)]) == 0  # the others: their own smoke tests
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    anchors = {"bulk_create", "import of 10 rows"} | ({"ogr2ogr"} if shutil.which("ogr2ogr") else set())
    assert {r["anchor_name"] for r in results} == anchors
    for r in results:
        assert set(r) >= {"name", "value", "anchor", "ratio", "target", "pass"}
        assert r["value"] > 0 and r["anchor"] > 0 and r["ratio"] > 0 and r["target"] is None and r["pass"] is None
    assert "ratio" in (tmp_path / "results.txt").read_text(encoding="utf-8")
