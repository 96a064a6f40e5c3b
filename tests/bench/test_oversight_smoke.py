"""The oversight benchmark (bench/oversight.py: the province dashboard and a county report against their figures)
runs end to end on a prefecture with two counties, so it cannot rot."""

from types import SimpleNamespace

from bench import oversight

QUICK = SimpleNamespace(quick=True, repeat=1, scale=1.0)


def test_oversight_benchmark_quick(county_world):
    rows = oversight.oversight_benchmark(QUICK)
    assert [r["name"].split(" (")[0].split(" of ")[0] for r in rows] == [
        "oversight: alert tally", "oversight: /dashboard/", "oversight: /dashboard/", "oversight: /reports/county/",
        "oversight: /reports/county/", "oversight: /reports/oversight/", "oversight: /reports/oversight/",
        "oversight: /reports/oversight.pdf", "oversight: /alerts/", "oversight: /alerts/"]
    for r in rows:
        assert r["value"] > 0 and r["anchor"] > 0 and r["unit"] == "s"
        assert r["target"] is None and r["pass"] is None  # quick: no targets
    assert rows[0]["anchor"] == oversight.TALLY_BUDGET_S
    budgets = [r for r in rows if r["name"].endswith("against the page budget")]
    assert len(budgets) == 5 and all(r["anchor"] == oversight.PAGE_BUDGET_S for r in budgets)
    assert "栾川县" in rows[3]["name"]
    from reports.models import AlertTallyRun

    assert AlertTallyRun.objects.count() == 1  # the dashboard read the tally the benchmark counted
