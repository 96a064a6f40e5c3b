"""The ledger exchange columns (DESIGN.md §5): their names, the variants accepted on import, the DBF names.
The labels of the register's codes are geo_assets.vocab's; cell protection is geo_assets.spreadsheet's."""


from geo_assets.spreadsheet import cell_protect, cell_unprotect  # noqa: F401  (the importers' vocabulary)
from geo_assets.vocab import (  # noqa: F401  (the register's codes in the ledger's wording, used here as vocab.*)
    CATEGORY_INDEX,
    CATEGORY_LABELS,
    FUNDING_INDEX,
    FUNDING_LABELS,
    OWNER_KIND_INDEX,
    OWNER_KIND_LABELS,
    REGISTRATION_INDEX,
    REGISTRATION_LABELS,
    STATUS_INDEX,
    STATUS_LABELS,
    TYPE_INDEX,
    TYPE_LABELS,
    accepted,
    label,
    text_key,
)

# Ledger columns in export order.
CODE = "资产编号"
NAME = "资产名称"
CATEGORY = "资产类别"
TYPE = "资产类型"
TOWNSHIP = "所属乡镇"
VILLAGE = "所属村"
AREA_CODE = "行政区划代码"
YEAR = "建成年份"
PROJECT = "项目名称"
IMPLEMENTER = "实施单位"
DEPARTMENT = "主管部门"
FUNDING = "资金来源"
INVESTMENT = "投资金额（万元）"
QUANTITY = "数量"
UNIT = "计量单位"
OWNER_KIND = "产权归属"
OWNERS = "产权主体"
REGISTRATION = "确权状态"
CUSTODIAN = "管护单位"
CUSTODIAN_PERSON = "管护责任人"
PHONE = "联系电话"
OPERATOR = "经营主体"
STATUS = "资产状态"
LON = "经度"
LAT = "纬度"
NOTE = "备注"
WKT = "WKT"  # CSV/XLSX only: the geometry of lines and polygons (points use 经度/纬度)

LEDGER_COLUMNS: tuple[str, ...] = (
    CODE, NAME, CATEGORY, TYPE, TOWNSHIP, VILLAGE, AREA_CODE, YEAR, PROJECT, IMPLEMENTER, DEPARTMENT, FUNDING,
    INVESTMENT, QUANTITY, UNIT, OWNER_KIND, OWNERS, REGISTRATION, CUSTODIAN, CUSTODIAN_PERSON, PHONE, OPERATOR,
    STATUS, LON, LAT, NOTE,
)
TABLE_COLUMNS: tuple[str, ...] = (*LEDGER_COLUMNS, WKT)

# Plain text columns → Asset field.
TEXT_FIELDS: dict[str, str] = {
    NAME: "name",
    PROJECT: "project_name",
    IMPLEMENTER: "implementing_unit",
    UNIT: "unit",
    CUSTODIAN: "custodian_unit",
    CUSTODIAN_PERSON: "custodian_person",
    PHONE: "custodian_phone",
    OPERATOR: "operator",
    NOTE: "note",
}

# Header variants seen in departments' ledgers (compared after header_key()).
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    CODE: ("资产编码", "编号", "资产代码", "资产序号", "code", "asset_code"),
    NAME: ("名称", "资产名", "项目资产名称", "name", "asset_name"),
    CATEGORY: ("类别", "资产分类", "category"),
    TYPE: ("类型", "资产种类", "asset_type", "type"),
    TOWNSHIP: ("乡镇", "乡(镇)", "乡镇名称", "所在乡镇", "township"),
    VILLAGE: ("村", "村名", "村名称", "所在村", "所属村(社区)", "行政村", "village"),
    AREA_CODE: ("村代码", "行政区代码", "区划代码", "村级代码", "统计代码", "village_code", "area_code"),
    YEAR: ("建设年份", "建成年度", "年度", "实施年度", "year", "year_built"),
    PROJECT: ("项目", "所属项目", "项目名", "project"),
    IMPLEMENTER: ("建设单位", "实施主体", "项目实施单位"),
    DEPARTMENT: ("行业主管部门", "主管单位", "业务主管部门", "department"),
    FUNDING: ("资金来源及金额", "资金构成", "funding"),
    INVESTMENT: ("投资金额", "总投资", "投资额(万元)", "总投资(万元)", "资产价值(万元)", "金额(万元)", "资产原值(万元)",
                 "investment"),
    QUANTITY: ("规模", "数量规模", "quantity"),
    UNIT: ("单位", "规模单位", "unit"),
    OWNER_KIND: ("产权归属类型", "所有权归属", "owner_kind"),
    OWNERS: ("产权所有人", "所有权人", "产权单位", "owners"),
    REGISTRATION: ("是否确权", "确权情况", "registration"),
    CUSTODIAN: ("管护主体", "管护责任单位"),
    CUSTODIAN_PERSON: ("管护人", "责任人", "管护责任人姓名"),
    PHONE: ("电话", "联系方式", "管护人电话", "phone"),
    OPERATOR: ("运营主体", "经营单位", "operator"),
    STATUS: ("状态", "使用状态", "运行状态", "status"),
    LON: ("东经", "经度(°)", "lon", "lng", "long", "longitude", "x坐标", "横坐标"),
    LAT: ("北纬", "纬度(°)", "lat", "latitude", "y坐标", "纵坐标"),
    NOTE: ("说明", "备注说明", "note", "remark", "remarks"),
    WKT: ("几何", "几何(wkt)", "geometry", "geom", "空间范围", "the_geom"),
}

def header_key(value: str) -> str:
    return text_key(value).replace("\ufffd", "").replace("*", "").replace("＊", "")


HEADER_INDEX: dict[str, str] = {header_key(c): c for c in TABLE_COLUMNS}
for _column, _variants in HEADER_VARIANTS.items():
    for _variant in _variants:
        HEADER_INDEX.setdefault(header_key(_variant), _column)


def column_for_header(header: str, mapping: dict[str, str] | None = None) -> str | None:
    """The ledger column a file header stands for: mapping, exact or variant, or a DBF name cut to 10 bytes."""
    if header is None:
        return None
    raw = str(header)
    if mapping:
        for source, target in mapping.items():
            if header_key(source) == header_key(raw):
                return HEADER_INDEX.get(header_key(target), target if target in TABLE_COLUMNS else None)
    key = header_key(raw)
    if not key:
        return None
    if key in HEADER_INDEX:
        return HEADER_INDEX[key]
    # Shapefile: DBF names are cut to 10 bytes (5 Chinese characters in GBK, 3 in UTF-8).
    short = len(raw.strip().encode("gbk", "ignore")) <= 10 or len(raw.strip().encode("utf-8", "ignore")) <= 10
    if len(key) >= 2 and short:
        candidates = {col for k, col in HEADER_INDEX.items() if k.startswith(key)}
        if len(candidates) == 1:
            return candidates.pop()
    return None


SHP_FIELD_NAMES: dict[str, str] = {
    column: column.encode("gbk")[:10].decode("gbk", "ignore") for column in TABLE_COLUMNS
}
