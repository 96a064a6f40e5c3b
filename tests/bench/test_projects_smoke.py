"""The project list and fund ledger benchmark (bench/projects.py) in miniature: `manage.py bench --only projects`
and `manage.py bench_import_projects`, so that it cannot rot unnoticed."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from projects.models import FundLine, Project
from tests.factories import make_admin, make_areas

pytestmark = pytest.mark.django_db


def test_bench_quick_run_of_the_project_ledgers(tmp_path, settings):
    make_areas()
    make_admin()
    out = StringIO()
    call_command("bench", "--quick", "--only", "projects", "--out", str(tmp_path), stdout=out)
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [r["anchor_name"] for r in results] == ["bulk_create (no checks, villages, history)"]
    assert results[0]["value"] > 0 and results[0]["anchor"] > 0 and results[0]["again_seconds"] >= 0
    assert results[0]["runs"] == 1 and "runs" in (tmp_path / "results.txt").read_text(encoding="utf-8")
    pressure = results[0]["pressure"]  # None where the kernel has no /proc/pressure
    assert pressure is None or set(pressure) == {"cpu", "memory", "io"}
    assert not Project.objects.exists() and not FundLine.objects.exists()  # rolled back


def test_bench_import_projects_times_n_and_a_multiple(settings):
    make_areas()
    make_admin()
    out = StringIO()
    call_command("bench_import_projects", "--projects", "5", "--lines", "16", "--times", "1,2", "--json", stdout=out)
    results = json.loads(out.getvalue().strip().splitlines()[-1])
    assert [(r["projects"], r["lines"]) for r in results] == [(5, 16), (10, 32)]
    assert all(r["projects_import"] > 0 and r["funds_import"] > 0 for r in results)
    assert "bulk_create s" in out.getvalue() and not Project.objects.exists()
