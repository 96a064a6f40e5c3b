"""The reconciliation benchmark (bench/reconciliation.py) in miniature: it builds its ledgers, times every output,
rolls everything back, and the reconciliation costs the same statements for n and 10 n projects."""

import pytest

from bench import reconciliation
from projects.models import Project


@pytest.mark.django_db
def test_reconciliation_benchmark_runs_and_rolls_back():
    small, large = reconciliation.run([4, 40], repeat=1)
    assert small["statements"] == large["statements"] <= 10
    assert large["findings"] > small["findings"] > 0
    assert all(row[key] > 0 for row in (small, large) for key in ("reconcile_s", "page_s", "api_s", "xlsx_s", "pdf_s",
                                                                  "ledger_xlsx_s", "ledger_pdf_s"))
    assert not Project.objects.exists()  # rolled back
