"""What the public may see of the people behind an asset — the one rule, used by every output.

The public (anonymous visitors and accounts without a role) never sees phone numbers, ID numbers or free-text
notes, and sees names of individuals masked (张*福, 张*). Household assets (到户类) are named after their
beneficiary in practice, so the public sees them under a neutral name: village, type and number. Staff roles see
personal data of the assets their role lets them see. See the README's "Roles" table.
"""

import re

from django.utils import translation

from geo_assets.taxonomy import Category, OwnerKind

_PHONE_OR_ID = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dXx]|\d{15}|0\d{2,3}-?\d{7,8})(?!\d)")


def mask_person(name: str | None) -> str:
    """张三丰 → 张*丰, 张三 → 张*, 欧阳小明 → 欧**明."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_numbers(text: str | None) -> str:
    """Remove mobile, landline and ID numbers from free text."""
    return _PHONE_OR_ID.sub("***", text or "")


# Words that make a recipient or an owner a group or a body rather than a person: kept as written (the Chinese a clerk
# writes, matched in either interface language: data).
_BODY_WORDS = ("村", "委员会", "委会", "合作社", "集体", "公司", "全体", "小组", "组", "岗", "企业", "中心", "学校", "基金",  # i18n: data
               "协会", "政府", "局", "站", "厂", "队", "社", "所", "院", "办", "部", "脱贫户", "监测户", "农户", "低保户",  # i18n: data
               "五保户", "困难户", "贫困户", "群众", "人员", "村民", "股东", "项目", "工程", "道路", "设施", "公示", "联系人",  # i18n: data
               "负责人", "电话", "方案", "台账", "结果")  # i18n: data
_PIECES = re.compile(r"([\s,，、;；:：/|（）()\[\]【】]+)")  # i18n: data
_PERSON = re.compile(r"(?P<name>[\u4e00-\u9fff·]{2,4}?)(?P<tail>等\d*[户人家]?|户|家|同志|先生|女士)?")  # i18n: data


def mask_people(text: str | None) -> str:
    """A recipient or an owner as written by a clerk (「王小明 410324199001011234 13812345678」, 「村集体」, 「王小明等5户」):
    ID and phone numbers removed, each part that reads as a person's name masked (王*明 *** ***), groups and bodies
    kept. Already-masked names stay as they are, so it may run twice."""
    parts = _PIECES.split(mask_numbers(text))
    for i, part in enumerate(parts):
        match = _PERSON.fullmatch(part)
        if match and not any(word in part for word in _BODY_WORDS):
            parts[i] = mask_person(match["name"]) + (match["tail"] or "")
    return "".join(parts)


# Keys of a notice's snapshot (lifecycle.services._snapshot) that hold a person or a clerk's free words about
# one (what a disposal's proceeds pay for), and those that hold codes and figures (left alone); every other text
# goes through mask_numbers.
SNAPSHOT_PEOPLE = frozenset({"recipient", "owner", "new_project"})
SNAPSHOT_FIGURES = frozenset({"code", "asset", "year", "total", "amount", "investment", "share", "assessed_value",
                              "proceeds"})


def public_snapshot(snapshot, key: str = ""):
    """A publicity notice's frozen snapshot as the public may read it, whatever its stage and whenever it was frozen:
    recipients and owners through mask_people, every other text through mask_numbers. Applied when a notice is
    frozen and again when it is shown (notices frozen before this rule hold raw data)."""
    if isinstance(snapshot, dict):
        return {k: public_snapshot(v, k) for k, v in snapshot.items()}
    if isinstance(snapshot, list):
        return [public_snapshot(v, key) for v in snapshot]
    if not isinstance(snapshot, str) or key in SNAPSHOT_FIGURES:
        return snapshot
    return mask_people(snapshot) if key in SNAPSHOT_PEOPLE else mask_numbers(snapshot)


def asset_public_name(asset) -> str:
    """The name the public sees. Stored on the asset by services.asset_save (Asset.public_name)."""
    if asset.category == Category.HOUSEHOLD:
        with translation.override("zh-hans"):
            label = str(asset.get_asset_type_display())
        village = asset.village.name if asset.village_id and asset.village else ""
        number = asset.code.rsplit("-", 1)[-1] if asset.code else ""
        # stored on the asset (Asset.public_name) and searched like its name: Chinese in either interface language
        return f"{village}{label}{number and f'（{number}号）'}"  # i18n: data
    name = asset.name or ""
    person = (asset.custodian_person or "").strip()
    if len(person) >= 2:
        name = name.replace(person, mask_person(person))
    return mask_numbers(name)


class Redactor:
    """Applies the rule for one viewer: `Redactor(scope).phone(value)` and so on."""

    def __init__(self, scope):
        self.full = scope.sees_personal_data

    def person(self, name: str | None) -> str:
        return (name or "") if self.full else mask_person(name)

    def phone(self, phone: str | None) -> str:
        return (phone or "") if self.full else ""

    def text(self, text: str | None) -> str:
        """Free text (notes): staff only."""
        return (text or "") if self.full else ""

    def asset_name(self, asset) -> str:
        if self.full:
            return asset.name
        return asset.public_name or asset_public_name(asset)

    def owner_name(self, name: str, kind: str) -> str:
        if self.full or kind != OwnerKind.HOUSEHOLD:
            return name
        return mask_person(name)
