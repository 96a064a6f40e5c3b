"""Issue 21 item 8: a publicity notice's frozen snapshot goes through the personal-data rule for every stage —
recipients of every purpose, owners of every kind, a disposal's free words, the title — when it is frozen and
again when it is shown (notices frozen before the rule held raw data), on its page and in its PDF."""

import datetime
import importlib
import json
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from geo_assets import services
from geo_assets.models import Asset, DistributionItem, DistributionPlan, OwnerShare, PublicityNotice
from geo_assets.privacy import mask_people
from geo_assets.taxonomy import AssetType, OwnerKind, PlanPurpose, PublicityScope, PublicityStage, Role
from lifecycle import services as lifecycle_services
from tests.factories import make_admin, make_areas, make_asset, make_user

RECIPIENT = "王小明 410324199001011234 13812345678"
MARKERS = ("王小明", "410324199001011234", "13812345678")
MASKED = "王*明"
BODY = "西南村村民委员会"
TODAY = timezone.localdate()


@pytest.fixture
def notices(db):
    """One notice per stage frozen by the service's own snapshot, and one per stage frozen raw (as before the
    rule), each naming the recipient everywhere it can."""
    areas = make_areas()
    admin = make_admin()
    village = areas.west_south
    make_asset(actor=admin, area=village, name=f"{RECIPIENT}的光伏", asset_type=AssetType.PV_STATION,
               custodian_person="王小明", owners=[services.Share("村集体", OwnerKind.VILLAGE_COLLECTIVE, Decimal("100"))])
    owned = make_asset(actor=admin, area=village, name="股权甲", asset_type=AssetType.EQUITY,
                       owners=[services.Share(f"股东{kind}", kind, Decimal("20")) for kind in OwnerKind.values])
    for i, share in enumerate(OwnerShare.objects.filter(asset=owned).exclude(owner_kind=OwnerKind.VILLAGE_COLLECTIVE)):
        OwnerShare.objects.filter(pk=share.pk).update(owner_name=f"{RECIPIENT}（{i}）")
    OwnerShare.objects.filter(asset=owned, owner_kind=OwnerKind.VILLAGE_COLLECTIVE).update(owner_name=BODY)
    plan = DistributionPlan.objects.create(village=village, year=TODAY.year - 1, total=Decimal("8"),
                                           created_by=admin)
    for purpose in PlanPurpose.values:
        DistributionItem.objects.create(plan=plan, purpose=purpose, amount=Decimal("1"), recipient=RECIPIENT)
    DistributionItem.objects.create(plan=plan, purpose=PlanPurpose.COLLECTIVE, amount=Decimal("1"), recipient=BODY)
    gone = make_asset(actor=admin, area=village, name="王小明门前道路", custodian_person="王小明")
    services.asset_dispose(actor=admin, asset=gone, method="auction", approval_reference="栾政〔2026〕1号",
                           approved_on=TODAY)
    disposal = Asset.objects.get(pk=gone.pk).disposal
    type(disposal).objects.filter(pk=disposal.pk).update(new_project=RECIPIENT)
    disposal.refresh_from_db()
    frozen, raw = {}, {}
    for stage in PublicityStage.values:
        links = {"plan": plan if stage == PublicityStage.INCOME_PLAN else None,
                 "disposal": disposal if stage == PublicityStage.DISPOSAL else None}
        fields = {"stage": stage, "scope": PublicityScope.VILLAGE_BOARD, "area": village,
                  "title": f"{village.name}公示（联系人 {RECIPIENT}）", "starts_on": TODAY,
                  "ends_on": TODAY + datetime.timedelta(days=9), "posted_by": admin, "posted_at": timezone.now(),
                  **links}
        frozen[stage] = PublicityNotice.objects.create(snapshot=lifecycle_services._snapshot(stage, village, **links), **fields)
        raw[stage] = PublicityNotice.objects.create(snapshot=raw_snapshot(stage), **fields)
    return {"frozen": frozen, "raw": raw, "areas": areas, "admin": admin}


def raw_snapshot(stage: str) -> dict:
    """A snapshot as frozen before the rule covered every stage: the recipient written into every field."""
    if stage == PublicityStage.INCOME_PLAN:
        return {"village": "西南村", "year": 2025, "total": "8", "items": [
            {"purpose": str(label), "amount": "1", "recipient": RECIPIENT} for label in PlanPurpose.labels]}
    if stage == PublicityStage.DISPOSAL:
        return {"asset": "410324101001-0009", "name": "王*明门前道路 13812345678", "reason": "", "assessed_value": "2",
                "approval": "栾政〔2026〕1号 410324199001011234", "method": "拍卖", "proceeds": "1", "new_project": RECIPIENT}
    # asset names were public names (privacy.asset_public_name) from the start: numbers are what they may still hold
    return {"area": "西南村", "assets": [{"code": "410324101001-0001", "name": "王*明的光伏 13812345678", "type": "光伏电站",
                                        "investment": "10", "status": "正常", "owner_kind": "村集体",
                                        "registration": "已确权", "owners": [{"owner": RECIPIENT, "share": "100"}]}]}


def leaked(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


@pytest.mark.parametrize("stage", PublicityStage.values)
def test_every_stages_snapshot_is_frozen_through_the_rule(notices, stage):
    snapshot = json.dumps(notices["frozen"][stage].snapshot, ensure_ascii=False)
    assert not leaked(snapshot)
    assert MASKED in snapshot  # the recipient, owner or free words are there, masked
    if stage in (PublicityStage.INCOME_PLAN, PublicityStage.OWNERSHIP):
        assert BODY in snapshot  # groups and bodies are kept as written


def pdf_text(body: bytes) -> str:
    pdftotext = shutil.which("pdftotext") or "/usr/bin/pdftotext"
    return subprocess.run([pdftotext, "-", "-"], input=body, capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize("kind", ["frozen", "raw"])
@pytest.mark.parametrize("stage", PublicityStage.values)
def test_every_stages_page_and_pdf_show_no_personal_data(notices, stage, kind):
    notice = notices[kind][stage]
    page = Client().get(f"/notices/{notice.token}/")
    assert page.status_code == 200
    assert not leaked(page.content.decode()) and MASKED in page.content.decode()
    pdf = Client().get(f"/notices/{notice.token}.pdf")
    assert pdf.status_code == 200
    text = pdf_text(pdf.content).replace("\n", "")
    assert not leaked(text) and MASKED in text


@pytest.mark.parametrize("role", ["anonymous", "village"])
def test_the_notice_list_and_page_for_staff_and_public(notices, role):
    client = Client()
    village = notices["areas"].west_south
    if role == "village":
        client.force_login(make_user("clerk", Role.VILLAGE, area=village))
    listing = client.get(f"/villages/{village.code}/notices/").content.decode()
    assert not leaked(listing) if role == "anonymous" else "王小明" in listing
    assert ('href="/todo/"' in listing) == (role != "anonymous")  # no link to a staff page the public is refused
    if role == "village":
        for notice in notices["raw"].values():
            page = client.get(f"/villages/{village.code}/notices/{notice.pk}/")
            assert page.status_code == 200
            assert not leaked(page.content.decode())  # the snapshot as posted: the public's version


def test_the_migration_rewrites_old_snapshots(notices):
    migration = importlib.import_module("geo_assets.migrations.0011_redact_notice_snapshots")
    migration.redact(apps, None)
    for notice in notices["raw"].values():
        notice.refresh_from_db()
        assert not leaked(json.dumps(notice.snapshot, ensure_ascii=False))
    assert notices["raw"][PublicityStage.OWNERSHIP].snapshot["assets"][0]["owners"][0]["owner"] == "王*明 *** ***"


@pytest.mark.parametrize("text, public", [
    (RECIPIENT, "王*明 *** ***"), ("村集体", "村集体"), ("王小明等5户", "王*明等5户"), ("王*明 *** ***", "王*明 *** ***"),
    (BODY, BODY), ("欧阳小明", "欧**明"), ("公益岗位人员（3人）", "公益岗位人员（3人）"), ("全体脱贫户", "全体脱贫户"),
    ("李四、张三丰", "李*、张*丰"), ("栾川县绿源农业有限公司", "栾川县绿源农业有限公司"), ("0379-66812345", "***")])
def test_mask_people(text, public):
    assert mask_people(text) == public


def test_the_ownership_notice_writes_shares_as_people_write_them(notices):
    notice = notices["frozen"][PublicityStage.OWNERSHIP]
    assert {o["share"] for a in notice.snapshot["assets"] for o in a["owners"]} >= {"20.000"}  # as frozen
    page = Client().get(f"/notices/{notice.token}/").content.decode()
    assert " 20%" in page and ".000%" not in page
