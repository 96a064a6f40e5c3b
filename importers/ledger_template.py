"""The blank ledger a clerk downloads from the upload page: the columns of DESIGN §5, one example row that checks
valid on this installation (a real village, a point inside it, a department that exists), and a sheet explaining
each column with the accepted values."""

from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from geo_assets.models import AdminArea, Department
from geo_assets.taxonomy import CATEGORY_TYPES, AreaLevel, AssetStatus
from importers import vocab
from importers.report import joined

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
    village = AdminArea.objects.filter(level=AreaLevel.VILLAGE).select_related("parent").order_by("code").first()
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


def template_write(path: Path) -> Path:
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
