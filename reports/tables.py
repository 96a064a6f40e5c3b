"""A report's figures as titled tables: the page, the PDF and the workbook (one sheet per table) show the same
rows. Cells keep their type (int, Decimal, date, text); formatting happens at the edge (templatetags, openpyxl)."""

import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from geo_assets.access import scope_for
from geo_assets.amounts import format_wan
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import AssetType, Category, FundingSourceKind, PlanPurpose, PlanStatus, PublicityStage
from reports.alerts import LEVEL_LABELS
from reports.figures import LEVELS
from verification.taxonomy import Finding


@dataclass
class Table:
    key: str
    title: str
    columns: list[tuple[str, str]]  # (label, kind: text | int | money | qty | pct | date)
    rows: list[list] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # per row: where its first cell links to (HTML only)
    note: str = ""
    total: bool = False  # the last row is a total

    def add(self, row: list, link: str | None = None) -> None:
        self.rows.append(row)
        self.links.append(link)

    def cells(self):
        """(link, [(value, kind), …]) per row, for the template."""
        kinds = [kind for _label, kind in self.columns]
        return [(link, list(zip(row, kinds, strict=True))) for row, link in zip(self.rows, self.links, strict=True)]


def _label(choices, value) -> str:
    return str(choices(value).label) if value else "合计"


def _total(table: Table, label_columns: int = 1) -> None:
    """Append a 合计 row summing the numeric columns (rates are not summed)."""
    row = ["合计", *[""] * (label_columns - 1)]
    for index, (_label_text, kind) in enumerate(table.columns[label_columns:], start=label_columns):
        numbers = [r[index] for r in table.rows if isinstance(r[index], int | Decimal)]
        row.append(sum(numbers) if kind in ("int", "money") and numbers else None)
    table.add(row)
    table.total = True


def report_tables(fig: dict, user) -> list[Table]:
    scope, totals = fig["scope"], fig["totals"]
    village = scope.kind == "village"
    redactor = Redactor(scope_for(user))
    tables = []

    t = Table("types", "按类别和类型汇总", [("类别", "text"), ("类型", "text"), ("资产数（项）", "int"),
                                           ("实物量", "qty"), ("计量单位", "text"), ("投资（万元）", "money")])
    for r in totals["by_type"]:
        t.add([_label(Category, r["category"]), _label(AssetType, r["asset_type"]), r["count"], r["quantity"],
               r["unit"], r["investment"]])
    _total(t, 2)
    t.note = f"不含已处置资产 {totals['disposed']} 项。" if totals["disposed"] else ""
    tables.append(t)

    t = Table("funding", "资金来源构成", [("资金来源", "text"), *[(str(c.label), "money") for c in Category],
                                          ("合计（万元）", "money"), ("占比（%）", "pct")])
    for r in totals["funding"]:
        t.add([_label(FundingSourceKind, r["source"]), *[r[c] for c in Category.values], r["total"], r["share"]])
    _total(t)
    if t.rows:
        t.rows[-1][-1] = 100 if totals["funded"] else None
    tables.append(t)

    t = Table("ownership", "确权登记", [("类别", "text"), ("资产数", "int"), ("已确权", "int"), ("未确权", "int"),
                                        ("待主管部门确认", "int"), ("确权率（%）", "pct")])
    for r in fig["ownership"]:
        t.add([_label(Category, r["category"]), r["total"], r["registered"], r["total"] - r["registered"],
               r["pending"], r["rate"]])
    t.total = True
    tables.append(t)

    t = Table("custody", "管护落实情况", [("类别", "text"), ("资产数", "int"), ("落实管护单位", "int"),
                                          ("明确责任人", "int"), ("签订移交管护责任书", "int"), ("公益岗位在岗", "int"),
                                          ("年管护经费（万元）", "money"), ("覆盖率（%）", "pct")])
    for r in fig["custody"]:
        t.add([_label(Category, r["category"]), r["total"], r["custodian"], r["person"], r["letter"], r["post"],
               r["funding"], r["rate"]])
    t.total = True
    tables.append(t)

    contracts = fig["contracts"]
    if village:
        t = Table("contracts", "经营性资产的经营合同", [
            ("资产编号", "text"), ("资产名称", "text"), ("经营主体", "text"), ("合同编号", "text"), ("起始", "date"),
            ("到期", "date"), ("年租金或收益（万元）", "money"), ("状态", "text")])
        for r in contracts["rows"]:
            t.add([r["asset"].code, redactor.asset_name(r["asset"]), r["operator"], r["number"], r["starts_on"],
                   r["ends_on"], r["yearly_due"], r["state"]], f"/assets/{r['asset'].code}/")
    else:
        t = Table("contracts", "经营合同状态", [("合同状态", "text"), ("经营性资产数", "int")])
        for r in contracts["states"]:
            t.add([r["state"], r["count"]])
    t.note = (f"有效合同年租金或收益合计 {format_wan(contracts['yearly_due'])} 万元；股权、债权类不单列经营合同。")
    tables.append(t)

    income = fig["income"]
    year = income["year"]
    note = f"{year} 年度登记收益的资产 {income['assets']} 项，收益合计 {format_wan(income['amount'])} 万元。"
    if village:
        plan = income["plans"][0] if income["plans"] else None
        t = Table("distribution", f"{year} 年度收益分配方案", [("用途", "text"), ("金额（万元）", "money"),
                                                             ("对象", "text"), ("来源资产", "text")])
        if plan:
            for i in plan.item_list:
                t.add([_label(PlanPurpose, i.purpose), i.amount, redactor.person(i.recipient) if i.purpose in (
                    PlanPurpose.CASH, PlanPurpose.NO_LABOUR, PlanPurpose.POSTS) else i.recipient,
                    i.asset.code if i.asset else ""])
            _total(t)
            note += f"分配方案：{PlanStatus(plan.status).label}，拟分配 {format_wan(plan.total)} 万元。"
        else:
            note += "尚无该年度收益分配方案。"
    else:
        t = Table("distribution", f"{year} 年度各村收益分配方案", [
            ("村", "text"), ("方案状态", "text"), ("分配总额（万元）", "money"),
            *[(str(p.label), "money") for p in PlanPurpose]])
        for plan in income["plans"]:
            t.add([plan.village.name, _label(PlanStatus, plan.status), plan.total,
                   *[plan.by_purpose[p] for p in PlanPurpose.values]], f"/reports/villages/{plan.village.code}/")
        _total(t)
        if scope.villages is not None:
            note += f"{len(income['plans'])} 个村有该年度分配方案，拟分配合计 {format_wan(income['planned'])} 万元。"
    t.note = note
    tables.append(t)

    v = fig["verification"]
    t = Table("verification", "核查覆盖", [("指标", "text"), ("资产数", "int"), ("占在册资产（%）", "pct")])
    t.add(["在册资产", v["total"], 100 if v["total"] else None])
    t.add(["曾经现场核查", v["ever"], v["ever_rate"]])
    t.add(["近 12 个月内核查", v["recent"], v["recent_rate"]])
    t.add(["本年度核查", v["this_year"], _pct(v["this_year"], v["total"])])
    t.add(["核查记录待审核", v["pending"], None])
    tables.append(t)

    t = Table("findings", "最新核查结论", [("结论", "text"), ("资产数", "int")])
    for r in v["findings"]:
        t.add([_label(Finding, r["finding"]), r["count"]])
    _total(t)
    tables.append(t)
    if village:
        t = Table("problems", "核查发现的问题", [("资产编号", "text"), ("资产名称", "text"), ("结论", "text"),
                                                ("核查日期", "date")])
        for record in v["problems"]:
            t.add([record.asset.code, redactor.asset_name(record.asset), _label(Finding, record.finding),
                   record.observed_at.date()], f"/assets/{record.asset.code}/")
        tables.append(t)

    a = fig["alerts"]
    t = Table("alert_rules", "风险预警（按规则）", [("级别", "text"), ("规则", "text"), ("数量", "int")])
    for r in a["rules"]:
        t.add([LEVEL_LABELS[r["level"]], r["title"], r["count"]])
    _total(t, 2)
    t.note = "；".join(f"{LEVEL_LABELS[level]} {a['levels'][level]} 条" for level in LEVELS)
    tables.append(t)
    if village:
        t = Table("alerts", "风险预警明细", [("级别", "text"), ("规则", "text"), ("资产", "text"), ("依据", "text")])
        for r in fig["alert_rows"]:
            asset = r["asset"]
            t.add([LEVEL_LABELS[r["alert"].level], r["alert"].title,
                   f"{asset.code} {redactor.asset_name(asset)}" if asset else scope.name, r["alert"].evidence])
        tables.append(t)

    if scope.villages is not None:
        columns = [("环节", "text"), ("状态", "text") if village else ("已公示村数", "int"), ("公示次数", "int"),
                   ("最近一次", "text"), ("公示期", "text"), ("异议", "int"), ("未答复", "int")]
        t = Table("publicity", "各环节公示情况", columns)
        for r in fig["publicity"]["stages"]:
            n = r["latest"]
            t.add([_label(PublicityStage, r["stage"]), r["state"] if village else r["villages"], r["count"],
                   n.title if n else "", f"{n.starts_on:%Y-%m-%d} 至 {n.ends_on:%Y-%m-%d}" if n else "",
                   r["objections"], r["unanswered"]])
        if not village:
            t.note = f"共 {fig['publicity']['stages'][0]['of'] if fig['publicity']['stages'] else 0} 个村。"
        tables.append(t)

    if not village:
        by_village = scope.kind == "township"
        t = Table("breakdown", "各村情况" if by_village else "各乡镇情况", [
            ("村" if by_village else "乡镇", "text"), ("资产数", "int"), ("投资（万元）", "money"),
            ("确权率（%）", "pct"), ("管护覆盖率（%）", "pct"), ("12个月核查率（%）", "pct"),
            (f"{year}年收益（万元）", "money"), ("已公示台账和确权", "text"),
            ("红色预警", "int"), ("黄色预警", "int"), ("蓝色提示", "int")])
        for r in fig["breakdown"]:
            area = r["area"]
            posted = ("是" if r["posted"] else "否") if by_village else f"{r['posted']}/{r['of']}"
            if scope.kind == "department":
                posted = "—"
            t.add([area.name, r["count"], r["investment"], r["registered_rate"], r["custody_rate"],
                   r["verified_rate"], r["income"], posted, r["red"], r["yellow"], r["blue"]],
                  f"/reports/{'villages' if by_village else 'townships'}/{area.code}/")
        tables.append(t)
    else:
        t = Table("assets", "资产清单", [("资产编号", "text"), ("资产名称", "text"), ("类型", "text"), ("状态", "text"),
                                         ("投资（万元）", "money"), ("确权", "text"), ("管护单位", "text"),
                                         ("最近核查", "date")])
        for asset in fig["assets"]:
            t.add([asset.code, redactor.asset_name(asset), asset.get_asset_type_display(), asset.get_status_display(),
                   asset.total_investment, asset.get_registration_status_display(), asset.custodian_unit,
                   asset.last_verified_at.date() if asset.last_verified_at else None], f"/assets/{asset.code}/")
        tables.append(t)
    return tables


def _pct(part, whole):
    return round(100 * part / whole, 1) if whole else None


def headline(fig: dict) -> list[tuple[str, str]]:
    """The key figures above the map."""
    totals, v, a = fig["totals"], fig["verification"], fig["alerts"]
    owned, kept = fig["ownership"][-1], fig["custody"][-1]

    def rate(value):
        return "—" if value is None else f"{value:g}%"

    return [("在册资产", f"{totals['count']} 项"), ("投资合计", f"{format_wan(totals['investment'])} 万元"),
            ("确权率", rate(owned["rate"])), ("管护覆盖率", rate(kept["rate"])),
            ("12个月核查率", rate(v["recent_rate"])),
            (f"{fig['income']['year']}年收益", f"{format_wan(fig['income']['amount'])} 万元"),
            ("风险预警", f"红 {a['levels']['red']} · 黄 {a['levels']['yellow']} · 蓝 {a['levels']['blue']}")]


# ---------------------------------------------------------------- workbook


NUMBER_FORMATS = {"money": "#,##0.00", "qty": "#,##0.###", "pct": "0.0", "int": "0", "date": "yyyy-mm-dd"}


def workbook(title: str, tables: list[Table], summary: list[tuple[str, object]] = ()) -> bytes:
    """One sheet per table (plus 概况), numbers as numbers, dates as dates, text protected against formulas."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from geo_assets.spreadsheet import cell_protect

    book = openpyxl.Workbook()
    first = book.active
    first.title = "概况"
    first.append([title])
    first["A1"].font = Font(bold=True, size=14)
    for label, value in summary:
        first.append([label, cell_protect(value)])
    first.column_dimensions["A"].width = 18
    first.column_dimensions["B"].width = 50
    used = {"概况"}
    for table in tables:
        name = table.title[:31]
        while name in used:
            name = name[:29] + str(len(used))
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([label for label, _kind in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([cell_protect(_excel(value)) for value in row])
        for index, (label, kind) in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(10, min(40, 2 * len(label) + 2))
            if kind in NUMBER_FORMATS:
                for cell in sheet[letter][1:]:
                    cell.number_format = NUMBER_FORMATS[kind]
        if table.total and table.rows:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _excel(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, int | float | Decimal | datetime.date):
        return value
    return str(value)
