"""Issue 17's "done when", as the finance bureau walks it in a real Chromium: import an annual fund ledger, open the
reconciliation and see every kind of finding (the import's own line among them), follow a finding to the map and a
project to its page, and take the reconciliation away as Excel and PDF."""

import io

import openpyxl
import pytest
from django.core.management import call_command

from projects.models import FundLine
from projects.reconciliation import KINDS
from tests.browser import panel_complete
from tests.importers import builders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def until(page, condition: str, timeout: int = 15000) -> None:
    page.wait_for_function(condition, timeout=timeout)


def counts(page) -> dict[str, int]:
    return dict(page.eval_on_selector_all("section.finding-kind",
                                          "s => s.map(e => [e.id.replace('kind-', ''), +e.dataset.count])"))


def test_the_finance_bureau_imports_a_ledger_and_reconciles_it(live_ledger_world, open_page, live_server, tmp_path,
                                                                settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    w = live_ledger_world
    finance = w.users["finance"]
    page, watch = open_page("/reconciliation/", user=finance)
    before = counts(page)
    assert set(before) == set(KINDS)
    assert all(before.values()), before  # every kind of finding is populated

    # the annual ledger: a documented line for the project with no assets, and one without a 文号
    rows = [{"项目编号": "LC-2024-002", "资金来源": "县级财政专项扶贫资金", "文号": "栾财农〔2024〕77号", "下达年度": "2024年",
             "下达金额（元）": 100000, "支出金额（元）": 100000},
            {"项目编号": "LC-2025-003", "资金来源": "社会扶贫资金", "文号": "", "下达年度": 2025,
             "下达金额（元）": 20000, "支出金额（元）": 20000}]
    ledger = builders.write_table_xlsx(tmp_path / "2024年度财政扶贫资金台账.xlsx", rows)
    page.goto(live_server.url + "/import/")
    page.check("input[name=kind][value=funds]")
    page.set_input_files("input[type=file]", str(ledger))
    page.click("#upload-submit")
    page.wait_for_selector("#job-progress")
    call_command("importers_worker", "--once")
    page.wait_for_selector("#confirm-import", timeout=15000)
    page.click("#confirm-import")
    page.wait_for_selector("#job-progress")
    call_command("importers_worker", "--once")
    page.wait_for_selector("#import-report", timeout=15000)
    line = FundLine.objects.get(document_number="栾财农〔2024〕77号")
    assert line.allocated == 10 and line.history.first().history_user == finance  # 元 → 万元, by whom

    page.goto(live_server.url + "/reconciliation/")
    after = counts(page)
    assert after["fund_line_without_document"] == before["fund_line_without_document"] + 1
    assert after["accepted_without_assets"] == before["accepted_without_assets"]  # money, still no asset

    # an asset without a project, on the map
    page.click("a[data-kind=asset_without_project]")
    finding = page.locator("#kind-asset_without_project tr.finding").first
    href = finding.locator("a.map-link").get_attribute("href")
    assert href.startswith("/#asset=")
    code = href.split("=", 1)[1]
    finding.locator("a.map-link").click()
    page.wait_for_selector("body.map-ready", timeout=15000)
    until(page, panel_complete(code))

    # a project, drilled into: its funds, its assets on its own map
    page.goto(live_server.url + "/reconciliation/?kind=accepted_without_assets")
    page.locator("#kind-accepted_without_assets tr.finding a.project-link").first.click()
    page.wait_for_url(f"{live_server.url}/projects/LC-2024-002/")
    assert "栾财农〔2024〕77号" in page.inner_text("body")
    page.goto(live_server.url + "/projects/LC-2024-001/")
    until(page, "document.querySelectorAll('.project-map path.leaflet-interactive').length > 0")

    # the exports, with the session of the page
    xlsx = page.request.get(live_server.url + "/reconciliation.xlsx")
    assert xlsx.ok
    book = openpyxl.load_workbook(io.BytesIO(xlsx.body()))
    text = "\n".join(str(c) for ws in book.worksheets for r in ws.iter_rows(values_only=True) for c in r if c)
    assert "LC-2024-002" in text and code in text
    pdf = page.request.get(live_server.url + "/reconciliation.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    assert watch.hosts <= {"127.0.0.1", "localhost"}
