"""The ledger exchange columns (DESIGN.md §5) and the Chinese labels of the register's codes.

The taxonomy's choice labels are English msgids awaiting translation, so the importer keeps its own explicit
Chinese table here: the first label of each code is the one written on export, the others are accepted variants.
"""

import re
import unicodedata
from collections.abc import Mapping
from functools import cached_property

from geo_assets.taxonomy import (
    AssetStatus,
    AssetType,
    Category,
    FundingSourceKind,
    OwnerKind,
    RegistrationStatus,
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

CATEGORY_LABELS: dict[str, tuple[str, ...]] = {
    Category.PUBLIC_WELFARE: ("公益性资产", "公益性", "公益类"),
    Category.OPERATING: ("经营性资产", "经营性", "经营类"),
    Category.HOUSEHOLD: ("到户类资产", "到户类", "到户资产", "到户"),
}
TYPE_LABELS: dict[str, tuple[str, ...]] = {
    AssetType.ROAD: ("道路交通", "道路", "交通", "村组道路", "通村道路", "农村公路"),
    AssetType.IRRIGATION: ("农田水利", "水利", "农田水利设施"),
    AssetType.WATER_SUPPLY: ("供水饮水", "饮水", "安全饮水", "供水", "农村饮水安全", "饮水安全"),
    AssetType.SANITATION: ("环卫公厕", "环卫", "公厕"),
    AssetType.POWER: ("电力设施", "电力", "电力设备"),
    AssetType.EDUCATION: ("教育", "教育设施"),
    AssetType.CULTURE: ("文化", "文化设施", "文化广场"),
    AssetType.SPORTS: ("体育", "体育设施"),
    AssetType.HEALTH: ("卫生", "医疗卫生", "卫生室", "村卫生室"),
    AssetType.GREENHOUSE: ("设施农业",),
    AssetType.PLANTATION: ("种养殖基地", "种植基地", "养殖基地", "种养基地", "农林业产业基地", "产业基地"),
    AssetType.PROCESSING: ("生产加工", "加工", "生产加工设施"),
    AssetType.TOURISM: ("旅游服务", "乡村旅游", "旅游", "旅游服务设施"),
    AssetType.WORKSHOP: ("扶贫车间", "车间"),
    AssetType.ECOMMERCE: ("电商服务", "电商", "电商扶贫服务设施", "电商服务设施"),
    AssetType.PV_STATION: ("光伏电站", "光伏", "光伏扶贫电站", "光伏扶贫"),
    AssetType.EQUITY: ("股权",),
    AssetType.DEBT: ("债权",),
    AssetType.LIVESTOCK: ("生物资产", "生物性资产"),
    # the work plan: 到户类资产包括……生物性资产或固定资产
    AssetType.HOUSEHOLD_FIXED: ("到户固定资产", "固定资产", "到户类固定资产"),
}
STATUS_LABELS: dict[str, tuple[str, ...]] = {
    AssetStatus.UNDER_CONSTRUCTION: ("在建", "建设中"),
    AssetStatus.IN_USE: ("在用", "正常", "使用中", "正常使用"),
    AssetStatus.IDLE: ("闲置",),
    AssetStatus.DAMAGED: ("损坏", "毁损"),
    AssetStatus.DISPOSED: ("已处置", "处置"),
}
OWNER_KIND_LABELS: dict[str, tuple[str, ...]] = {
    OwnerKind.VILLAGE_COLLECTIVE: ("村集体", "村集体所有", "村集体经济组织"),
    OwnerKind.TOWNSHIP: ("乡镇", "乡镇政府", "乡镇人民政府"),
    OwnerKind.STATE: ("行业部门/国有", "国有", "行业部门"),
    OwnerKind.HOUSEHOLD: ("受益户", "农户", "脱贫户"),
    OwnerKind.ENTERPRISE: ("合作社/企业", "企业", "合作社"),
}
REGISTRATION_LABELS: dict[str, tuple[str, ...]] = {
    RegistrationStatus.REGISTERED: ("已确权", "是", "已登记"),
    RegistrationStatus.UNREGISTERED: ("未确权", "否", "未登记"),
}
FUNDING_LABELS: dict[str, tuple[str, ...]] = {
    FundingSourceKind.CENTRAL: ("财政专项扶贫资金（中央）", "中央财政专项扶贫资金", "中央专项扶贫资金", "中央财政资金", "中央"),
    FundingSourceKind.PROVINCIAL: ("财政专项扶贫资金（省级）", "省级财政专项扶贫资金", "省财政专项扶贫资金", "省级", "省"),
    FundingSourceKind.MUNICIPAL: ("财政专项扶贫资金（市级）", "市级财政专项扶贫资金", "市财政专项扶贫资金", "市级", "市"),
    FundingSourceKind.COUNTY: ("财政专项扶贫资金（县级）", "县级财政专项扶贫资金", "县财政专项扶贫资金", "县级", "县"),
    # the work plan's 各级财政专项扶贫资金: the level is often not stated in a ledger
    FundingSourceKind.SPECIAL_UNSTATED: ("财政专项扶贫资金", "各级财政专项扶贫资金", "专项扶贫资金"),
    FundingSourceKind.INTEGRATED: ("统筹整合财政涉农资金", "整合资金", "涉农整合资金", "统筹整合资金"),
    FundingSourceKind.SOCIAL: ("社会扶贫资金", "社会资金"),
    FundingSourceKind.DONATION: ("捐赠", "捐赠资金", "捐赠物资"),
    FundingSourceKind.SECTOR: ("行业扶贫资金", "行业资金"),
}


# Spreadsheet formula injection (OWASP "CSV injection"): a text cell starting with one of these is a formula in
# Excel/WPS/LibreOffice. Exports prefix such text with ' (also text that already starts with ' before one of
# them, so that reading back removes exactly the quote the export added). Plain numbers (-5, +3.2) stay numbers.
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_PROTECTED = re.compile(r"^'+[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def cell_protect(value):
    """Export: '=HYPERLINK(…)' → "'=HYPERLINK(…)"; numbers and other text unchanged."""
    if isinstance(value, str) and _FORMULA.match(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def cell_unprotect(value):
    """Import: remove the quote cell_protect added."""
    if isinstance(value, str) and _PROTECTED.match(value):
        return value[1:]
    return value


def text_key(value: str) -> str:
    """Fold width (full-width brackets and letters), drop all whitespace, lower-case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).lower()


def header_key(value: str) -> str:
    return text_key(value).replace("\ufffd", "").replace("*", "").replace("＊", "")


class _Index(Mapping):
    """text_key(word) → code, for a code written as itself, one of this table's labels, or the register's own
    label of it (Chinese or English, geo_assets.validation.choice_labels): built on first use (the labels need
    the translation catalogues)."""

    def __init__(self, table: dict[str, tuple[str, ...]], choices):
        self.table, self.choices = table, choices

    @cached_property
    def _map(self) -> dict[str, str]:
        from geo_assets.validation import choice_labels

        index: dict[str, str] = {}
        for code, labels in self.table.items():
            index[text_key(code)] = code
            for label in labels:
                index[text_key(label)] = code
        for code, labels in choice_labels(self.choices).items():
            for label in labels:
                index.setdefault(text_key(label), code)
        return index

    def __getitem__(self, key):
        return self._map[key]

    def __iter__(self):
        return iter(self._map)

    def __len__(self):
        return len(self._map)


def accepted(table: dict[str, tuple[str, ...]]) -> str:
    """What an import refusal names: each code's ledger label and code ('道路交通（road）、…')."""
    return "、".join(f"{labels[0]}（{code}）" for code, labels in table.items())


CATEGORY_INDEX = _Index(CATEGORY_LABELS, Category)
TYPE_INDEX = _Index(TYPE_LABELS, AssetType)
STATUS_INDEX = _Index(STATUS_LABELS, AssetStatus)
OWNER_KIND_INDEX = _Index(OWNER_KIND_LABELS, OwnerKind)
REGISTRATION_INDEX = _Index(REGISTRATION_LABELS, RegistrationStatus)
FUNDING_INDEX = _Index(FUNDING_LABELS, FundingSourceKind)
HEADER_INDEX: dict[str, str] = {header_key(c): c for c in TABLE_COLUMNS}
for _column, _variants in HEADER_VARIANTS.items():
    for _variant in _variants:
        HEADER_INDEX.setdefault(header_key(_variant), _column)


def label(table: dict[str, tuple[str, ...]], code: str) -> str:
    return table[code][0] if code in table else (code or "")


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
