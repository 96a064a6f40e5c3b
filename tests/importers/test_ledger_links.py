"""The asset ledger's 项目编号 column: the import links each asset to the project that formed it (origin "ledger", with
the amount of 项目投入 when given), in the same transaction and set-based; exports carry the code back."""

from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext

from geo_assets.models import Asset
from geo_assets.taxonomy import Role
from projects.models import Project, ProjectAsset
from tests.factories import make_user
from tests.importers import builders as b
from tests.importers.conftest import run, run_ledger, run_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(tmp_path, ledger_roles):
    """Three projects: two in the west township, one in the east."""
    data = b.project_rows(2)
    data.append({**b.project_rows(1, start=3)[0], "乡镇": "东镇", "受益村": "东南村"})
    code, report = run_ledger(tmp_path, "import_projects", b.write_csv(tmp_path / "projects.csv", data))
    assert code == 0, report
    return {p.code: p for p in Project.objects.all()}


def asset_rows(codes, amounts=None):
    data = b.rows(len(codes))
    for i, (row, code) in enumerate(zip(data, codes, strict=True)):
        row["项目编号"] = code
        if amounts is not None:
            row["项目投入（万元）"] = amounts[i]
    return data


def test_the_asset_ledger_links_each_asset_to_its_project(tmp_path, projects, ledger_roles):
    data = asset_rows(["XM2024-001", "XM2024-002", ""], amounts=["8", "", ""])
    path = b.write_csv(tmp_path / "assets.csv", data)
    code, report = run_report(tmp_path, path)
    assert code == 0 and report["created"] == 3 and report["linked"] == 2, report
    assert "2 条资产与项目的关联" in report["output"]
    links = {link.project.code: link for link in ProjectAsset.objects.select_related("project", "asset")}
    assert set(links) == {"XM2024-001", "XM2024-002"}
    first = links["XM2024-001"]
    assert (first.origin, first.amount, first.linked_by, first.asset.name) == (
        "ledger", Decimal("8"), ledger_roles.admin, "饮水井1")
    assert links["XM2024-002"].amount is None  # apportioned by the reconciliation
    history = ProjectAsset.history.filter(history_type="+")
    assert history.count() == 2 and {h.history_change_reason for h in history} == {"导入: assets.csv"}
    assert {h.history_user for h in history} == {ledger_roles.admin}

    # the same file again (the assets now by their codes): nothing changes, no history
    codes = list(Asset.objects.order_by("name").values_list("code", flat=True))
    for row, asset_code in zip(data, codes, strict=True):
        row["资产编号"] = asset_code
    again = b.write_csv(tmp_path / "again.csv", data)
    code, report = run_report(tmp_path, again)
    assert code == 0 and (report["unchanged"], report["linked"]) == (3, 0), report
    assert ProjectAsset.history.count() == 2
    # a changed amount: one '~' row; a project named for an asset already there: a new link (nothing removed)
    data[0]["项目投入（万元）"] = "9.5"
    data[2]["项目编号"] = "XM2024-002"
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "changed.csv", data))
    assert code == 0 and (report["unchanged"], report["linked"]) == (3, 2), report
    assert ProjectAsset.objects.get(project__code="XM2024-001").amount == Decimal("9.5")
    assert ProjectAsset.history.filter(history_type="~").count() == 1
    assert ProjectAsset.objects.filter(project__code="XM2024-002").count() == 2


def test_an_unknown_project_code_is_a_row_error_and_nothing_is_written(tmp_path, projects):
    data = asset_rows(["XM2024-001", "XM-NONE"])
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))
    assert code == 1 and not Asset.objects.exists() and not ProjectAsset.objects.exists()
    assert report["errors"] == [{"row": 3, "field": "项目编号", "layer": "",
                                 "message": "项目编号“XM-NONE”不在项目库中（请先导入项目库）"}]


def test_several_codes_link_several_projects_but_take_no_amount(tmp_path, projects):
    data = asset_rows(["XM2024-001、XM2024-002"])
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))
    assert code == 0 and report["linked"] == 2, report
    assert set(ProjectAsset.objects.values_list("project__code", flat=True)) == {"XM2024-001", "XM2024-002"}
    data = asset_rows(["XM2024-001;XM2024-002"], amounts=["5"])
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "b.csv", data))
    assert code == 1 and report["errors"][0]["field"] == "项目投入（万元）"
    assert report["errors"][0]["message"] == "填写了多个项目编号时不能填写投入金额：请逐个项目关联金额"


def test_an_amount_in_yuan_is_converted(tmp_path, projects):
    data = asset_rows(["XM2024-001"], amounts=[85000])
    for row in data:
        row["本项目资金（元）"] = row.pop("项目投入（万元）")
    code, report = run_report(tmp_path, b.write_xlsx(tmp_path / "a.xlsx", data))
    assert code == 0, report
    assert ProjectAsset.objects.get().amount == Decimal("8.5")


def test_a_clerk_links_only_to_projects_they_may_see(tmp_path, projects, ledger_roles):
    make_user("west-clerk", Role.TOWNSHIP, area=ledger_roles.areas.west)
    data = [r for r in asset_rows(["XM2024-001", "XM2024-003", "XM2024-001"]) if r["经度"] < 111.6]
    data[1]["项目编号"] = "XM2024-003"  # a project of the east township
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--user", "west-clerk")
    assert code == 1 and not ProjectAsset.objects.exists()
    assert [(e["field"], e["message"]) for e in report["errors"]] == [
        ("项目编号", gettext("You may not see this project."))]
    data[1]["项目编号"] = "XM2024-002"
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "b.csv", data), "--user", "west-clerk")
    assert code == 0 and report["linked"] == 2, report


def test_statements_do_not_grow_with_the_linked_rows(tmp_path, projects):
    def queries(n):
        data = b.rows(n)
        for i, row in enumerate(data):
            row["资产编号"], row["项目编号"], row["项目投入（万元）"] = f"L{n}-{i}", "XM2024-001", "1"
        with CaptureQueriesContext(connection) as ctx:
            code, report = run_report(tmp_path, b.write_csv(tmp_path / f"q{n}.csv", data))
        assert code == 0 and report["linked"] == n, report
        return len(ctx.captured_queries)

    assert queries(40) == queries(4)


def test_the_export_carries_the_project_code_and_a_round_trip_keeps_the_links(tmp_path, projects, admin_user):
    data = asset_rows(["XM2024-001", "XM2024-001、XM2024-002"], amounts=["6", ""])
    assert run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))[0] == 0
    out = tmp_path / "export.xlsx"
    assert run("export_assets", "-o", str(out), "--format", "xlsx")[0] == 0
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]
    assert sorted((r["项目编号"], r["项目投入（万元）"]) for r in rows) == [
        ("XM2024-001", "6"), ("XM2024-001、XM2024-002", None)]
    history = ProjectAsset.history.count()
    code, report = run_report(tmp_path, out)
    assert code == 0 and (report["unchanged"], report["linked"]) == (2, 0), report
    assert ProjectAsset.history.count() == history and ProjectAsset.objects.count() == 3
