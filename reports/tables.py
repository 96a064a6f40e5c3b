"""A report's figures as titled tables: the page, the PDF and the workbook (one sheet per table) show the same
rows. Cells keep their type (int, Decimal, date, text); formatting happens at the edge (templatetags, openpyxl)."""

import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from geo_assets.access import scope_for
from geo_assets.amounts import format_wan
from geo_assets.models.register import asset_url
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
    return str(choices(value).label) if value else _("Total")


def _total(table: Table, label_columns: int = 1) -> None:
    """Append a 合计 row summing the numeric columns (rates are not summed)."""
    row = [_("Total"), *[""] * (label_columns - 1)]
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

    t = Table("types", _("Summary by category and type"), [
        (_("Category"), "text"), (_("Type"), "text"), (_("Assets (items)"), "int"), (_("Quantity"), "qty"),
        (_("Unit of measure"), "text"), (_("Investment (10k yuan)"), "money")])
    for r in totals["by_type"]:
        t.add([_label(Category, r["category"]), _label(AssetType, r["asset_type"]), r["count"], r["quantity"],
               r["unit"], r["investment"]])
    _total(t, 2)
    disposed = totals["disposed"]
    t.note = ngettext("Excludes %(n)s disposed asset.", "Excludes %(n)s disposed assets.", disposed) % {
        "n": disposed} if disposed else ""
    tables.append(t)

    t = Table("funding", _("Funding sources"), [(_("Funding source"), "text"),
                                                *[(str(c.label), "money") for c in Category],
                                                (_("Total (10k yuan)"), "money"), (_("Share (%)"), "pct")])
    for r in totals["funding"]:
        t.add([_label(FundingSourceKind, r["source"]), *[r[c] for c in Category.values], r["total"], r["share"]])
    _total(t)
    if t.rows:
        t.rows[-1][-1] = 100 if totals["funded"] else None
    tables.append(t)

    t = Table("ownership", _("Ownership registration"), [
        (_("Category"), "text"), (_("Number of assets"), "int"), (_("Ownership registered"), "int"),
        (_("Ownership not registered"), "int"), (_("Awaiting the department's confirmation"), "int"),
        (_("Registration rate (%)"), "pct")])
    for r in fig["ownership"]:
        t.add([_label(Category, r["category"]), r["total"], r["registered"], r["total"] - r["registered"],
               r["pending"], r["rate"]])
    t.total = True
    tables.append(t)

    t = Table("custody", _("Custody arrangements"), [
        (_("Category"), "text"), (_("Number of assets"), "int"), (_("Custodian unit assigned"), "int"),
        (_("Person in charge named"), "int"), (_("Handover letter signed"), "int"),
        (_("Public-welfare post filled"), "int"), (_("Yearly custody funding (10k yuan)"), "money"),
        (_("Coverage (%)"), "pct")])
    for r in fig["custody"]:
        t.add([_label(Category, r["category"]), r["total"], r["custodian"], r["person"], r["letter"], r["post"],
               r["funding"], r["rate"]])
    t.total = True
    tables.append(t)

    contracts = fig["contracts"]
    if village:
        t = Table("contracts", _("Operating contracts of the operating assets"), [
            (_("Asset code"), "text"), (_("Asset name"), "text"), (_("Operator"), "text"),
            (_("Contract number"), "text"), (_("Starts"), "date"), (_("Ends"), "date"),
            (_("Yearly rent or income (10k yuan)"), "money"), (_("Status"), "text")])
        for r in contracts["rows"]:
            t.add([r["asset"].code, redactor.asset_name(r["asset"]), r["operator"], r["number"], r["starts_on"],
                   r["ends_on"], r["yearly_due"], r["state"]], asset_url(r["asset"].code))
    else:
        t = Table("contracts", _("Operating contracts by state"), [(_("Contract state"), "text"),
                                                                     (_("Number of operating assets"), "int")])
        for r in contracts["states"]:
            t.add([r["state"], r["count"]])
    t.note = _("Yearly rent or income of the contracts in force: %(amount)s 10k yuan in all; equity and debt "
               "assets have no operating contract of their own.") % {"amount": format_wan(contracts["yearly_due"])}
    tables.append(t)

    income = fig["income"]
    year = income["year"]
    note = _("%(year)s: income recorded on %(n)s assets, %(amount)s 10k yuan in all.") % {
        "year": year, "n": income["assets"], "amount": format_wan(income["amount"])}
    if village:
        plan = income["plans"][0] if income["plans"] else None
        t = Table("distribution", _("%(year)s income distribution plan") % {"year": year}, [
            (_("Purpose"), "text"), (_("Amount (10k yuan)"), "money"), (_("Recipient"), "text"),
            (_("Source asset"), "text")])
        if plan:
            for i in plan.item_list:
                t.add([_label(PlanPurpose, i.purpose), i.amount, redactor.person(i.recipient) if i.purpose in (
                    PlanPurpose.CASH, PlanPurpose.NO_LABOUR, PlanPurpose.POSTS) else i.recipient,
                    i.asset.code if i.asset else ""])
            _total(t)
            note += _("Distribution plan: %(status)s, %(amount)s 10k yuan to be distributed.") % {
                "status": PlanStatus(plan.status).label, "amount": format_wan(plan.total)}
        else:
            note += _("No income distribution plan for that year yet.")
    else:
        t = Table("distribution", _("%(year)s income distribution plans of the villages") % {"year": year}, [
            (_("Village"), "text"), (_("Plan status"), "text"), (_("Total distributed (10k yuan)"), "money"),
            *[(str(p.label), "money") for p in PlanPurpose]])
        for plan in income["plans"]:
            t.add([plan.village.name, _label(PlanStatus, plan.status), plan.total,
                   *[plan.by_purpose[p] for p in PlanPurpose.values]], f"/reports/villages/{plan.village.code}/")
        _total(t)
        if scope.villages is not None:
            note += _("%(n)s villages have a distribution plan for that year, %(amount)s 10k yuan to be "
                      "distributed in all.") % {"n": len(income["plans"]), "amount": format_wan(income["planned"])}
    t.note = note
    tables.append(t)

    v = fig["verification"]
    t = Table("verification", _("Verification coverage"), [(_("Measure"), "text"), (_("Number of assets"), "int"),
                                                           (_("Share of registered assets (%)"), "pct")])
    t.add([_("Registered assets"), v["total"], 100 if v["total"] else None])
    t.add([_("Ever verified on site"), v["ever"], v["ever_rate"]])
    t.add([_("Verified in the last 12 months"), v["recent"], v["recent_rate"]])
    t.add([_("Verified this year"), v["this_year"], _pct(v["this_year"], v["total"])])
    t.add([_("Verification records awaiting review"), v["pending"], None])
    tables.append(t)

    t = Table("findings", _("Latest verification findings"), [(_("Finding"), "text"), (_("Number of assets"), "int")])
    for r in v["findings"]:
        t.add([_label(Finding, r["finding"]), r["count"]])
    _total(t)
    tables.append(t)
    if village:
        t = Table("problems", _("Problems found by verification"), [
            (_("Asset code"), "text"), (_("Asset name"), "text"), (_("Finding"), "text"), (_("Verified on"), "date")])
        for record in v["problems"]:
            t.add([record.asset.code, redactor.asset_name(record.asset), _label(Finding, record.finding),
                   record.observed_at.date()], asset_url(record.asset.code))
        tables.append(t)

    a = fig["alerts"]
    t = Table("alert_rules", _("Risk alerts (by rule)"), [(_("Level"), "text"), (_("Rule"), "text"),
                                                          (_("Number of alerts"), "int")])
    for r in a["rules"]:
        t.add([LEVEL_LABELS[r["level"]], r["title"], r["count"]])
    _total(t, 2)
    t.note = pgettext("list separator", "; ").join(
        _("%(level)s: %(n)s") % {"level": LEVEL_LABELS[level], "n": a["levels"][level]} for level in LEVELS)
    tables.append(t)
    if village:
        t = Table("alerts", _("Risk alerts in detail"), [(_("Level"), "text"), (_("Rule"), "text"),
                                                         (_("Asset"), "text"), (_("Evidence"), "text")])
        for alert, asset in fig["alert_rows"]:
            t.add([LEVEL_LABELS[alert.level], alert.title,
                   f"{asset.code} {redactor.asset_name(asset)}" if asset else scope.name, alert.evidence])
        tables.append(t)

    if scope.villages is not None:
        columns = [(_("Stage"), "text"), (_("Status"), "text") if village else (_("Villages publicised"), "int"),
                   (_("Number of notices"), "int"), (_("Latest notice"), "text"), (_("Publicity period"), "text"),
                   (_("Objections"), "int"), (_("Unanswered"), "int")]
        t = Table("publicity", _("Publicity by stage"), columns)
        for r in fig["publicity"]["stages"]:
            n = r["latest"]
            t.add([_label(PublicityStage, r["stage"]), r["state"] if village else r["villages"], r["count"],
                   n.title if n else "",
                   _("%(start)s to %(end)s") % {"start": f"{n.starts_on:%Y-%m-%d}", "end": f"{n.ends_on:%Y-%m-%d}"}
                   if n else "",
                   r["objections"], r["unanswered"]])
        if not village:
            stages = fig["publicity"]["stages"]
            t.note = _("%(n)s villages in all.") % {"n": stages[0]["of"] if stages else 0}
        tables.append(t)

    if not village:
        by_village = scope.kind == "township"
        t = Table("breakdown", _("Figures by village") if by_village else _("Figures by township"), [
            (_("Village") if by_village else _("Township"), "text"), (_("Number of assets"), "int"),
            (_("Investment (10k yuan)"), "money"), (_("Registration rate (%)"), "pct"),
            (_("Custody coverage (%)"), "pct"), (_("12-month verification rate (%)"), "pct"),
            (_("%(year)s income (10k yuan)") % {"year": year}, "money"), (_("Ledger and ownership publicised"), "text"),
            (_("Red alerts"), "int"), (_("Yellow alerts"), "int"), (_("Blue notices"), "int")])
        for r in fig["breakdown"]:
            area = r["area"]
            posted = (_("Yes") if r["posted"] else _("No")) if by_village else f"{r['posted']}/{r['of']}"
            if scope.kind == "department":
                posted = "—"
            t.add([area.name, r["count"], r["investment"], r["registered_rate"], r["custody_rate"],
                   r["verified_rate"], r["income"], posted, r["red"], r["yellow"], r["blue"]],
                  f"/reports/{'villages' if by_village else 'townships'}/{area.code}/")
        tables.append(t)
    else:
        t = Table("assets", _("Asset list"), [
            (_("Asset code"), "text"), (_("Asset name"), "text"), (_("Type"), "text"), (_("Status"), "text"),
            (_("Investment (10k yuan)"), "money"), (_("Ownership status"), "text"), (_("Custodian unit"), "text"),
            (_("Last verified"), "date")])
        for asset in fig["assets"]:
            t.add([asset.code, redactor.asset_name(asset), asset.get_asset_type_display(), asset.get_status_display(),
                   asset.total_investment, asset.get_registration_status_display(), asset.custodian_unit,
                   asset.last_verified_at.date() if asset.last_verified_at else None], asset_url(asset.code))
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

    def wan(amount):
        return _("%(amount)s 10k yuan") % {"amount": format_wan(amount)}

    count = totals["count"]
    return [(_("Registered assets"), ngettext("%(n)s asset", "%(n)s assets", count) % {"n": count}),
            (_("Total investment"), wan(totals["investment"])),
            (_("Registration rate"), rate(owned["rate"])), (_("Custody coverage"), rate(kept["rate"])),
            (_("12-month verification rate"), rate(v["recent_rate"])),
            (_("%(year)s income") % {"year": fig["income"]["year"]}, wan(fig["income"]["amount"])),
            (_("Risk alerts"), _("red %(red)s · yellow %(yellow)s · blue %(blue)s") % a["levels"])]


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
    overview = _("Overview")
    first.title = overview
    first.append([title])
    first["A1"].font = Font(bold=True, size=14)
    for label, value in summary:
        first.append([label, cell_protect(value)])
    first.column_dimensions["A"].width = 18
    first.column_dimensions["B"].width = 50
    used = {overview}
    for table in tables:
        name = table.title[:31]
        while name in used:
            name = name[:29] + str(len(used))
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([cell_protect(str(label)) for label, _kind in table.columns])  # county names head columns
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


# ---------------------------------------------------------------- 账账相符 (projects.reconciliation)


def _reconciliation_columns(first: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [*first, (_("Projects"), "int"), (_("Allocated (10k yuan)"), "money"),
            (_("Disbursed (10k yuan)"), "money"), (_("Assets formed (items)"), "int"),
            (_("Assets formed (10k yuan)"), "money"), (_("Not forming assets, explained (10k yuan)"), "money"),
            (_("Difference (10k yuan)"), "money")]


def _figures_cells(f) -> list:
    return [len(f.projects), f.allocated, f.disbursed, f.asset_count, f.formed, f.no_asset, f.difference]


def _limited(table: Table, rows: list, limit: int | None, row_of) -> None:
    """Add row_of(x) → (cells, link) for each x, at most `limit` of them, saying how many were left out."""
    shown = rows if limit is None else rows[:limit]
    for row in shown:
        table.add(*row_of(row))
    if len(shown) < len(rows):
        table.note = (table.note + " " if table.note else "") + _(
            "The first %(shown)s of %(total)s rows; the Excel workbook has every row.") % {
            "shown": len(shown), "total": len(rows)}


def totals_table(rec) -> Table:
    """Totals by scope class, year, funding source, department and township, and a total of each class."""
    from projects.reconciliation import CLASS_LABELS, CLASSES

    t = Table("totals", _("Totals by year, funding source, department and township"), _reconciliation_columns([
        (_("Scope"), "text"), (_("Year"), "int"), (_("Funding source"), "text"), (_("Department"), "text"),
        (_("Township"), "text")]))
    for g in rec.groups:
        t.add([g.class_label, g.year, g.source_label, g.department, g.township, *_figures_cells(g.figures)])
    for klass in CLASSES:
        t.add([_("Total: %(scope)s") % {"scope": CLASS_LABELS[klass]}, None, "", "", "",
               *_figures_cells(rec.totals[klass])])
    t.total = True
    t.note = _("Traced projects (before %(year)s) and excluded ones (relocation) are shown apart: their "
               "difference is not a discrepancy.") % {"year": rec.policy.first_year}
    return t


def reconciliation_tables(rec, *, limit: int | None = None) -> list[Table]:
    """The reconciliation as titled tables (the workbook and the PDF): totals by class, year, funding source,
    department and township; every project; each kind of finding. `limit`: at most so many rows of a long list
    (the PDF; the workbook has every row)."""
    from projects.reconciliation import KINDS

    tables = [totals_table(rec)]

    t = Table("projects", _("Project list"), [
        (_("Project code"), "text"), (_("Project name"), "text"), (_("Year"), "int"), (_("Project kind"), "text"),
        (_("Department"), "text"), (_("Township"), "text"), (_("Scope"), "text"),
        *_reconciliation_columns([])[1:], (_("Findings"), "text")])
    separator = pgettext("list separator", ", ")
    _limited(t, rec.projects, limit, lambda p: (
        [p.code, p.name, p.year, p.kind_label, p.department, p.township, p.class_label, p.shown.allocated,
         p.shown.disbursed, p.shown.asset_count, p.shown.formed, p.shown.no_asset, p.shown.difference,
         separator.join(str(KINDS[k].label) for k in p.findings)], None))
    tables.append(t)

    for code, kind in KINDS.items():
        items = rec.findings[code]
        t = Table(code, str(kind.label), [
            (_("Finding code"), "text"), (_("Project code"), "text"), (_("Project name"), "text"),
            (_("Asset code"), "text"), (_("Asset name"), "text"), (_("Amount (10k yuan)"), "money"),
            (_("Evidence"), "text")])
        _limited(t, items, limit, lambda i: (
            [i.kind, i.project.code if i.project else "", i.project.name if i.project else "",
             separator.join(a.code for a in i.assets if a.visible),
             separator.join(a.name for a in i.assets if a.visible), i.amount, i.text], None))
        if not items:
            t.note = _("None found.")
        tables.append(t)
    return tables


def reconciliation_headline(rec) -> list[tuple[str, str]]:
    """The key figures above the tables."""
    from projects.reconciliation import EXCLUDED, IN_SCOPE, TRACED

    def wan(amount):
        return _("%(amount)s 10k yuan") % {"amount": format_wan(amount)}

    f = rec.totals[IN_SCOPE]
    return [(_("Disbursed (in scope)"), wan(f.disbursed)),
            (_("Assets formed"), ngettext("%(n)s asset, %(amount)s", "%(n)s assets, %(amount)s", f.asset_count) % {
                "n": f.asset_count, "amount": wan(f.formed)}),
            (_("Not forming assets (explained)"), wan(f.no_asset)), (_("Difference"), wan(f.difference)),
            (_("Findings"), str(rec.finding_count)),
            (_("Traced (before %(year)s)") % {"year": rec.policy.first_year}, wan(rec.totals[TRACED].disbursed)),
            (_("Excluded (relocation)"), wan(rec.totals[EXCLUDED].disbursed)),
            (_("Tolerance"), _("%(percent)s%% of the disbursement, at least %(amount)s") % {
                "percent": f"{rec.policy.tolerance_percent:g}", "amount": wan(rec.policy.tolerance_amount)})]
