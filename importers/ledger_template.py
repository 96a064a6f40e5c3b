"""The blank ledger a clerk downloads from the upload page: the columns of DESIGN §5, one example row that checks
valid on this installation (a real village, a point inside it, a department that exists), and a sheet explaining
each column with the accepted values."""

from pathlib import Path

from geo_assets.models import AdminArea, Department
from geo_assets.taxonomy import CATEGORY_TYPES, AreaLevel, AssetStatus
from importers import vocab

SHEET = "资产台账"
TITLE = "资产台账导入模板：第 3 行是示例，请改成实际资产或删除；各列的填法和可选值见“填表说明”工作表"


def _firsts(table: dict, exclude=()) -> str:
    return "、".join(labels[0] for code, labels in table.items() if code not in exclude)


def _types_by_category() -> str:
    return "；".join(f"{vocab.label(vocab.CATEGORY_LABELS, c)}：{'、'.join(vocab.label(vocab.TYPE_LABELS, t) for t in ts)}"
                    for c, ts in CATEGORY_TYPES.items())


def example_row() -> dict:
    """A drinking-water work in the first village, valid on this system (location left empty if no village)."""
    village = AdminArea.objects.filter(level=AreaLevel.VILLAGE).select_related("parent").order_by("code").first()
    department = Department.objects.filter(name="水利局").first()
    row = {
        vocab.NAME: f"{village.name if village else ''}安全饮水工程（示例）", vocab.CATEGORY: "公益性资产",
        vocab.TYPE: "供水饮水", vocab.YEAR: 2024, vocab.PROJECT: "2024年农村饮水安全巩固提升项目",
        vocab.DEPARTMENT: department.name if department else "",
        vocab.FUNDING: "财政专项扶贫资金（中央）:20;统筹整合财政涉农资金:10", vocab.INVESTMENT: 30, vocab.QUANTITY: 1,
        vocab.UNIT: "处", vocab.OWNER_KIND: "村集体", vocab.REGISTRATION: "已确权", vocab.CUSTODIAN_PERSON: "张三",
        vocab.PHONE: "13800000000", vocab.STATUS: "在用", vocab.NOTE: "示例行：导入前请改成实际资产或删除本行",
    }
    if village is not None:
        point = village.geom.point_on_surface
        township = village.parent.name if village.parent else ""
        row.update({
            vocab.TOWNSHIP: township, vocab.VILLAGE: village.name, vocab.AREA_CODE: village.code,
            vocab.IMPLEMENTER: f"{township}人民政府", vocab.OWNERS: f"{village.name}村集体",
            vocab.CUSTODIAN: f"{village.name}村民委员会", vocab.LON: round(point.x, 7), vocab.LAT: round(point.y, 7),
        })
    return row


def instructions() -> list[tuple[str, str]]:
    departments = "、".join(Department.objects.order_by("name").values_list("name", flat=True)) or "（尚无部门）"
    return [
        (vocab.CODE, "留空：由系统生成（村代码-4位序号）；填写已有编号：更新该资产"),
        (vocab.NAME, "必填"),
        (vocab.CATEGORY, f"{_firsts(vocab.CATEGORY_LABELS)}；可留空（由资产类型确定）"),
        (vocab.TYPE, f"必填。{_types_by_category()}"),
        (vocab.TOWNSHIP, "乡镇名称，可留空"),
        (vocab.VILLAGE, "村名称；与行政区划代码都留空时按位置确定"),
        (vocab.AREA_CODE, "12 位村代码（优先于村名称）"),
        (vocab.YEAR, "4 位年份，1949 年到明年"),
        (vocab.DEPARTMENT, f"系统中的部门：{departments}"),
        (vocab.FUNDING, f"来源:金额（万元），多项用分号分隔，如“财政专项扶贫资金（中央）:20;统筹整合财政涉农资金:10”。"
                        f"来源：{_firsts(vocab.FUNDING_LABELS)}"),
        (vocab.INVESTMENT, "数字（万元）；与资金来源合计一致"),
        (vocab.QUANTITY, "数字"),
        (vocab.OWNER_KIND, _firsts(vocab.OWNER_KIND_LABELS)),
        (vocab.OWNERS, "名称:份额（%），多个用分号分隔，合计 100；与产权归属不同的在名称后加 [类型]，如“张三[受益户]:40”"),
        (vocab.REGISTRATION, _firsts(vocab.REGISTRATION_LABELS)),
        (vocab.PHONE, "手机或座机号码"),
        (vocab.STATUS, f"{_firsts(vocab.STATUS_LABELS, exclude=(AssetStatus.DISPOSED,))}（“已处置”只能经处置审批）"),
        (vocab.LON, "十进制度（如 111.6123456）或度分秒（如 111°35′43.7″E），CGCS2000/WGS84"),
        (vocab.LAT, "十进制度或度分秒"),
        (vocab.WKT, "线、面资产的几何（WKT 文本，经纬度）；填写后优先于经度、纬度"),
    ]


def template_write(path: Path) -> Path:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([TITLE])
    ws.append(list(vocab.TABLE_COLUMNS))
    example = example_row()
    ws.append([example.get(c, "") for c in vocab.TABLE_COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for column_cells in ws.iter_cols(min_row=2, max_row=2):
        ws.column_dimensions[column_cells[0].column_letter].width = 16
    help_sheet = wb.create_sheet("填表说明")
    help_sheet.append(["列", "填法和可选值"])
    for row in instructions():
        help_sheet.append(list(row))
    help_sheet.column_dimensions["A"].width = 18
    help_sheet.column_dimensions["B"].width = 120
    wb.save(path)
    return path
