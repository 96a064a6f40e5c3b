"""The project list (项目库) and the fund ledger (资金台账) from the departments' and the finance bureau's Excel files:
header variants, units, merged cells, Chinese dates, all or nothing, idempotence, history, permissions, exit codes."""

import datetime
from decimal import Decimal

import openpyxl
import pytest
from django.utils.translation import gettext

from projects.models import FundLine, Project
from projects.taxonomy import ProjectKind, ProjectStatus
from tests.importers import builders as b
from tests.importers.conftest import run_ledger

pytestmark = pytest.mark.django_db

VARIANTS = {"项目编号": "国扶系统项目编码", "组织实施单位": "实施单位", "主管部门": "牵头部门", "受益村": "实施村",
            "开工日期": "开工时间", "竣工验收日期": "验收日期", "项目状态": "状态"}


def projects_file(tmp_path, data, name="projects.xlsx", **kwargs):
    return b.write_table_xlsx(tmp_path / name, data, **kwargs)


def import_projects(tmp_path, path, *args):
    return run_ledger(tmp_path, "import_projects", path, *args)


def import_funds(tmp_path, path, *args):
    return run_ledger(tmp_path, "import_funds", path, *args)


def two_projects(tmp_path, roles):
    code, report = import_projects(tmp_path, projects_file(tmp_path, b.project_rows(2), name="p2.xlsx"))
    assert code == 0 and report["created"] == 2, report
    return list(Project.objects.order_by("code"))


# ---------------------------------------------------------------- projects


def test_a_project_list_with_the_bureaus_headers_title_rows_and_chinese_dates(tmp_path, ledger_roles):
    data = b.project_rows(3)
    data[2]["受益村"] = "西南村、西北村"  # several villages: the township registers (owner_proposal)
    data[1].update({"开工日期": "二〇二四年三月五日", "完工日期": "", "竣工验收日期": "", "项目状态": "", "验收文件": ""})
    path = projects_file(tmp_path, data, header_labels=VARIANTS)
    code, report = import_projects(tmp_path, path)
    assert code == 0, report
    assert (report["read"], report["created"], report["invalid"]) == (3, 3, 0)
    first = Project.objects.get(code="XM2024-001")
    assert (first.name, first.year, first.kind, first.implementing_unit, first.department) == (
        "西南村饮水工程1", 2024, ProjectKind.INFRASTRUCTURE, "西镇人民政府", ledger_roles.water)
    assert first.township == ledger_roles.areas.west and list(first.villages.all()) == [ledger_roles.areas.west_south]
    assert (first.started_on, first.completed_on, first.accepted_on) == (
        datetime.date(2024, 3, 5), datetime.date(2024, 6, 30), datetime.date(2024, 7, 15))
    assert first.status == ProjectStatus.ACCEPTED and first.acceptance_document == "栾水验〔2024〕1号"
    second = Project.objects.get(code="XM2024-002")
    assert second.started_on == datetime.date(2024, 3, 5) and second.status == ProjectStatus.UNDER_WAY
    third = Project.objects.get(code="XM2024-003")
    assert {v.name for v in third.villages.all()} == {"西南村", "西北村"}
    # history: one '+' row each, by the importing user, the file as the reason, with the villages at that time
    history = Project.history.get(code="XM2024-003")
    assert (history.history_type, history.history_user, history.history_change_reason) == (
        "+", ledger_roles.admin, "导入: projects.xlsx")
    assert {v.adminarea.name for v in history.villages.all()} == {"西南村", "西北村"}


def test_villages_by_code_a_township_seat_and_the_township_from_the_villages(tmp_path, ledger_roles):
    areas = ledger_roles.areas
    data = [{"项目编号": "XM-SEAT", "项目名称": "东镇扶贫车间", "年度": "2025年度", "项目类型": "就业扶贫", "受益村": "镇区"},
            {"项目编号": "XM-CODE", "项目名称": "两村道路", "年度": 2025, "项目类型": "基础设施",
             "受益村": f"{areas.east_south.code}；东北"}]
    code, report = import_projects(tmp_path, b.write_csv(tmp_path / "p.csv", data, header=list(data[1]) + ["镇区"]))
    assert code == 0, report
    seat = Project.objects.get(code="XM-SEAT")
    assert seat.township_seat and not seat.villages.exists() and seat.kind == ProjectKind.EMPLOYMENT
    both = Project.objects.get(code="XM-CODE")
    assert set(both.villages.all()) == {areas.east_south, areas.east_north} and both.township == areas.east


def test_one_bad_row_writes_nothing_and_says_why_in_chinese_with_its_excel_row(tmp_path, ledger_roles):
    data = b.project_rows(4)
    data[1]["年度"] = "明年"
    data[2]["受益村"] = "月亮村"
    data[3].update({"完工日期": "2024-08-01", "竣工验收日期": "2024-07-01"})
    code, report = import_projects(tmp_path, projects_file(tmp_path, data))
    assert code == 1 and report["written"] is False and not Project.objects.exists()
    assert report["created"] == 1 and report["invalid"] == 3  # what would have happened to the valid row
    errors = {(e["row"], e["field"]): e["message"] for e in report["errors"]}
    assert errors[(5, "年度")] == "“明年”不是年份"  # title, note and header rows counted: the Excel row
    assert errors[(6, "受益村")] == "本县没有名为“月亮村”的村"
    assert errors[(7, "竣工验收日期")] == gettext("A project cannot be accepted before it was completed.")
    assert "无效" in report["output"] or "未写入" in report["output"]


def test_reimporting_the_same_file_changes_nothing_and_a_change_is_one_update(tmp_path, ledger_roles):
    data = b.project_rows(3)
    path = projects_file(tmp_path, data)
    assert import_projects(tmp_path, path)[0] == 0
    history = Project.history.count()
    code, report = import_projects(tmp_path, path)
    assert code == 0 and (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3), report
    assert Project.history.count() == history
    data[0]["项目名称"] = "西南村饮水工程（改）"
    data[2]["受益村"] = "西南村、西北村"
    code, report = import_projects(tmp_path, projects_file(tmp_path, data, name="changed.xlsx"))
    assert code == 0 and (report["updated"], report["unchanged"]) == (2, 1), report
    assert Project.objects.get(code="XM2024-001").name == "西南村饮水工程（改）"
    assert Project.objects.get(code="XM2024-003").villages.count() == 2
    changed = Project.history.filter(history_type="~")
    assert changed.count() == 2 and {h.history_change_reason for h in changed} == {"导入: changed.xlsx"}


def test_a_dry_run_writes_nothing(tmp_path, ledger_roles):
    code, report = import_projects(tmp_path, projects_file(tmp_path, b.project_rows(2)), "--dry-run")
    assert code == 0 and report["created"] == 2 and report["dry_run"] and not Project.objects.exists()


def test_a_code_repeated_in_the_file_is_a_row_error(tmp_path, ledger_roles):
    data = b.project_rows(2)
    data[1]["项目编号"] = data[0]["项目编号"]
    code, report = import_projects(tmp_path, projects_file(tmp_path, data))
    assert code == 1 and report["errors"] == [{"row": 5, "field": "项目编号", "layer": "",
                                               "message": "项目编号“XM2024-001”在文件中重复（第4行已有）"}]


def test_a_department_imports_its_own_projects_only(tmp_path, ledger_roles):
    data = b.project_rows(2)
    data[1]["主管部门"] = "交通运输局"
    path = projects_file(tmp_path, data)
    code, report = import_projects(tmp_path, path, "--user", "water")
    assert code == 1 and not Project.objects.exists()
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(5, "主管部门")]
    assert report["errors"][0]["message"] == gettext("A line department enters only the projects it leads.")
    # without the other department's row: imported; without a 主管部门 column, the department leads its projects
    code, report = import_projects(tmp_path, projects_file(tmp_path, data[:1], name="own.xlsx"), "--user", "water")
    assert code == 0 and Project.objects.get().department == ledger_roles.water
    rows = [{k: v for k, v in r.items() if k != "主管部门"} for r in b.project_rows(1, start=7)]
    assert import_projects(tmp_path, projects_file(tmp_path, rows, name="no-dept.xlsx"), "--user", "water")[0] == 0
    assert Project.objects.get(code="XM2024-007").department == ledger_roles.water


def test_a_department_cannot_change_another_departments_project(tmp_path, ledger_roles):
    two_projects(tmp_path, ledger_roles)  # led by 水利局
    data = b.project_rows(1)
    data[0]["项目名称"] = "改名"
    code, report = import_projects(tmp_path, projects_file(tmp_path, data), "--user", "roads")
    assert code == 1 and report["errors"][0]["field"] == "项目编号"
    assert report["errors"][0]["message"] == gettext(
        "Only the project's lead department or a county administrator may change it.")
    assert Project.objects.get(code="XM2024-001").name == "西南村饮水工程1"


def test_the_finance_bureau_imports_no_project_list(tmp_path, ledger_roles):
    code, report = import_projects(tmp_path, projects_file(tmp_path, b.project_rows(1)), "--user", "finance")
    assert code == 2 and not Project.objects.exists()
    assert gettext("Projects are entered by their lead department or a county administrator.") in report["output"]


# ---------------------------------------------------------------- fund lines


def test_a_fund_ledger_with_merged_project_codes_yuan_and_header_variants(tmp_path, ledger_roles):
    p1, p2 = two_projects(tmp_path, ledger_roles)
    data = b.fund_rows([p1.code, p2.code], per_project=3)
    for r in data:  # the bureau keeps yuan
        r["下达金额（万元）"] *= 10000
        r["支出金额（万元）"] = f"{r['支出金额（万元）'] * 10000:,}"
    path = b.write_table_xlsx(tmp_path / "funds.xlsx", data, merge=["项目编号"], header_labels={
        "资金来源": "资金性质", "文号": "指标文号", "下达金额（万元）": "到位资金（元）", "支出金额（万元）": "已支出(元)"})
    ws = openpyxl.load_workbook(path).active
    assert ws["A5"].value is None and "A4:A6" in str(ws.merged_cells)  # the code really is merged
    code, report = import_funds(tmp_path, path, "--user", "finance")
    assert code == 0, report["errors"]
    assert report["created"] == 6 and report["warnings"] == ["以元为单位的金额已换算为万元（精确到元）"]
    lines = FundLine.objects.filter(project=p1).order_by("source", "year")
    assert [(line.source, line.document_number, line.year, line.allocated, line.disbursed) for line in lines] == [
        ("central", "豫财农〔2024〕001号", 2024, Decimal("30"), Decimal("25")),
        ("county", "", 2024, Decimal("10"), Decimal("10")),
        ("county", "", 2025, Decimal("10"), Decimal("10")),
    ]
    history = FundLine.history.filter(project=p1)
    assert history.count() == 3 and {h.history_user for h in history} == {ledger_roles.finance}
    assert all(line.recorded_by == ledger_roles.finance for line in lines)


def test_a_unit_note_above_the_header_and_a_level_column(tmp_path, ledger_roles):
    p1, _p2 = two_projects(tmp_path, ledger_roles)
    data = [{"项目编号": p1.code, "资金来源": "财政专项扶贫资金", "资金级次": "省级", "文号": "豫财〔2024〕9号",
             "下达金额": 120000, "支出金额": "50000"}]
    path = b.write_table_xlsx(tmp_path / "f.xlsx", data, note="单位：元")
    code, report = import_funds(tmp_path, path)
    assert code == 0, report
    line = FundLine.objects.get()
    assert (line.source, line.allocated, line.disbursed) == ("provincial", Decimal("12"), Decimal("5"))


def test_fund_lines_are_idempotent_on_code_document_source_or_year(tmp_path, ledger_roles):
    p1, p2 = two_projects(tmp_path, ledger_roles)
    data = b.fund_rows([p1.code, p2.code], per_project=3)
    path = b.write_csv(tmp_path / "f.csv", data)
    code, report = import_funds(tmp_path, path)
    assert code == 0, report["errors"]
    history = FundLine.history.count()
    code, report = import_funds(tmp_path, path)
    assert code == 0 and (report["created"], report["updated"], report["unchanged"]) == (0, 0, 6), report
    assert FundLine.history.count() == history
    data[0]["支出金额（万元）"] = 30
    code, report = import_funds(tmp_path, b.write_csv(tmp_path / "f2.csv", data))
    assert code == 0 and (report["updated"], report["unchanged"]) == (1, 5), report
    assert FundLine.objects.get(project=p1, source="central").disbursed == Decimal("30")
    assert FundLine.history.filter(history_type="~").count() == 1


def test_an_unknown_project_code_is_a_row_error_and_nothing_is_written(tmp_path, ledger_roles):
    p1, _p2 = two_projects(tmp_path, ledger_roles)
    data = b.fund_rows([p1.code, "XM-NONE"], per_project=1)
    code, report = import_funds(tmp_path, b.write_csv(tmp_path / "f.csv", data))
    assert code == 1 and not FundLine.objects.exists()
    assert report["errors"] == [{"row": 3, "field": "项目编号", "layer": "",
                                 "message": "项目编号“XM-NONE”不在项目库中（请先导入项目库）"}]


def test_more_disbursed_than_allocated_and_amounts_out_of_bounds_are_refused(tmp_path, ledger_roles):
    p1, p2 = two_projects(tmp_path, ledger_roles)
    data = b.fund_rows([p1.code, p2.code], per_project=1)
    data[0]["支出金额（万元）"] = 31
    data[1]["下达金额（万元）"] = 10**7
    code, report = import_funds(tmp_path, b.write_csv(tmp_path / "f.csv", data))
    assert code == 1 and not FundLine.objects.exists()
    fields = [(e["row"], e["field"]) for e in report["errors"]]
    assert (2, "支出金额（万元）") in fields and (3, "下达金额（万元）") in fields


def test_the_finance_bureau_keeps_every_projects_funds_a_department_its_own(tmp_path, ledger_roles):
    p1, p2 = two_projects(tmp_path, ledger_roles)  # both led by 水利局
    path = b.write_csv(tmp_path / "f.csv", b.fund_rows([p1.code, p2.code], per_project=1))
    code, report = import_funds(tmp_path, path, "--user", "roads")
    assert code == 1 and not FundLine.objects.exists()
    assert {e["field"] for e in report["errors"]} == {"项目编号"} and len(report["errors"]) == 2
    assert import_funds(tmp_path, path, "--user", "water")[0] == 0
    assert FundLine.objects.count() == 2
    assert import_funds(tmp_path, path, "--user", "finance")[0] == 0  # the same lines: unchanged
    code, report = import_funds(tmp_path, path, "--user", "west")
    assert code == 2 and gettext("Fund lines are kept by the finance bureau, the project's lead department or a "
                                 "county administrator.") in report["output"]


def test_exit_codes(tmp_path, ledger_roles):
    p1, _p2 = two_projects(tmp_path, ledger_roles)
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    gis = b.write_gis(tmp_path / "p.gpkg", b.frame(b.rows(1)))
    for command in ("import_projects", "import_funds"):
        assert run_ledger(tmp_path, command, empty)[0] == 2
        assert run_ledger(tmp_path, command, old)[0] == 2
        assert run_ledger(tmp_path, command, gis)[0] == 2
        assert run_ledger(tmp_path, command, tmp_path / "missing.csv")[0] == 2
    ok = b.write_csv(tmp_path / "f.csv", b.fund_rows([p1.code], per_project=1))
    assert import_funds(tmp_path, ok, "--user", "nobody")[0] == 2
    assert import_funds(tmp_path, ok)[0] == 0
    bad = b.write_csv(tmp_path / "bad.csv", b.fund_rows(["XM-NONE"], per_project=1))
    assert import_funds(tmp_path, bad)[0] == 1
    assert import_funds(tmp_path, bad, "--skip-invalid")[0] == 0
    no_header = b.write_csv(tmp_path / "nh.csv", [{"甲": 1, "乙": 2}])
    code, report = import_funds(tmp_path, no_header)
    assert code == 2 and "项目编号" in report["output"]


# ---------------------------------------------------------------- merged cells, two-row headers, notes


def test_a_header_two_rows_high_and_merged_townships(tmp_path, ledger_roles):
    """The bureau's header: 项目编号 and 项目名称 merged over two header rows, the dates under a merged 时间 cell; the
    township merged over its projects; a merged note row under the table."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年度项目库"])
    ws.merge_cells("A1:G1")
    ws.append(["项目编号", "项目名称", "年度", "项目类型", "乡镇", "时间", None])
    ws.append([None, None, None, None, None, "开工日期", "竣工验收日期"])
    for column in "ABCDE":
        ws.merge_cells(f"{column}2:{column}3")
    ws.merge_cells("F2:G2")
    ws.append(["XM-A", "甲项目", 2024, "产业发展", "东镇", "2024.4.1", None])
    ws.append(["XM-B", "乙项目", 2024, "产业发展", None, "2024.5.1", "2024年9月30日"])
    ws.append(["XM-C", "丙项目", 2024, "产业发展", "西镇", None, None])
    ws.merge_cells("E4:E5")
    ws.append(["注：本表金额单位为万元"])
    ws.merge_cells("A7:G7")
    path = tmp_path / "two-rows.xlsx"
    wb.save(path)
    code, report = import_projects(tmp_path, path)
    assert code == 0 and report["read"] == 3, report
    townships = dict(Project.objects.values_list("code", "township__name"))
    assert townships == {"XM-A": "东镇", "XM-B": "东镇", "XM-C": "西镇"}
    b_project = Project.objects.get(code="XM-B")
    assert (b_project.started_on, b_project.accepted_on, b_project.status) == (
        datetime.date(2024, 5, 1), datetime.date(2024, 9, 30), ProjectStatus.ACCEPTED)


def test_merged_cells_in_an_asset_ledger_count_for_every_row(areas, admin_user, tmp_path):
    """The same reader for the asset ledger: the (required) asset type merged over the assets of that type."""
    from geo_assets.models import Asset
    from tests.importers.conftest import run_report

    data = b.rows(3)
    path = b.write_table_xlsx(tmp_path / "assets.xlsx", data, merge=["资产类型"], note=None)
    ws = openpyxl.load_workbook(path).active
    column = list(data[0]).index("资产类型") + 1
    assert [(r.min_col, r.min_row, r.max_row) for r in ws.merged_cells.ranges if r.min_row > 1] == [(column, 3, 5)]
    assert ws.cell(4, column).value is None  # only the first cell of a merge holds the value
    code, report = run_report(tmp_path, path)
    assert code == 0 and report["created"] == 3, report
    assert set(Asset.objects.values_list("asset_type", flat=True)) == {"water_supply"}
