"""The ledger exchange columns (DESIGN.md §5): their names, the variants accepted on import, the DBF names; and the
columns and vocabularies of the project list (项目库) and the fund ledger (资金台账). The labels of the register's
codes are geo_assets.vocab's; cell protection is geo_assets.spreadsheet's."""

import re

from geo_assets.spreadsheet import cell_protect, cell_unprotect  # noqa: F401  (the importers' vocabulary)
from geo_assets.taxonomy import FundingSourceKind
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
    _Index,
    accepted,
    label,
    text_key,
)
from projects.taxonomy import ProjectKind, ProjectStatus

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
PROJECT_CODE = "项目编号"  # the project (项目库) that formed the asset: linked on import
IMPLEMENTER = "实施单位"
DEPARTMENT = "主管部门"
FUNDING = "资金来源"
INVESTMENT = "投资金额（万元）"
PROJECT_AMOUNT = "项目投入（万元）"  # what that project put into the asset, when stated
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
    CODE, NAME, CATEGORY, TYPE, TOWNSHIP, VILLAGE, AREA_CODE, YEAR, PROJECT, PROJECT_CODE, IMPLEMENTER, DEPARTMENT,
    FUNDING, INVESTMENT, PROJECT_AMOUNT, QUANTITY, UNIT, OWNER_KIND, OWNERS, REGISTRATION, CUSTODIAN, CUSTODIAN_PERSON, PHONE, OPERATOR,
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
    PROJECT_CODE: ("项目代码", "项目编码", "国扶系统项目编码", "所属项目编号", "project_code"),
    PROJECT_AMOUNT: ("本项目资金", "项目投入", "本项目投入", "项目资金", "project_amount"),
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


# A money column's header may name its unit: 下达金额（万元）, 下达金额（元）, 金额(单位：元). Amounts are kept in 万元.
UNIT_WAN, UNIT_YUAN = "万元", "元"
_UNIT = re.compile(r"^(.+?)(?:\((?:单位:?)?(万元|元)\)|(万元|元))$")


def unit_split(key: str) -> tuple[str, str | None]:
    """A header key without its unit, and the unit ('万元', '元' or None): '下达金额(元)' → ('下达金额', '元')."""
    m = _UNIT.match(key)
    return (m.group(1), m.group(2) or m.group(3)) if m else (key, None)


class Schema:
    """The columns of one kind of ledger (assets, projects, fund lines), the header variants accepted for each, which
    of them are amounts (their header may say 元 instead of 万元) and which two name the ledger when no header is
    found (for the message)."""

    def __init__(self, columns: tuple[str, ...], variants: dict[str, tuple[str, ...]], *, money=(), hint=()):
        self.columns = tuple(columns)
        self.variants = variants
        self.money = frozenset(money)
        self.hint = tuple(hint)
        self.index: dict[str, str] = {header_key(c): c for c in self.columns}
        for column, names in variants.items():
            for name in names:
                self.index.setdefault(header_key(name), column)
        self._bare = {}  # a money column's header without its unit → column
        for key, column in list(self.index.items()):
            if column in self.money:
                self._bare.setdefault(unit_split(key)[0], column)

    def column_for_header(self, header: str, mapping: dict[str, str] | None = None) -> str | None:
        """The column a file header stands for: mapping, exact or variant, a money column with its unit, or a DBF
        name cut to 10 bytes."""
        if header is None:
            return None
        raw = str(header)
        if mapping:
            for source, target in mapping.items():
                if header_key(source) == header_key(raw):
                    return self.index.get(header_key(target), target if target in self.columns else None)
        key = header_key(raw)
        if not key:
            return None
        if key in self.index:
            return self.index[key]
        bare, unit = unit_split(key)
        if unit and bare in self._bare:
            return self._bare[bare]
        # Shapefile: DBF names are cut to 10 bytes (5 Chinese characters in GBK, 3 in UTF-8).
        short = len(raw.strip().encode("gbk", "ignore")) <= 10 or len(raw.strip().encode("utf-8", "ignore")) <= 10
        if len(key) >= 2 and short:
            candidates = {col for k, col in self.index.items() if k.startswith(key)}
            if len(candidates) == 1:
                return candidates.pop()
        return None

    def unit_of(self, header: str, column: str) -> str | None:
        """The unit a money column's header names: '万元', '元', or None (not stated: the sheet's, else 万元)."""
        return unit_split(header_key(str(header)))[1] if column in self.money else None


ASSETS = Schema(TABLE_COLUMNS, HEADER_VARIANTS, money=(INVESTMENT, PROJECT_AMOUNT), hint=(NAME, TYPE))
HEADER_INDEX: dict[str, str] = ASSETS.index
column_for_header = ASSETS.column_for_header


SHP_FIELD_NAMES: dict[str, str] = {
    column: column.encode("gbk")[:10].decode("gbk", "ignore") for column in TABLE_COLUMNS
}


# ---------------------------------------------------------------- the project list (项目库)

P_CODE = "项目编号"
P_NAME = "项目名称"
P_YEAR = "年度"
P_KIND = "项目类型"
P_IMPLEMENTER = "组织实施单位"
P_DEPARTMENT = "主管部门"
P_TOWNSHIP = "乡镇"
P_VILLAGES = "受益村"
P_SEAT = "镇区"
P_APPROVAL = "批复文号"
P_STARTED = "开工日期"
P_COMPLETED = "完工日期"
P_ACCEPTED = "竣工验收日期"
P_ACCEPTANCE = "验收文件"
P_STATUS = "项目状态"
P_NOTE = "备注"

PROJECT_COLUMNS: tuple[str, ...] = (
    P_CODE, P_NAME, P_YEAR, P_KIND, P_IMPLEMENTER, P_DEPARTMENT, P_TOWNSHIP, P_VILLAGES, P_SEAT, P_APPROVAL,
    P_STARTED, P_COMPLETED, P_ACCEPTED, P_ACCEPTANCE, P_STATUS, P_NOTE,
)
PROJECT_CODE_VARIANTS = ("项目代码", "项目编码", "国扶系统项目编码", "国扶系统项目编号", "全国防返贫监测信息系统项目编码",
                         "项目库编号", "项目库编码", "入库编号", "project_code", "code")
PROJECT_VARIANTS: dict[str, tuple[str, ...]] = {
    P_CODE: PROJECT_CODE_VARIANTS,
    P_NAME: ("项目名", "名称", "项目", "项目名称(内容)", "name"),
    P_YEAR: ("项目年度", "实施年度", "计划年度", "立项年度", "年份", "项目年份", "year"),
    P_KIND: ("项目类别", "类型", "项目性质", "项目分类", "kind"),
    P_IMPLEMENTER: ("实施单位", "项目实施单位", "实施主体", "建设单位", "项目实施主体"),
    P_DEPARTMENT: ("牵头部门", "行业主管部门", "主管单位", "业务主管部门", "项目主管部门", "department"),
    P_TOWNSHIP: ("所属乡镇", "乡镇名称", "实施乡镇", "项目乡镇", "乡(镇)", "township"),
    P_VILLAGES: ("实施村", "受益村(社区)", "项目村", "实施地点", "建设地点", "所属村", "村", "受益村名称", "villages"),
    P_SEAT: ("是否镇区", "集镇", "是否集镇", "乡镇驻地", "镇区项目", "township_seat"),
    P_APPROVAL: ("立项批复文号", "项目批复文号", "批复文件", "批复文件文号", "立项文号"),
    P_STARTED: ("开工时间", "开工", "实际开工日期", "开工年月"),
    P_COMPLETED: ("完工时间", "完工", "竣工日期", "竣工时间", "实际完工日期"),
    P_ACCEPTED: ("验收日期", "验收时间", "竣工验收时间", "竣工验收"),
    P_ACCEPTANCE: ("验收文号", "竣工验收文件", "验收报告", "验收文件文号", "竣工验收文号"),
    P_STATUS: ("状态", "实施状态", "实施进度", "进度", "status"),
    P_NOTE: ("说明", "备注说明", "note"),
}
PROJECTS = Schema(PROJECT_COLUMNS, PROJECT_VARIANTS, hint=(P_CODE, P_NAME))

# Project kinds and statuses in the ledgers' words (first label written, all accepted; the register's own Chinese
# and English labels of the codes are accepted too).
PROJECT_KIND_LABELS: dict[str, tuple[str, ...]] = {
    ProjectKind.INFRASTRUCTURE: ("村基础设施", "基础设施", "基础设施类", "村级基础设施", "基础设施建设", "乡村建设"),
    ProjectKind.INDUSTRY: ("产业发展", "产业发展类", "产业", "产业项目", "产业扶贫"),
    ProjectKind.HOUSEHOLD: ("到户扶持", "到户类", "到户", "到户产业", "到户项目"),
    ProjectKind.COLLECTIVE: ("村集体经济", "壮大村集体经济", "集体经济", "发展村集体经济"),
    ProjectKind.PV: ("光伏扶贫", "光伏", "光伏电站"),
    ProjectKind.EMPLOYMENT: ("就业扶贫", "扶贫车间", "就业", "就业帮扶"),
    ProjectKind.EDUCATION: ("教育扶贫", "教育"),
    ProjectKind.HEALTH: ("健康扶贫", "卫生", "医疗卫生", "健康"),
    ProjectKind.CULTURE: ("文化体育", "文化", "体育", "文体"),
    ProjectKind.EQUITY: ("入股分红", "股权投资", "股权", "资产收益"),
    ProjectKind.CARE: ("托养", "残疾人托养", "托养中心", "助残"),
    ProjectKind.RELOCATION: ("易地扶贫搬迁", "易地搬迁"),
    ProjectKind.INTEREST_SUBSIDY: ("贴息", "小额信贷贴息", "扶贫小额信贷贴息", "贷款贴息"),
    ProjectKind.INSURANCE: ("保险", "防贫保险", "产业保险"),
    ProjectKind.GUARANTEE: ("风险保证金", "风险补偿金", "担保金"),
    ProjectKind.DIRECT_SUBSIDY: ("直接补贴", "补贴", "生活补助", "补助"),
    ProjectKind.OTHER: ("其他", "其它"),
}
PROJECT_STATUS_LABELS: dict[str, tuple[str, ...]] = {
    ProjectStatus.PLANNED: ("计划", "未开工", "拟实施", "储备", "待实施"),
    ProjectStatus.UNDER_WAY: ("在建", "实施中", "已开工", "建设中", "正在实施"),
    ProjectStatus.COMPLETED: ("已完工", "完工", "已竣工", "竣工"),
    ProjectStatus.ACCEPTED: ("已验收", "竣工验收", "已竣工验收", "验收"),
    ProjectStatus.CANCELLED: ("取消", "已取消", "终止", "已终止"),
}
PROJECT_KIND_INDEX = _Index(PROJECT_KIND_LABELS, ProjectKind)
PROJECT_STATUS_INDEX = _Index(PROJECT_STATUS_LABELS, ProjectStatus)
# several villages in one cell
VILLAGE_SEPARATORS = re.compile(r"[、,，;；/\n\r]+|\s{2,}")
# the township seat flag (镇区 column): yes (是, √, …) or no; in the villages cell, these words mean the seat
SEAT_YES = ("是", "√", "✓", "y", "yes", "1", "true", "镇区", "集镇")
SEAT_NO = ("否", "×", "n", "no", "0", "false", "")
SEAT_WORDS = ("镇区", "集镇", "集镇区", "乡镇驻地", "镇区所在地", "乡镇所在地")

# ---------------------------------------------------------------- the fund ledger (资金台账)

F_PROJECT = "项目编号"
F_PROJECT_NAME = "项目名称"  # read for the clerk's eye only: the project is the one of its code
F_SOURCE = "资金来源"
F_LEVEL = "资金级次"
F_DOCUMENT = "文号"
F_YEAR = "下达年度"
F_ALLOCATED = "下达金额（万元）"
F_DISBURSED = "支出金额（万元）"
F_NOTE = "备注"

FUND_COLUMNS: tuple[str, ...] = (F_PROJECT, F_PROJECT_NAME, F_SOURCE, F_LEVEL, F_DOCUMENT, F_YEAR, F_ALLOCATED,
                                 F_DISBURSED, F_NOTE)
FUND_VARIANTS: dict[str, tuple[str, ...]] = {
    F_PROJECT: PROJECT_CODE_VARIANTS,
    F_PROJECT_NAME: ("项目名", "名称", "项目"),
    F_SOURCE: ("资金性质", "资金类别", "资金类型", "资金渠道", "资金来源及性质", "资金名称", "source"),
    F_LEVEL: ("级次", "资金级别", "财政级次", "层级", "level"),
    F_DOCUMENT: ("资金文号", "指标文号", "下达文号", "文件号", "指标文件", "资金下达文号", "指标文件文号", "document"),
    F_YEAR: ("资金年度", "下达年份", "指标年度", "年度", "year"),
    F_ALLOCATED: ("下达金额", "到位资金", "下达资金", "到位金额", "指标金额", "安排资金", "批复金额", "资金规模",
                  "下达资金额", "allocated"),
    F_DISBURSED: ("支出金额", "已支出", "支出", "拨付金额", "已拨付", "实际支出", "报账金额", "已报账", "支出资金",
                  "累计支出", "disbursed"),
    F_NOTE: ("说明", "备注说明", "note"),
}
FUNDS = Schema(FUND_COLUMNS, FUND_VARIANTS, money=(F_ALLOCATED, F_DISBURSED), hint=(F_PROJECT, F_SOURCE))

# The fund ledger's source names (first label written): the register's funding vocabulary, the work plan's wording
# of each level, donated goods at their value, other money.
FUND_SOURCE_LABELS: dict[str, tuple[str, ...]] = {
    FundingSourceKind.CENTRAL: (*FUNDING_LABELS[FundingSourceKind.CENTRAL], "中央财政专项", "中央财政衔接推进乡村振兴补助资金",
                                "中央衔接资金"),
    FundingSourceKind.PROVINCIAL: (*FUNDING_LABELS[FundingSourceKind.PROVINCIAL], "省级财政专项", "省级衔接资金"),
    FundingSourceKind.MUNICIPAL: (*FUNDING_LABELS[FundingSourceKind.MUNICIPAL], "市级财政专项", "市级衔接资金"),
    FundingSourceKind.COUNTY: (*FUNDING_LABELS[FundingSourceKind.COUNTY], "县级财政专项", "县级衔接资金"),
    FundingSourceKind.SPECIAL_UNSTATED: (*FUNDING_LABELS[FundingSourceKind.SPECIAL_UNSTATED], "财政专项", "衔接资金"),
    FundingSourceKind.INTEGRATED: (*FUNDING_LABELS[FundingSourceKind.INTEGRATED], "统筹整合涉农资金"),
    FundingSourceKind.SOCIAL: (*FUNDING_LABELS[FundingSourceKind.SOCIAL], "社会帮扶资金", "东西部协作资金", "定点帮扶资金"),
    FundingSourceKind.DONATION: ("捐赠实物（折价）", *FUNDING_LABELS[FundingSourceKind.DONATION], "捐赠实物",
                                 "捐赠实物(折价)", "实物捐赠", "捐赠物资折价"),
    FundingSourceKind.SECTOR: FUNDING_LABELS[FundingSourceKind.SECTOR],
    FundingSourceKind.OTHER: ("其他", *FUNDING_LABELS[FundingSourceKind.OTHER], "自筹资金", "自筹"),
}
FUND_SOURCE_INDEX = _Index(FUND_SOURCE_LABELS, FundingSourceKind)
# A level in its own column (资金级次) turns "财政专项扶贫资金" into the level's source.
FUND_LEVELS: dict[str, str] = {
    "中央": FundingSourceKind.CENTRAL, "中央级": FundingSourceKind.CENTRAL,
    "省": FundingSourceKind.PROVINCIAL, "省级": FundingSourceKind.PROVINCIAL,
    "市": FundingSourceKind.MUNICIPAL, "市级": FundingSourceKind.MUNICIPAL,
    "县": FundingSourceKind.COUNTY, "县级": FundingSourceKind.COUNTY,
}
