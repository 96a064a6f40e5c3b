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


def asset_public_name(asset) -> str:
    """The name the public sees. Stored on the asset by services.asset_save (Asset.public_name)."""
    if asset.category == Category.HOUSEHOLD:
        with translation.override("zh-hans"):
            label = str(asset.get_asset_type_display())
        village = asset.village.name if asset.village_id and asset.village else ""
        number = asset.code.rsplit("-", 1)[-1] if asset.code else ""
        return f"{village}{label}{number and f'（{number}号）'}"
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
