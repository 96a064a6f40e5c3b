"""A small county with one user per role and records whose names are markers, for tests that sweep every route.

Every asset name is unique, so a test can tell from a response body which records it shows. The personal data
(custodian, phone, beneficiary, ID number in a note) are markers too, so a test can tell whether they leaked.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import NoReverseMatch, reverse

from geo_assets import services
from geo_assets.taxonomy import AssetType, OwnerKind, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_department, make_user

PHONE = "13912345678"
PERSON = "欧阳永福"
BENEFICIARY = "马永福"
ID_NUMBER = "410324199001011234"
PERSONAL_MARKERS = (PHONE, PERSON, BENEFICIARY, ID_NUMBER)


@dataclass
class World:
    areas: object
    users: dict
    assets: dict
    departments: dict = field(default_factory=dict)

    def visible_names(self, role: str) -> set[str]:
        from geo_assets.models import Asset

        return set(Asset.objects.visible_to(self.users[role]).values_list("name", flat=True))

    def hidden_names(self, role: str) -> set[str]:
        return {a.name for a in self.assets.values()} - self.visible_names(role)


def build_world() -> World:
    areas = make_areas()
    admin = make_admin()
    transport = make_department("交通运输局", [AssetType.ROAD])
    poverty_office = make_department("扶贫办", [AssetType.EQUITY, AssetType.LIVESTOCK])
    common = {"custodian_person": PERSON, "custodian_phone": PHONE, "note": f"身份证 {ID_NUMBER}"}
    assets = {
        "west_road": make_asset(actor=admin, area=areas.west_south, name="西南村标记道路", is_published=True,
                                department=transport, **common),
        "west_equity": make_asset(
            actor=admin, area=areas.west_north, name="西北村标记股权", asset_type=AssetType.EQUITY,
            geometry=centre(areas.west_north), is_published=True, department=poverty_office,
            owners=[services.Share("西北村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("60")),
                    services.Share(BENEFICIARY, OwnerKind.HOUSEHOLD, Decimal("40"))], **common),
        "west_household": make_asset(
            actor=admin, area=areas.west_south, name=f"西南村{BENEFICIARY}到户养殖1号", asset_type=AssetType.LIVESTOCK,
            geometry=centre(areas.west_south), is_published=True, **common),
        "east_road": make_asset(actor=admin, area=areas.east_south, name="东南村标记道路", **common),
        "east_clinic": make_asset(actor=admin, area=areas.east_north, name="东北村标记卫生室",
                                  asset_type=AssetType.HEALTH, **common),
    }
    services.asset_dispose(actor=admin, asset=make_asset(actor=admin, area=areas.east_north, name="东北村标记报废道路"),
                           method="scrap", approval_reference="栾扶资处〔2026〕1号", approved_on=datetime.date(2026, 1, 5))
    services.asset_dispose(actor=admin, asset=make_asset(actor=admin, area=areas.west_south, name="西南村标记报废道路"),
                           method="auction", approval_reference="栾扶资处〔2026〕2号", approved_on=datetime.date(2026, 2, 5))
    from geo_assets.models import Asset

    assets["east_disposed"] = Asset.objects.get(name="东北村标记报废道路")
    assets["west_disposed"] = Asset.objects.get(name="西南村标记报废道路")
    users = {
        "county_admin": admin,
        "superuser": make_user("root", "superuser"),
        "department": make_user("transport", Role.DEPARTMENT, department=transport),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "inspector": make_user("inspector", Role.INSPECTOR),
        "staff_without_role": make_user("nobody", None),
        "anonymous": AnonymousUser(),
    }
    return World(areas=areas, users=users, assets=assets,
                 departments={"transport": transport, "poverty_office": poverty_office})


# ---------------------------------------------------------------- sweeping the admin as every role of the world


ROLES = ("county_admin", "superuser", "department", "township", "village", "inspector", "staff_without_role",
         "anonymous")


def client_for(user) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


def hostile(obj) -> dict:
    """A change of every field: text marked, choices and types widened, the way an attacker would post it."""
    data = {}
    for name, value in model_to_dict(obj).items():
        if isinstance(value, str):
            data[name] = "越权修改"
        elif isinstance(value, list):
            data[name] = list(AssetType.values)
        elif isinstance(value, bool):
            data[name] = "on"
        elif value is None:
            data[name] = ""
        else:
            data[name] = str(getattr(value, "pk", value))
    data.update({"asset_types": list(AssetType.values), "role": "county_admin", "post": "yes", "_save": "1",
                 "is_superuser": "on", "is_staff": "on"})
    return data


def admin_urls(model_admin, obj=None) -> dict[str, str]:
    opts = model_admin.model._meta
    base = f"admin:{opts.app_label}_{opts.model_name}"
    urls = {}
    for name, args in (("changelist", ()), ("add", ())) if obj is None else (
            ("change", (obj.pk,)), ("history", (obj.pk,)), ("delete", (obj.pk,))):
        try:
            urls[name] = reverse(f"{base}_{name}", args=args)
        except NoReverseMatch:
            pass
    if obj is not None and hasattr(obj, "history"):
        version = obj.history.order_by("history_id").first()
        if version is not None:
            urls["version"] = reverse(f"{base}_simple_history", args=[obj.pk, version.history_id])
    return urls
