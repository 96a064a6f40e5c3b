"""A county with every lifecycle record, built through the services, for the lifecycle page tests (HTML and browser)."""

import datetime
import io
import zipfile
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from geo_assets import services
from geo_assets.taxonomy import (
    AssetType,
    OwnerKind,
    PublicityScope,
    PublicityStage,
    Role,
)
from lifecycle import services as lifecycle_services
from tests.factories import centre, make_admin, make_areas, make_asset, make_department, make_user

TODAY = timezone.localdate()


DAY = datetime.timedelta(days=1)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


PHONE = "13912345678"


def pdf(name="扫描件.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def docx(name="会议记录.docx"):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return SimpleUploadedFile(name, out.getvalue())


def d(value: datetime.date) -> str:
    return value.isoformat()


def county_roles(areas, admin):
    """The poverty office (equity, workshops, PV) and a user of each role the lifecycle tests act as."""
    office = make_department("扶贫办", [AssetType.EQUITY, AssetType.WORKSHOP, AssetType.PV_STATION])
    return office, {
        "county": admin,
        "department": make_user("fupinban", Role.DEPARTMENT, department=office),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "other_village": make_user("eastsouth", Role.VILLAGE, area=areas.east_south),
        "inspector": make_user("inspector", Role.INSPECTOR),
    }


def build_county():
    """Four villages, a role of each kind, an equity stake (60/40) and a PV station in 西南村."""
    areas = make_areas()
    admin = make_admin()
    office, users = county_roles(areas, admin)
    equity = make_asset(actor=admin, area=areas.west_south, name="西南村合作社股权", asset_type=AssetType.EQUITY,
                        geometry=centre(areas.west_south), is_published=True, owners=[
                            services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("60")),
                            services.Share("西镇人民政府", OwnerKind.TOWNSHIP, Decimal("40"))])
    pv = make_asset(actor=admin, area=areas.west_south, name="西南村光伏电站", asset_type=AssetType.PV_STATION,
                    geometry=centre(areas.west_south), is_published=True, custodian_unit="西南村村民委员会",
                    custodian_person="欧阳小明", custodian_phone=PHONE,
                    owners=[services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("100"))])
    return areas, users, office, {"equity": equity, "pv": pv}


def as_(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def page(response) -> str:
    return response.content.decode()


def step(asset, name=""):
    return f"/assets/{asset.code}/lifecycle/{name and name + '/'}"


def full_life(county):
    """The PV station through every workflow: each kind of event on its timeline."""
    from verification.models import Verification

    areas, users, _office, assets = county
    pv, village = assets["pv"], users["village"]
    lifecycle_services.handover_record(actor=village, asset=pv, signed_on=TODAY - 30 * DAY, handed_over_by="西镇人民政府",
                              received_by="西南村村民委员会", custodian="欧阳小明", scan=("责任书.pdf", PDF))
    registration = lifecycle_services.ownership_submit(actor=village, asset=pv)
    lifecycle_services.ownership_decide(actor=users["county"], registration=registration, confirm=True)
    lifecycle_services.maintenance_record(actor=village, asset=pv, done_on=TODAY - 20 * DAY, kind="repair", cost=Decimal("0.3"),
                                 done_by="欧阳小明", description=f"联系 {PHONE} 更换逆变器", photos=[("现场.png", PNG)])
    lifecycle_services.custodian_change(actor=village, asset=pv, effective_on=TODAY - 19 * DAY, unit="光伏运维公司",
                               person="李大山", phone=PHONE)
    lifecycle_services.welfare_post_record(actor=village, asset=pv, holder="王小五", from_poor_household=True,
                                  starts_on=TODAY - 18 * DAY, monthly_pay=Decimal("500"))
    lifecycle_services.contract_record(actor=village, asset=pv, operator="甲公司", number="HT-1", starts_on=TODAY - 17 * DAY,
                              ends_on=TODAY + 300 * DAY, yearly_due=Decimal("3"), mechanism="收益归村集体")
    lifecycle_services.income_record(actor=village, asset=pv, year=TODAY.year - 1, amount=Decimal("3"),
                            received_on=TODAY - 16 * DAY)
    Verification.objects.create(asset=pv, verifier=users["inspector"], finding="intact", position=centre(areas.west_south),
                                accuracy_m=5, observed_at=timezone.now() - 15 * DAY, review="accepted")
    lifecycle_services.notice_record_paper(actor=village, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                  area=areas.west_south, starts_on=TODAY - 14 * DAY, ends_on=TODAY - 7 * DAY,
                                  photo=("公示栏.png", PNG), reason="张贴后补录")
    disposal = lifecycle_services.disposal_request(actor=village, asset=pv, reason="end_of_life", note="已到年限")
    lifecycle_services.disposal_assess(actor=users["department"], disposal=disposal, value=Decimal("1"), assessor="评估所",
                              assessed_on=TODAY, report=("评估.pdf", PDF))
    lifecycle_services.disposal_approve(actor=users["county"], disposal=disposal, authority="县政府", reference="栾政〔2026〕9号",
                               approved_on=TODAY, document=("批复.pdf", PDF))
    lifecycle_services.disposal_execute(actor=village, disposal=disposal, method="scrap", executed_on=TODAY)
    return pv


def build_rules_county():
    areas = make_areas()
    admin = make_admin()
    office = make_department("扶贫办", [AssetType.EQUITY, AssetType.WORKSHOP, AssetType.PV_STATION])
    roads = make_department("交通运输局", [AssetType.ROAD])
    users = {
        "county": admin,
        "department": make_user("fupinban", Role.DEPARTMENT, department=office),
        "roads": make_user("roads", Role.DEPARTMENT, department=roads),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
    }
    pv = make_asset(actor=admin, area=areas.west_south, name="西南村光伏电站", asset_type=AssetType.PV_STATION,
                    geometry=centre(areas.west_south))
    services.asset_update(actor=admin, asset=pv, changes={"custodian_unit": "西南村村委", "operator": "甲公司",
                                                         "owner_kind": OwnerKind.VILLAGE_COLLECTIVE})
    return areas, users, {"office": office, "roads": roads}, pv


def build_service_county():
    areas = make_areas()
    admin = make_admin()
    office, users = county_roles(areas, admin)
    equity = make_asset(actor=admin, area=areas.west_south, name="西南村合作社股权", asset_type=AssetType.EQUITY,
                        geometry=centre(areas.west_south), owners=[
                            services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("60")),
                            services.Share("西镇人民政府", OwnerKind.TOWNSHIP, Decimal("40"))])
    pv = make_asset(actor=admin, area=areas.west_south, name="西南村光伏电站", asset_type=AssetType.PV_STATION,
                    geometry=centre(areas.west_south))
    return areas, users, office, {"equity": equity, "pv": pv}
