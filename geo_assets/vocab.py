"""The register's codes in the Chinese wording of the county's ledgers: for each code its labels, the first one
written on export and the others accepted on import, in the API's filters and the map's. Data, not interface: these
words are read from and written to ledgers in either interface language (tests/test_i18n.py lists this module).
"""

import functools
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
    FundingSourceKind.DONATION: ("捐赠", "捐赠资金", "捐赠物资", "捐赠实物", "捐赠实物（折价）"),
    FundingSourceKind.SECTOR: ("行业扶贫资金", "行业资金"),
    FundingSourceKind.OTHER: ("其他资金", "其他", "其它"),
}


def text_key(value: str) -> str:
    """Fold width (full-width brackets and letters), drop all whitespace, lower-case."""
    return _text_key(str(value))


@functools.lru_cache(maxsize=65536)  # a ledger repeats its labels, villages and sources on every row
def _text_key(value: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", value)).lower()


_SPACE = re.compile(r"\s+")


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


def label(table: dict[str, tuple[str, ...]], code: str) -> str:
    return table[code][0] if code in table else (code or "")
