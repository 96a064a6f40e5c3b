"""The blank ledgers a clerk downloads from the upload page: the asset ledger (the columns of DESIGN §5), the project
list and the fund ledger, each with one example row that checks valid on this installation (a real village, a point
inside it, a department that exists; for a fund line, a project of the project list) and a sheet explaining each
column with the accepted values."""

from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from geo_assets.models import AdminArea, Department
from geo_assets.taxonomy import CATEGORY_TYPES, AreaLevel, AssetStatus, FundingSourceKind
from importers import vocab
from importers.report import joined
from projects.taxonomy import ProjectKind, ProjectStatus

# The exchange format's sheet, named as writers.LAYER.
SHEET = "资产台账"  # i18n: data
# Values of the example row and the instructions' examples: ledger text the importer reads, in either language.
FUNDING_EXAMPLE = "财政专项扶贫资金（中央）:20;统筹整合财政涉农资金:10"  # i18n: data
OWNERS_EXAMPLE = "张三[受益户]:40"  # i18n: data


def _help_sheet() -> str:
    return _("How to fill in")


def _title() -> str:
    return _("Asset ledger import template: row 3 is an example, change it into a real asset or delete it; how to "
             "fill in each column and its accepted values are on the “%(sheet)s” sheet") % {"sheet": _help_sheet()}


def _firsts(table: dict, exclude=()) -> str:
    return joined(labels[0] for code, labels in table.items() if code not in exclude)


def _types_by_category() -> str:
    return pgettext("list separator", "; ").join(
        _("%(category)s: %(types)s") % {"category": vocab.label(vocab.CATEGORY_LABELS, c),
                                        "types": joined(vocab.label(vocab.TYPE_LABELS, t) for t in ts)}
        for c, ts in CATEGORY_TYPES.items())


def example_row() -> dict:
    """A drinking-water work in the first village, valid on this system (location left empty if no village)."""
    village = AdminArea.objects.filter(level=AreaLevel.VILLAGE).with_parent().order_by("code").first()
    department = Department.objects.filter(name="水利局").first()  # i18n: data
    row = {
        vocab.NAME: f"{village.name if village else ''}安全饮水工程（示例）", vocab.CATEGORY: "公益性资产",  # i18n: data
        vocab.TYPE: "供水饮水", vocab.YEAR: 2024, vocab.PROJECT: "2024年农村饮水安全巩固提升项目",  # i18n: data
        vocab.DEPARTMENT: department.name if department else "",
        vocab.FUNDING: FUNDING_EXAMPLE, vocab.INVESTMENT: 30, vocab.QUANTITY: 1,
        vocab.UNIT: "处", vocab.OWNER_KIND: "村集体", vocab.REGISTRATION: "已确权", vocab.CUSTODIAN_PERSON: "张三",  # i18n: data
        vocab.PHONE: "13800000000", vocab.STATUS: "在用",  # i18n: data
        vocab.NOTE: _("Example row: change it into a real asset or delete this row before importing"),
    }
    if village is not None:
        point = village.geom.point_on_surface
        township = village.parent.name if village.parent else ""
        row.update({
            vocab.TOWNSHIP: township, vocab.VILLAGE: village.name, vocab.AREA_CODE: village.code,
            vocab.IMPLEMENTER: f"{township}人民政府", vocab.OWNERS: f"{village.name}村集体",  # i18n: data
            vocab.CUSTODIAN: f"{village.name}村民委员会", vocab.LON: round(point.x, 7), vocab.LAT: round(point.y, 7),  # i18n: data
        })
    return row


def instructions() -> list[tuple[str, str]]:
    departments = joined(Department.objects.order_by("name").values_list("name", flat=True)) or _(
        "(no departments yet)")
    return [
        (vocab.CODE, _("Leave empty: the system makes one (village code-4-digit number); an existing code: updates "
                       "that asset")),
        (vocab.NAME, _("Required")),
        (vocab.CATEGORY, _("%(choices)s; may be left empty (the asset type decides it)")
         % {"choices": _firsts(vocab.CATEGORY_LABELS)}),
        (vocab.TYPE, _("Required. %(types)s") % {"types": _types_by_category()}),
        (vocab.TOWNSHIP, _("Township name, may be left empty")),
        (vocab.VILLAGE, _("Village name; when it and the area code are both empty, the location decides")),
        (vocab.AREA_CODE, _("12-digit village code (comes before the village name)")),
        (vocab.YEAR, _("4-digit year, from 1949 to next year")),
        (vocab.DEPARTMENT, _("The system's departments: %(departments)s") % {"departments": departments}),
        (vocab.FUNDING, _("source:amount (10k yuan), several separated by semicolons, e.g. “%(example)s”. Sources: "
                          "%(sources)s") % {"example": FUNDING_EXAMPLE, "sources": _firsts(vocab.FUNDING_LABELS)}),
        (vocab.INVESTMENT, _("A number (10k yuan); equal to the funding sources' total")),
        (vocab.PROJECT_CODE, _("The code of the project of the project list that formed the asset (several separated "
                               "by %(separator)s): the import links the asset to it; may be left empty")
         % {"separator": "、"}),  # i18n: data
        (vocab.PROJECT_AMOUNT, _("What that project put into the asset (10k yuan; one project code only); may be "
                                 "left empty (then apportioned)")),
        (vocab.QUANTITY, _("A number")),
        (vocab.OWNER_KIND, _firsts(vocab.OWNER_KIND_LABELS)),
        (vocab.OWNERS, _("name:share (%%), several separated by semicolons, adding up to 100; an owner of another kind "
                         "than the ownership gets [kind] after the name, e.g. “%(example)s”")
         % {"example": OWNERS_EXAMPLE}),
        (vocab.REGISTRATION, _firsts(vocab.REGISTRATION_LABELS)),
        (vocab.PHONE, _("Mobile or landline number")),
        (vocab.STATUS, _("%(statuses)s (“%(disposed)s” only through a disposal approval)") % {
            "statuses": _firsts(vocab.STATUS_LABELS, exclude=(AssetStatus.DISPOSED,)),
            "disposed": vocab.label(vocab.STATUS_LABELS, AssetStatus.DISPOSED)}),
        (vocab.LON, _("Decimal degrees (e.g. 111.6123456) or degrees, minutes and seconds (e.g. 111°35′43.7″E), "
                      "CGCS2000/WGS84")),
        (vocab.LAT, _("Decimal degrees or degrees, minutes and seconds")),
        (vocab.WKT, _("The geometry of line and polygon assets (WKT text, longitude and latitude); when filled in, "
                      "it comes before the longitude and latitude")),
    ]


# ---------------------------------------------------------------- the project list and the fund ledger

PROJECT_SHEET = "项目库"  # i18n: data
FUND_SHEET = "资金台账"  # i18n: data
EXAMPLE_PROJECT = "410324-2024-001"


def _village():
    return AdminArea.objects.filter(level=AreaLevel.VILLAGE).with_parent().order_by("code").first()


def project_example_row() -> dict:
    """A drinking-water project of last year in the first village, led by 水利局 (when it exists)."""
    village = _village()
    department = Department.objects.filter(name="水利局").first()  # i18n: data
    year = timezone.localdate().year - 1
    township = village.parent.name if village is not None and village.parent else ""
    return {
        vocab.P_CODE: EXAMPLE_PROJECT, vocab.P_NAME: f"{year}年{village.name if village else ''}安全饮水巩固提升项目（示例）",  # i18n: data
        vocab.P_YEAR: year, vocab.P_KIND: vocab.label(vocab.PROJECT_KIND_LABELS, ProjectKind.INFRASTRUCTURE),
        vocab.P_IMPLEMENTER: f"{township}人民政府" if township else "", vocab.P_DEPARTMENT: department.name if department else "",  # i18n: data
        vocab.P_TOWNSHIP: township, vocab.P_VILLAGES: village.name if village else "", vocab.P_SEAT: "否",  # i18n: data
        vocab.P_APPROVAL: f"栾扶组〔{year}〕1号", vocab.P_STARTED: f"{year}年3月5日", vocab.P_COMPLETED: f"{year}-06-30",  # i18n: data
        vocab.P_ACCEPTED: f"{year}/7/15", vocab.P_ACCEPTANCE: f"栾水验〔{year}〕1号",  # i18n: data
        vocab.P_STATUS: vocab.label(vocab.PROJECT_STATUS_LABELS, ProjectStatus.ACCEPTED),
        vocab.P_NOTE: _("Example row: change it into a real project or delete this row before importing"),
    }


def fund_example_row() -> dict:
    """A central-funds line of a project of the project list (the example project's code when there is none)."""
    from projects.models import Project

    project = Project.objects.order_by("-year", "code").first()
    year = project.year if project else timezone.localdate().year - 1
    return {
        vocab.F_PROJECT: project.code if project else EXAMPLE_PROJECT, vocab.F_PROJECT_NAME: project.name if project else "",
        vocab.F_SOURCE: vocab.label(vocab.FUND_SOURCE_LABELS, FundingSourceKind.CENTRAL), vocab.F_LEVEL: "",
        vocab.F_DOCUMENT: f"豫财农〔{year}〕1号", vocab.F_YEAR: year, vocab.F_ALLOCATED: 30, vocab.F_DISBURSED: 25,  # i18n: data
        vocab.F_NOTE: _("Example row: change it into a real fund line or delete this row before importing"),
    }


def _dates() -> str:
    return joined(("2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日", "20240305"))  # i18n: data


def _money(column: str) -> str:
    return _("A number in 10k yuan; when the header says %(yuan)s (e.g. “%(header)s”) or a note above the header "
             "says %(note)s, in yuan, converted to 10k yuan") % {
        "yuan": "（元）", "header": column.replace("（万元）", "（元）"), "note": "单位：元"}  # i18n: data


def project_instructions() -> list[tuple[str, str]]:
    departments = joined(Department.objects.order_by("name").values_list("name", flat=True)) or _(
        "(no departments yet)")
    return [
        (vocab.P_CODE, _("Required: the project's code (the national information system's where there is one); an "
                         "existing code updates that project. Also accepted as header: %(variants)s")
         % {"variants": joined(vocab.PROJECT_CODE_VARIANTS[:4])}),
        (vocab.P_NAME, _("Required for a new project")),
        (vocab.P_YEAR, _("Required for a new project: 4-digit year, from 1990 to next year")),
        (vocab.P_KIND, _("Required for a new project. %(choices)s") % {"choices": _firsts(vocab.PROJECT_KIND_LABELS)}),
        (vocab.P_IMPLEMENTER, _("The unit that organised the work")),
        (vocab.P_DEPARTMENT, _("The lead department, one of the system's departments: %(departments)s; a line "
                               "department's own when left empty") % {"departments": departments}),
        (vocab.P_TOWNSHIP, _("Township name or 9/12-digit code; may be left empty when the villages say it")),
        (vocab.P_VILLAGES, _("The villages served: names or 12-digit codes, several separated by %(separators)s; "
                             "“%(seat)s” for the township seat") % {"separators": "、，；", "seat": "镇区"}),  # i18n: data
        (vocab.P_SEAT, _("Serves the township seat: %(yes)s or %(no)s") % {"yes": "是", "no": "否"}),  # i18n: data
        (vocab.P_STARTED, _("A date, e.g. %(examples)s") % {"examples": _dates()}),
        (vocab.P_COMPLETED, _("A date, not before the start")),
        (vocab.P_ACCEPTED, _("A date, not before the completion; required for an accepted project")),
        (vocab.P_STATUS, _("%(choices)s; when empty, the dates say it") % {
            "choices": _firsts(vocab.PROJECT_STATUS_LABELS)}),
    ]


def fund_instructions() -> list[tuple[str, str]]:
    return [
        (vocab.F_PROJECT, _("Required: the code of a project already in the project list (import the project list "
                            "first). A code merged over several rows counts for each of them")),
        (vocab.F_PROJECT_NAME, _("For reading only: the project is the one of its code")),
        (vocab.F_SOURCE, _("Required. %(choices)s") % {"choices": _firsts(vocab.FUND_SOURCE_LABELS)}),
        (vocab.F_LEVEL, _("Optional: %(levels)s, for a source given without its level") % {
            "levels": "中央、省级、市级、县级"}),  # i18n: data
        (vocab.F_DOCUMENT, _("The allocation's document number. A project has one line per source and "
                             "document number; without a number, one per source and year")),
        (vocab.F_YEAR, _("4-digit year; the project's year when left empty")),
        (vocab.F_ALLOCATED, _money(vocab.F_ALLOCATED)),
        (vocab.F_DISBURSED, _money(vocab.F_DISBURSED) + pgettext("list separator", "; ") + _(
            "not more than allocated; 0 when left empty")),
    ]


def _sheet_write(path: Path, *, sheet: str, title: str, columns, example: dict, instructions) -> Path:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append([title])
    ws.append(list(columns))
    ws.append([example.get(c, "") for c in columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for column_cells in ws.iter_cols(min_row=2, max_row=2):
        ws.column_dimensions[column_cells[0].column_letter].width = 18
    help_sheet = wb.create_sheet(_help_sheet())
    help_sheet.append([_("Ledger column"), _("How to fill it in, accepted values")])
    for row in instructions:
        help_sheet.append(list(row))
    help_sheet.column_dimensions["A"].width = 18
    help_sheet.column_dimensions["B"].width = 120
    wb.save(path)
    return path


def template_write(path: Path, *, kind: str = "assets") -> Path:
    """The template of the asset ledger, the project list ("projects") or the fund ledger ("funds")."""
    if kind == "projects":
        return _sheet_write(path, sheet=PROJECT_SHEET, title=_(
            "Project list import template: row 3 is an example, change it into a real project or delete it; how to "
            "fill in each column is on the “%(sheet)s” sheet") % {"sheet": _help_sheet()},
            columns=vocab.PROJECT_COLUMNS, example=project_example_row(), instructions=project_instructions())
    if kind == "funds":
        return _sheet_write(path, sheet=FUND_SHEET, title=_(
            "Fund ledger import template (amounts in 10k yuan): row 3 is an example, change it into a real fund line "
            "or delete it; how to fill in each column is on the “%(sheet)s” sheet") % {"sheet": _help_sheet()},
            columns=vocab.FUND_COLUMNS, example=fund_example_row(), instructions=fund_instructions())
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([_title()])
    ws.append(list(vocab.TABLE_COLUMNS))
    example = example_row()
    ws.append([example.get(c, "") for c in vocab.TABLE_COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for column_cells in ws.iter_cols(min_row=2, max_row=2):
        ws.column_dimensions[column_cells[0].column_letter].width = 16
    help_sheet = wb.create_sheet(_help_sheet())
    help_sheet.append([_("Ledger column"), _("How to fill it in, accepted values")])
    for row in instructions():
        help_sheet.append(list(row))
    help_sheet.column_dimensions["A"].width = 18
    help_sheet.column_dimensions["B"].width = 120
    wb.save(path)
    return path
