"""Reports on the small demo county: figures against independent queries, every output format and the dashboard's
rates (the benchmark command: tests/bench/test_commands.py)."""

import datetime
import io
import shutil
import subprocess
from collections import Counter, defaultdict
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from geo_assets.amounts import format_wan
from geo_assets.models import AdminArea, Asset, Department, OperationContract
from reports import figures
from reports.alerts import alerts_compute

YEAR = timezone.localdate().year - 1


WHERE = {"village": "a.village_id = %s", "township": "a.township_id = %s", "county": "%s::bigint IS NOT NULL"}


def rows(sql: str, level: str, area) -> list[tuple]:
    """Plain SQL, independent of the code under test; ACTIVE / AREA stand for the report's assets."""
    sql = sql.replace("ACTIVE", "a.status <> 'disposed' AND AREA").replace("AREA", WHERE[level])
    with connection.cursor() as cursor:
        cursor.execute(sql, [area.pk] * sql.count("%s"))
        return cursor.fetchall()


def latest_findings(assets) -> Counter:
    found = Counter()
    for asset in assets:
        latest = asset.verifications.filter(review__in=["accepted", "approved"]).order_by("-observed_at", "-pk").first()
        if latest:
            found[latest.finding] += 1
    return found


def contract_states(assets) -> Counter:
    today, states = timezone.localdate(), Counter()
    for asset in assets.filter(category="operating"):
        open_ = [c for c in OperationContract.objects.filter(asset=asset) if not OperationContract.objects.filter(
            renews=c).exists()]
        if not open_:
            if asset.asset_type not in ("equity", "debt") and not OperationContract.objects.filter(asset=asset).exists():
                states["无合同"] += 1
            continue
        end = max(c.ends_on for c in open_)
        states["已到期" if end < today else "即将到期" if (end - today).days <= 90 else "有效"] += 1
    return states


@pytest.mark.parametrize("level", ["village", "township", "county"])
def test_figures_match_independent_queries(checked_county, level, django_assert_max_num_queries):
    area = {"village": AdminArea.objects.villages().filter(village_assets__income__isnull=False),
            "township": AdminArea.objects.townships(), "county": AdminArea.objects.filter(level="county")}[level]
    area = area.order_by("code").first()
    with django_assert_max_num_queries(45):  # set-based: the same few statements whatever the area's size
        fig = figures.report_figures(figures.area_scope(checked_county, area), YEAR)

    count, investment = rows("SELECT count(*), sum(total_investment) FROM geo_assets_asset a WHERE ACTIVE", level, area)[0]
    assert (fig["totals"]["count"], fig["totals"]["investment"]) == (count, investment) and count > 0
    by_type = dict(rows("SELECT asset_type, count(*) FROM geo_assets_asset a WHERE ACTIVE GROUP BY 1", level, area))
    assert {r["asset_type"]: r["count"] for r in fig["totals"]["by_type"]} == by_type
    funding = dict(rows("SELECT f.source, sum(f.amount) FROM geo_assets_fundingline f JOIN geo_assets_asset a "
                        "ON a.id = f.asset_id WHERE ACTIVE GROUP BY 1", level, area))
    assert {r["source"]: r["total"] for r in fig["totals"]["funding"]} == funding
    assert fig["totals"]["funded"] == sum(funding.values())
    disposed = rows("SELECT count(*) FROM geo_assets_asset a WHERE status = 'disposed' AND AREA", level, area)[0][0]
    assert fig["totals"]["disposed"] == disposed

    registered, custodian = rows("SELECT count(*) FILTER (WHERE registration_status = 'registered'), "
                                 "count(*) FILTER (WHERE custodian_unit <> '') FROM geo_assets_asset a WHERE ACTIVE",
                                 level, area)[0]
    assert (fig["ownership"][-1]["registered"], fig["ownership"][-1]["total"]) == (registered, count)
    assert fig["custody"][-1]["custodian"] == custodian

    assets = Asset.objects.in_area(area).exclude(status="disposed")
    assert {r["state"]: r["count"] for r in fig["contracts"]["states"] if r["count"]} == dict(contract_states(assets))
    income = rows("SELECT coalesce(sum(i.amount), 0) FROM geo_assets_incomerecord i JOIN geo_assets_asset a "
                  "ON a.id = i.asset_id WHERE i.year = YEAR AND ACTIVE".replace("YEAR", str(YEAR)), level, area)[0][0]
    assert fig["income"]["amount"] == income
    if level == "village":
        assert income > 0

    cutoff = timezone.now() - datetime.timedelta(days=365)
    v = fig["verification"]
    assert v["ever"] == sum(1 for a in assets if a.last_verified_at)
    assert v["recent"] == sum(1 for a in assets if a.last_verified_at and a.last_verified_at >= cutoff)
    assert {r["finding"]: r["count"] for r in v["findings"] if r["count"]} == dict(latest_findings(assets))

    villages = AdminArea.objects.villages().filter(pk=area.pk) if level == "village" else (
        AdminArea.objects.villages().filter(parent=area) if level == "township" else AdminArea.objects.villages())
    expected = alerts_compute(assets=Asset.objects.in_area(area), villages=villages)
    assert fig["alerts"]["total"] == len(expected) and sum(fig["alerts"]["levels"].values()) == len(expected)

    if level == "township":
        per_village = {pk: (n, s) for pk, n, s in rows(
            "SELECT village_id, count(*), sum(total_investment) FROM geo_assets_asset a WHERE ACTIVE GROUP BY 1",
            level, area)}
        assert {r["area"].pk: (r["count"], r["investment"]) for r in fig["breakdown"] if r["count"]} == per_village
        assert len(fig["breakdown"]) == villages.count()


def test_publicity_counts_the_villages_own_and_covering_notices(checked_county):
    from geo_assets.models import PublicityNotice

    first = AdminArea.objects.get(pk=PublicityNotice.objects.filter(stage="inventory").values("area_id")[:1])
    fig = figures.report_figures(figures.area_scope(checked_county, first), YEAR)
    stages = {r["stage"]: r for r in fig["publicity"]["stages"]}
    assert stages["inventory"]["count"] == PublicityNotice.objects.filter(area=first, stage="inventory").count() == 2
    assert stages["inventory"]["objections"] == 1 and stages["inventory"]["unanswered"] == 0
    township_notice = PublicityNotice.objects.get(area=first.parent, stage="ownership")
    assert stages["ownership"]["latest"] == township_notice and stages["ownership"]["unanswered"] == 1
    township = figures.report_figures(figures.area_scope(checked_county, first.parent), YEAR)
    own = {r["stage"]: r for r in township["publicity"]["stages"]}
    assert own["ownership"]["villages"] == first.parent.children.count() and own["inventory"]["villages"] == 1


def test_village_report_in_every_format(checked_county):
    village = AdminArea.objects.villages().filter(village_assets__income__isnull=False).order_by("code").first()
    fig = figures.report_figures(figures.area_scope(checked_county, village), YEAR)
    client = Client()
    client.force_login(checked_county)

    page = client.get(f"/reports/villages/{village.code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert village.name in html and format_wan(fig['totals']['investment']) in html
    assert html.count('class="report-map"') == 1 and "北</text>" in html and ("公里</text>" in html or "米</text>" in html)

    pdf = client.get(f"/reports/villages/{village.code}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    pages = pdf_pages(pdf.content)
    assert 2 <= len(pages) <= 8
    stamp = f"{fig['generated']:%Y-%m-%d}"
    for number, text in enumerate(pages, start=1):  # date, scope and page number on every page
        assert stamp in text and "范围：" in text and village.code in text, number
        assert f"第{number}页/共{len(pages)}页" in text.replace(" ", "")
    assert f"{village.name}扶贫资产报告" in pages[0]
    first = pages[0].replace(" ", "")
    assert f"{fig['totals']['count']}项" in first and f"{format_wan(fig['totals']['investment'])}万元" in first
    fonts = pdf_fonts(pdf.content)
    assert "Noto-Sans-CJK-SC" in fonts and all(" yes yes " in line for line in fonts.splitlines()[2:])

    xlsx = client.get(f"/reports/villages/{village.code}.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert {"概况", "按类别和类型汇总", "资金来源构成", "确权登记", "管护落实情况", "经营性资产的经营合同", "核查覆盖",
            "风险预警（按规则）", "各环节公示情况", "资产清单"} <= set(book.sheetnames)
    totals = book["按类别和类型汇总"]
    last = [c.value for c in totals[totals.max_row]]
    assert last[0] == "合计" and last[2] == fig["totals"]["count"] and isinstance(last[2], int)
    assert Decimal(str(last[5])) == fig["totals"]["investment"] and totals.cell(totals.max_row, 6).data_type == "n"
    funding = book["资金来源构成"]
    assert all(funding.cell(r, 5).data_type == "n" for r in range(2, funding.max_row + 1))
    listed = book["资产清单"]
    assert listed.max_row - 1 == Asset.objects.filter(village=village).count()


def pdf_pages(content: bytes) -> list[str]:
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext (Debian poppler-utils) is needed"
    text = subprocess.run([exe, "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()
    return [page for page in text.split("\f") if page.strip()]


def pdf_fonts(content: bytes) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(content)
        f.flush()
        return subprocess.run([shutil.which("pdffonts"), f.name], capture_output=True, check=True).stdout.decode()


def test_township_county_and_department_reports(checked_county):
    client = Client()
    client.force_login(checked_county)
    township = AdminArea.objects.townships().order_by("code").first()
    page = client.get(f"/reports/townships/{township.code}/").content.decode()
    assert "各村情况" in page and page.count("<path") >= township.children.count()
    for village in township.children.all():
        assert f"/reports/villages/{village.code}/" in page
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/townships/{township.code}.xlsx").content))
    sheet = book["各村情况"]
    assert sheet.max_row - 1 == township.children.count()
    assert sum(sheet.cell(r, 2).value for r in range(2, sheet.max_row + 1)) == Asset.objects.filter(
        township=township).exclude(status="disposed").count()
    pdf = client.get(f"/reports/townships/{township.code}.pdf")
    assert township.name in pdf_pages(pdf.content)[0]

    county_page = client.get("/reports/county/").content.decode()
    assert "各乡镇情况" in county_page and all(t.name in county_page for t in AdminArea.objects.townships())

    department = Department.objects.filter(asset__isnull=False).distinct().order_by("name").first()
    page = client.get(f"/reports/departments/{department.pk}/").content.decode()
    count = Asset.objects.filter(department=department).exclude(status="disposed").count()
    assert f"{count} 项" in page and page.count("<circle") >= count
    assert client.get(f"/reports/departments/{department.pk}.xlsx").status_code == 200


def test_dashboard_rates_against_independent_computation(checked_county, settings):
    settings.WORKPLAN_DEADLINES = {**settings.WORKPLAN_DEADLINES, "ownership": "2099-12-31"}
    cutoff = timezone.now() - datetime.timedelta(days=365)
    expected = defaultdict(Counter)
    for a in Asset.objects.exclude(status="disposed").prefetch_related("funding"):
        e = expected[a.village_id]
        e["total"] += 1
        e["inventory"] += bool(a.total_investment > 0 and any(f.amount > 0 for f in a.funding.all())
                               and a.last_verified_at)
        e["ownership"] += a.registration_status == "registered"
        e["verification"] += bool(a.last_verified_at and a.last_verified_at >= cutoff)
    progress = figures.workplan_progress(checked_county)
    for row in progress["villages"]:
        e = expected[row["village"].pk]
        assert [row[k] for k in ("total", "inventory", "ownership", "verification")] == [
            e["total"], e["inventory"], e["ownership"], e["verification"]], row["village"].name
        assert row["rates"]["ownership"] == round(100 * e["ownership"] / e["total"], 1)
    covered = [r for r in progress["villages"] if r["publicity"]]
    assert len(covered) == 1  # the demo's first village: its own inventory notices and its township's ownership notice
    first = progress["townships"][0]
    assert first["rates"]["publicity"] == round(100 / first["villages"], 1)
    tasks = {t["task"]: t for t in progress["tasks"]}
    assert tasks["ownership"]["due"] == datetime.date(2099, 12, 31) and tasks["ownership"]["state"] == "进行中"
    assert tasks["inventory"]["due"] == datetime.date(2024, 6, 30)
    # the inventory's rate is the fund ledgers' (none here): nothing measured is neither done nor overdue
    assert tasks["inventory"]["rate"] is None and tasks["inventory"]["state"] == "尚无可统计的数据"
    assert tasks["ownership"]["rate"] is not None
    assert progress["county"]["total"] == Asset.objects.exclude(status="disposed").count()

    client = Client()
    client.force_login(checked_county)
    page = client.get("/dashboard/").content.decode()
    assert "2099-12-31" in page and 'class="report-table sortable"' in page
    inventory = page.split('data-task="inventory"')[1].split('class="task"')[0]
    assert "尚无可统计的数据" in inventory and "逾期" not in inventory and "天" not in inventory
    geo = client.get("/dashboard/progress.geojson").json()
    assert len(geo["features"]) == AdminArea.objects.villages().count()
    props = {f["properties"]["code"]: f["properties"] for f in geo["features"]}
    row = progress["villages"][0]
    assert props[row["village"].code]["inventory"] == row["rates"]["inventory"]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in geo["features"])
    csv_text = client.get("/dashboard/progress.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("乡镇,村,行政区划代码") and len(csv_text.splitlines()) == 7
    book = openpyxl.load_workbook(io.BytesIO(client.get("/dashboard/progress.xlsx").content))
    sheet = book["各村进度"]
    assert sheet.max_row == 7 and sheet.cell(2, 4).data_type == "n" and sheet.cell(2, 4).value == row["total"]


@pytest.mark.parametrize("code_point_order", [True, False])
def test_asset_list_rows_and_order(checked_county, code_point_order):
    """The village's asset list read straight from the cursor (sorted here when the database sorts text by code
    point, by the database otherwise) equals the queryset's rows, timestamps included."""
    village = AdminArea.objects.villages().order_by("code").first()
    scope = figures.area_scope(checked_county, village)
    expected = figures.asset_rows(scope.assets, "category", "asset_type", "code")
    connection._reports_code_point_order = code_point_order
    try:
        listed = figures.asset_list(scope)
    finally:
        del connection._reports_code_point_order
    assert listed == expected and len(listed) > 1
    assert [a.last_verified_at and a.last_verified_at.tzinfo for a in listed] == [
        a.last_verified_at and a.last_verified_at.tzinfo for a in expected]
