"""The reconciliation on the demo county (tests/world.py small_county with projects/demo.py's ledgers, fixture
demo_projects): every figure and finding against the hand-written SQL of tests/projects/independent.py, and the
findings are exactly what the demo loader says it made wrong."""

from projects import reconciliation as rc
from tests.projects import independent


def test_the_demo_reconciles_against_an_independent_sql_aggregation(demo_projects):
    admin, made = demo_projects
    rec = rc.reconcile(admin)
    expected = independent.check(rec)
    # every kind populated on the demo, as a new user opening the page sees them
    assert all(rec.findings[code] for code in rc.KINDS), {code: len(items) for code, items in rec.findings.items()}
    assert expected["accepted_without_assets"] == set(made.accepted_without_assets)
    assert expected["partly_formed"] == set(made.partly_formed)
    assert expected["asset_exceeds_disbursement"] == set(made.formed_beyond)
    assert expected["fund_line_without_document"] == {key.split("/")[0] for key in made.lines_without_document}
    assert set(made.assets_without_project) <= expected["asset_without_project"]
    assert {p.code for p in rec.projects if p.klass == rc.TRACED} == set(made.traced)
    assert {p.code for p in rec.projects if p.klass == rc.EXCLUDED} == set(made.excluded)
    # the dashboard's rate reads the same figures
    accounted = rc.funds_accounted(admin, rec=rec)
    assert accounted.county[0] == rec.totals[rc.IN_SCOPE].disbursed


def test_the_demo_reconciliation_page_and_api(demo_projects, client):
    admin, made = demo_projects
    client.force_login(admin)
    body = client.get("/api/v1/reconciliation/").json()
    assert {i["project"] for i in body["findings"]["partly_formed"]["items"]} == set(made.partly_formed)
    page = client.get("/reconciliation/")
    assert page.status_code == 200 and made.accepted_without_assets[0] in page.content.decode()
