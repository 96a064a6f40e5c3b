"""Project list and fund ledger measurement at the issue's size (not part of the normal run):
`pytest tests/bench/bench_projects_large.py -s`. The demo county's townships and villages (a few assets each), then
`manage.py bench_import_projects` for 2,000 projects and 6,000 fund lines and BENCH_TIMES multiples (default 1,10)."""

import os
from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import make_admin


@pytest.mark.django_db
def test_project_ledgers_at_the_issues_size():
    call_command("load_demo", "--assets-per-village", "1", stdout=StringIO())
    make_admin()
    out = StringIO()
    call_command("bench_import_projects", "--projects", os.environ.get("BENCH_PROJECTS", "2000"),
                 "--lines", os.environ.get("BENCH_LINES", "6000"), "--times", os.environ.get("BENCH_TIMES", "1,10"),
                 stdout=out)
    print("\n" + out.getvalue())
