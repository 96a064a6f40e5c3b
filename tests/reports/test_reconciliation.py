"""The reconciliation (账账相符) as pages, exports and API; the dashboard's 清产核资 rate and the alert rules that read
it; the annual ledgers at every level and the village's public ledger (issue 17). Data: tests/world.py's
build_ledger_world (every kind of finding; its docstring lists them)."""

import io
import shutil
import subprocess

import openpyxl
import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset
from projects.reconciliation import KINDS
from reports import figures
from reports.alerts import alerts_compute
from tests.factories import link
from tests.world import BENEFICIARY, PERSON, PHONE, client_for

WEST_PROJECTS = {"LC-2024-001", "LC-2024-002", "LC-2025-003", "LC-2024-007", "LC-2025-009", "LC-2025-010",
                 "LC-2024-011", "LC-2024-013"}
EAST_PROJECTS = {"LC-2024-004", "LC-2025-005", "LC-2024-006", "LC-2022-008", "LC-2025-012"}


def pdf_text(content: bytes) -> str:
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext (Debian poppler-utils) is needed"
    return subprocess.run([exe, "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def finding_codes(body: dict, kind: str) -> set[str]:
    return {i["project"] if KINDS[kind].subject != "asset" else ",".join(i["assets"])
            for i in body["findings"][kind]["items"]}


# ---------------------------------------------------------------- who may open it


@pytest.mark.parametrize(("role", "status"), [
    ("county_admin", 200), ("finance", 200), ("inspector", 200), ("department", 200), ("township", 200),
    ("village", 200), ("staff_without_role", 403)])
def test_who_may_open_the_reconciliation(ledger_world, role, status):
    client = client_for(ledger_world.users[role])
    assert client.get("/reconciliation/").status_code == status
    assert client.get("/api/v1/reconciliation/").status_code == status


def test_the_public_is_refused(ledger_world):
    for url in ("/reconciliation/", "/reconciliation.xlsx", "/reconciliation.pdf", "/reports/ledgers/",
                "/reports/ledgers/county/2024/", "/reports/ledgers/villages/410324101001/2024.xlsx"):
        response = Client().get(url)
        assert response.status_code == 302 and "next=" in response["Location"], url
    assert Client().get("/api/v1/reconciliation/").status_code in (401, 403)


def test_a_township_clerk_sees_its_township_only(ledger_world):
    w = ledger_world
    client = client_for(w.users["township"])
    page = client.get("/reconciliation/").content.decode()
    assert all(code in page for code in WEST_PROJECTS)
    assert not any(code in page for code in EAST_PROJECTS)
    assert w.assets["orphan_ws"].code in page and w.assets["orphan_unknown"].code not in page
    assert 'value="410324101000"' in page and 'value="410324102000"' not in page  # its township in the filter
    body = client.get("/api/v1/reconciliation/").json()
    assert {p["code"] for p in body["projects"]} == WEST_PROJECTS
    assert finding_codes(body, "asset_without_project") == {w.assets["orphan_ws"].code}
    # asking for the other township gives nothing of it
    assert client.get("/api/v1/reconciliation/?township=东镇").json()["projects"] == []


# ---------------------------------------------------------------- the page


def test_the_page_lists_each_kind_with_links_to_the_project_the_asset_and_the_map(ledger_world):
    w = ledger_world
    page = client_for(w.users["finance"]).get("/reconciliation/").content.decode()
    for code in KINDS:
        assert f'id="kind-{code}" data-count="' in page
    assert 'id="kind-accepted_without_assets" data-count="1"' in page
    assert 'id="kind-asset_without_project" data-count="3"' in page
    assert 'href="/projects/LC-2024-002/"' in page  # the project page (projects:project)
    assert 'href="/#project=LC-2024-004"' in page  # the project's assets on the map
    orphan = w.assets["orphan_ws"].code
    assert f'href="/assets/{orphan}/"' in page and f'href="/#asset={orphan}"' in page
    assert "88" in page and "370" in page  # in-scope difference and assets formed (万元)


def test_drill_down_opens_the_whole_list_of_a_kind(ledger_world, monkeypatch):
    from reports import views

    monkeypatch.setattr(views, "FINDINGS_SHOWN", 1)
    client = client_for(ledger_world.users["county_admin"])
    page = client.get("/reconciliation/").content.decode()
    section = page.split('id="kind-asset_without_project"')[1].split("</section>")[0]
    assert section.count('class="finding"') == 1 and "show-all" in section
    page = client.get("/reconciliation/?kind=asset_without_project").content.decode()
    section = page.split('id="kind-asset_without_project"')[1].split("</section>")[0]
    assert section.count('class="finding"') == 3 and "show-all" not in section


def test_filters_on_the_page_and_bad_values_refused(ledger_world):
    client = client_for(ledger_world.users["county_admin"])
    page = client.get("/reconciliation/?year=2025&source=integrated").content.decode()
    assert "LC-2025-003" in page and "LC-2024-001" not in page and "LC-2025-005" not in page
    response = client.get("/reconciliation/?year=abc&source=外星资金")
    assert response.status_code == 400
    text = response.content.decode()
    assert "abc" in text and "外星资金" in text and "central" in text  # each refusal says what is accepted
    for url in ("/reconciliation.xlsx?township=无此镇", "/reconciliation.pdf?department=无此局"):
        assert client.get(url).status_code == 400


# ---------------------------------------------------------------- exports


def test_the_workbook_has_the_totals_the_projects_and_every_finding(ledger_world):
    response = client_for(ledger_world.users["finance"]).get("/reconciliation.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    titles = [str(kind.label)[:31] for kind in KINDS.values()]
    assert set(titles) <= set(book.sheetnames)
    projects = book["项目列表"]
    rows = {row[0]: row for row in projects.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == WEST_PROJECTS | EAST_PROJECTS
    assert rows["LC-2024-004"][8] == 30 and rows["LC-2024-004"][10] == 50  # disbursed, formed: numbers
    for code, title in zip(KINDS, titles, strict=True):
        cells = [c for row in book[title].iter_rows(min_row=2, values_only=True) for c in row if c is not None]
        assert code in cells  # the finding's code in its own column
    assert "LC-2024-002" in [r[1] for r in book[titles[0]].iter_rows(min_row=2, values_only=True)]
    orphans = {r[3] for r in book[titles[1]].iter_rows(min_row=2, values_only=True) if r[0]}
    assert ledger_world.assets["orphan_ws"].code in orphans


def test_the_pdf_is_a_pdf_with_the_findings(ledger_world):
    response = client_for(ledger_world.users["county_admin"]).get("/reconciliation.pdf?year=2024")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert "LC-2024-002" in text and "LC-2024-004" in text and "LC-2025-003" not in text
    assert "已验收未形成资产的项目" in text


def test_the_pdf_lists_at_most_so_many_rows(ledger_world, monkeypatch):
    from reports import views

    monkeypatch.setattr(views, "PDF_ROWS_MAX", 2)
    text = pdf_text(client_for(ledger_world.users["county_admin"]).get("/reconciliation.pdf").content)
    assert "仅列前 2 行（共 13 行）" in text


# ---------------------------------------------------------------- API


def test_the_api_with_a_token(ledger_world):
    w = ledger_world
    token = Token.objects.create(user=w.users["finance"])
    body = Client().get("/api/v1/reconciliation/", HTTP_AUTHORIZATION=f"Token {token.key}").json()
    assert body["totals"]["in_scope"]["disbursed"] == "463.0000"
    assert body["totals"]["traced"]["projects"] == 1 and body["totals"]["excluded"]["disbursed"] == "150.0000"
    assert finding_codes(body, "accepted_without_assets") == {"LC-2024-002"}
    assert finding_codes(body, "partly_formed") == {"LC-2025-003"}
    assert finding_codes(body, "asset_exceeds_disbursement") == {"LC-2024-004"}
    assert finding_codes(body, "fund_line_without_document") == {"LC-2025-005"}
    assert finding_codes(body, "asset_without_project") == {w.assets[k].code for k in (
        "orphan_ws", "orphan_unknown", "clinic_en")}
    item = body["findings"]["asset_exceeds_disbursement"]["items"][0]
    assert item["kind"] == "asset_exceeds_disbursement" and item["assets"] == [w.assets["water_es"].code]
    assert item["amount"] == "20.0000"
    clerk = Token.objects.create(user=w.users["township"])
    body = Client().get("/api/v1/reconciliation/?year=2024", HTTP_AUTHORIZATION=f"Token {clerk.key}").json()
    assert {p["code"] for p in body["projects"]} == {c for c in WEST_PROJECTS if c.startswith("LC-2024")}
    assert body["filters"] == {"year": "2024"}


def test_the_api_accepts_codes_and_labels(ledger_world):
    client = client_for(ledger_world.users["county_admin"])
    by_code = client.get("/api/v1/reconciliation/?source=county&township=410324101000").json()
    by_label = client.get("/api/v1/reconciliation/?source=财政专项扶贫资金（县级）&township=西镇").json()
    assert by_code["projects"] == by_label["projects"] and len(by_code["projects"]) == 2
    department = ledger_world.departments["water"]
    assert client.get(f"/api/v1/reconciliation/?department={department.pk}").json()["projects"] == \
        client.get("/api/v1/reconciliation/?department=水利局").json()["projects"]


@pytest.mark.parametrize(("query", "field"), [
    ("year=20x4", "year"), ("year=1850", "year"), ("source=外星资金", "source"), ("department=无此局", "department"),
    ("department=99999", "department"), ("township=410324999000", "township")])
def test_bad_api_filters_are_400_naming_the_field(ledger_world, query, field):
    response = client_for(ledger_world.users["county_admin"]).get(f"/api/v1/reconciliation/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field] and body[field][0]


# ---------------------------------------------------------------- the dashboard's 清产核资 rate


def test_the_dashboards_inventory_rate_is_the_money_accounted_for(ledger_world):
    w = ledger_world
    progress = figures.workplan_progress(w.users["county_admin"])
    villages = {r["village"].pk: r["rates"]["inventory"] for r in progress["villages"]}
    townships = {r["township"].pk: r["rates"]["inventory"] for r in progress["townships"]}
    # the county: 355 of the 463 disbursed in scope (formed up to each disbursement; the insurance explained)
    assert progress["county"]["rates"]["inventory"] == 76.7
    assert townships[w.areas.west.pk] == 76.9  # 310 of 403: the shared road counts for the township
    assert villages[w.areas.west_south.pk] == 85.8  # 260 of 303, projects serving 西南村 alone
    assert villages[w.areas.east_south.pk] == 100.0  # the water works (50) counts up to its 30 disbursed
    assert villages[w.areas.east_north.pk] == 40.0  # 10 of 25: the corrected link forms nothing
    tasks = {t["task"]: t for t in progress["tasks"]}
    assert tasks["inventory"]["rate"] == 76.7
    page = client_for(w.users["county_admin"]).get("/dashboard/").content.decode()
    assert 'href="/reconciliation/"' in page and "76.7" in page


def test_without_fund_ledgers_the_inventory_rate_is_none(areas, admin_user):
    from tests.factories import make_asset

    make_asset(actor=admin_user, area=areas.west_south, year_built=2024)
    progress = figures.workplan_progress(admin_user)
    assert progress["county"]["rates"]["inventory"] is None
    assert all(r["rates"]["inventory"] is None for r in progress["villages"])


# ---------------------------------------------------------------- alert rules


def test_alert_asset_without_project(ledger_world):
    w = ledger_world
    found = {a.asset_id: a.evidence for a in alerts_compute(assets=Asset.objects.all(), rules=["asset_without_project"],
                                                            viewer=scope_for(w.users["county_admin"]))}
    # positive: in scope by year (or of unknown year) and formed by no project; negative: linked, built before the
    # first year, disposed, linked by a link stating 0 only (clinic_en: positive)
    assert set(found) == {w.assets[k].pk for k in ("orphan_ws", "orphan_unknown", "clinic_en")}
    assert found[w.assets["orphan_unknown"].pk] == "建成年度不详，资金台账中无对应项目"
    assert found[w.assets["orphan_ws"].pk] == "2025 年建成，资金台账中无对应项目"
    link(actor=w.users["county_admin"], project=w.projects["p_road"], asset=w.assets["orphan_ws"])
    assert w.assets["orphan_ws"].pk not in {a.asset_id for a in alerts_compute(
        assets=Asset.objects.all(), rules=["asset_without_project"])}


def test_alert_accepted_project_without_assets(ledger_world):
    w = ledger_world
    villages = AdminArea.objects.villages()
    found = alerts_compute(assets=Asset.objects.all(), villages=villages, rules=["accepted_without_assets"])
    # positive: 西北村's accepted road project; negative: the traced one (2022) of 东南村, the insurance (explained),
    # the accepted projects with assets
    assert [(a.area_id, a.level) for a in found] == [(w.areas.west_north.pk, "red")]
    assert found[0].evidence == "项目 LC-2024-002 西北村通组道路 已于 2024-12-01 验收，但未登记资产"
    link(actor=w.users["county_admin"], project=w.projects["p_no_assets"], asset=w.assets["orphan_ws"])
    assert alerts_compute(assets=Asset.objects.all(), villages=villages, rules=["accepted_without_assets"]) == []


def test_the_alert_rules_and_the_reconciliation_agree(ledger_world):
    from projects.reconciliation import reconcile

    w = ledger_world
    rec = reconcile(w.users["county_admin"])
    alerts = alerts_compute(assets=Asset.objects.all(), villages=AdminArea.objects.villages(),
                            rules=["asset_without_project", "accepted_without_assets"])
    assert {a.asset_id for a in alerts if a.rule == "asset_without_project"} == {
        i.assets[0].id for i in rec.findings["asset_without_project"]}
    served = {v for i in rec.findings["accepted_without_assets"] for v in i.project.villages}
    assert {a.area_id for a in alerts if a.rule == "accepted_without_assets"} == served


# ---------------------------------------------------------------- the annual ledgers


@pytest.mark.parametrize(("role", "county", "west", "east", "west_south"), [
    ("county_admin", 200, 200, 200, 200), ("finance", 200, 200, 200, 200), ("inspector", 200, 200, 200, 200),
    ("department", 200, 200, 200, 200), ("township", 403, 200, 403, 200), ("village", 403, 403, 403, 200),
    ("staff_without_role", 403, 403, 403, 403)])
def test_who_may_open_which_ledger(ledger_world, role, county, west, east, west_south):
    a = ledger_world.areas
    client = client_for(ledger_world.users[role])
    assert client.get("/reports/ledgers/county/2024/").status_code == county
    assert client.get(f"/reports/ledgers/townships/{a.west.code}/2024.xlsx").status_code == west
    assert client.get(f"/reports/ledgers/townships/{a.east.code}/2024/").status_code == east
    assert client.get(f"/reports/ledgers/villages/{a.west_south.code}/2024/").status_code == west_south


def test_a_village_clerk_opening_another_villages_ledger_gets_its_public_one(ledger_world):
    a = ledger_world.areas
    response = client_for(ledger_world.users["village"]).get(f"/reports/ledgers/villages/{a.east_north.code}/2024/")
    assert response.status_code == 302
    assert response["Location"] == f"/public/villages/{a.east_north.code}/ledger/2024/"
    assert Client().get(response["Location"]).status_code == 200  # anyone opens the public ledger
    assert client_for(ledger_world.users["county_admin"]).get("/reports/ledgers/county/1999/").status_code == 404


def test_the_county_ledger_in_the_plans_columns(ledger_world):
    w = ledger_world
    response = client_for(w.users["finance"]).get("/reports/ledgers/county/2024.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[1]
    head = [c.value for c in sheet[1]]
    assert head[:6] == ["项目编号", "资产编号", "资产名称", "乡镇", "村", "类型"]
    assert head[-5:] == ["总投资（万元）", "产权主体", "管护责任方", "状态", "核查"]
    rows = {r[1]: dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True) if r[1]}
    # formed in 2024 (the disposed road too, with its status); not 2019's road nor 2025's
    assert set(rows) == {w.assets[k].code for k in ("road_ws", "water_es", "square_ws", "household_ws",
                                                    "disposed_wn")}
    road = rows[w.assets["road_ws"].code]
    assert road["项目编号"] == "LC-2024-001" and road["财政专项扶贫资金（中央）"] == 100
    assert road["财政专项扶贫资金（县级）"] == 20 and road["总投资（万元）"] == 120
    assert road["产权主体"] == "西南村村民委员会" and PERSON in road["管护责任方"]  # staff see the person in charge
    assert road["核查"].startswith("2025-05-01")
    assert rows[w.assets["water_es"].code]["财政专项扶贫资金（中央）"] == 30  # never more than the project disbursed
    assert rows[w.assets["disposed_wn"].code]["状态"] == "已处置"
    pdf = client_for(w.users["finance"]).get("/reports/ledgers/county/2024.pdf")
    assert pdf.content.startswith(b"%PDF-") and w.assets["road_ws"].code in pdf_text(pdf.content)


def test_a_township_ledger_has_its_villages_only(ledger_world):
    w = ledger_world
    page = client_for(w.users["township"]).get(f"/reports/ledgers/townships/{w.areas.west.code}/2025/")
    text = page.content.decode()
    assert w.assets["greenhouse_ws"].code in text and w.assets["road_shared"].code in text
    assert w.assets["road_en"].code not in text and w.assets["clinic_en"].code not in text


def test_the_village_public_ledger_shows_public_data_only(ledger_world):
    w = ledger_world
    code = w.areas.west_south.code
    for url in (f"/public/villages/{code}/ledger/2024/", f"/public/villages/{code}/ledger/2025/"):
        text = Client().get(url).content.decode()
        assert PERSON not in text and PHONE not in text and BENEFICIARY not in text
    text = Client().get(f"/public/villages/{code}/ledger/2024/").content.decode()
    assert w.assets["road_ws"].code in text and "西南村村民委员会" in text
    assert "马*福" in text  # the household owner masked, the asset under its public name
    assert "公示期自" in text and "村民委员会（盖章）" in text
    assert w.assets["orphan_ws"].code not in Client().get(f"/public/villages/{code}/ledger/2025/").content.decode()
    pdf = Client().get(f"/public/villages/{code}/ledger/2024.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    printed = pdf_text(pdf.content)
    assert w.assets["household_ws"].code in printed and "公示" in printed
    assert PERSON not in printed and PHONE not in printed and BENEFICIARY not in printed
    # the staff ledger of the same village names the person in charge
    staff = client_for(w.users["village"]).get(f"/reports/ledgers/villages/{code}/2024/").content.decode()
    assert PERSON in staff and PHONE not in staff


def test_a_ledger_pdf_lists_at_most_so_many_assets(ledger_world, monkeypatch):
    from reports import views

    monkeypatch.setattr(views, "LEDGER_PDF_MAX", 2)
    client = client_for(ledger_world.users["county_admin"])
    text = pdf_text(client.get("/reports/ledgers/county/2024.pdf").content)
    assert "仅列前 2 行（共 5 行）" in text and "合计" in text
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/ledgers/county/2024.xlsx").content))
    assert book.worksheets[1].max_row >= 1 + 5 + 1  # every asset and the total


def test_the_villagers_page_links_to_its_public_ledgers(ledger_world):
    code = ledger_world.areas.west_south.code
    page = Client().get(f"/public/villages/{code}/").content.decode()
    assert f'href="/public/villages/{code}/ledger/2025/"' in page and f'href="/public/villages/{code}/ledger/2024/"' in page


def test_in_english_on_request(ledger_world):
    from django.conf import settings

    client = client_for(ledger_world.users["county_admin"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/reconciliation/").content.decode()
    assert "Reconciliation of the fund ledgers with the asset register" in page
    assert "Projects accepted but without assets (1)" in page and "已验收未形成资产的项目" not in page
    body = client.get("/api/v1/reconciliation/").json()
    assert body["findings"]["partly_formed"]["label"] == "Projects partly formed"
    ledger = client.get(f"/public/villages/{ledger_world.areas.west_south.code}/ledger/2024/").content.decode()
    assert "village committee (seal)" in ledger and "public data only" in ledger
