"""Each lifecycle workflow end to end through the services, with every refusal: wrong role, wrong order, missing
document, shares not 100 %, publicity period too short, objection unanswered."""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from geo_assets import services
from geo_assets.models import Asset, Attachment
from geo_assets.taxonomy import (
    AssetStatus,
    AssetType,
    DisposalStatus,
    PlanPurpose,
    PlanStatus,
    PublicityScope,
    PublicityStage,
    RegistrationStatus,
)
from lifecycle import selectors
from lifecycle import services as lifecycle_services
from lifecycle.services import PlanLine
from tests.factories import centre, make_asset

PDF = ("批复.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
PNG = ("公示栏.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def docx() -> tuple[str, bytes]:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return "会议记录.docx", out.getvalue()


def test_ownership_registration_is_submitted_then_confirmed_by_the_department(service_county):
    _areas, users, _office, assets = service_county
    equity = assets["equity"]
    with pytest.raises(PermissionDenied):
        lifecycle_services.ownership_submit(actor=users["other_village"], asset=equity)
    registration = lifecycle_services.ownership_submit(actor=users["village"], asset=equity)
    with pytest.raises(ValidationError, match="等待主管部门确认"):
        lifecycle_services.ownership_submit(actor=users["village"], asset=equity)
    with pytest.raises(PermissionDenied, match="主管行业部门"):
        lifecycle_services.ownership_decide(actor=users["township"], registration=registration, confirm=True)
    with pytest.raises(ValidationError, match="责任书"):
        lifecycle_services.ownership_decide(actor=users["department"], registration=registration, confirm=True)
    with pytest.raises(ValidationError, match="扫描件"):
        lifecycle_services.handover_record(actor=users["village"], asset=equity, signed_on=TODAY, handed_over_by="西镇人民政府",
                                  received_by="西南村村民委员会", custodian="西南村村民委员会", scan=None)
    lifecycle_services.handover_record(actor=users["village"], asset=equity, signed_on=TODAY, handed_over_by="西镇人民政府",
                              received_by="西南村村民委员会", custodian="西南村村民委员会", scan=PDF)
    asset = lifecycle_services.ownership_decide(actor=users["department"], registration=registration, confirm=True)
    assert asset.registration_status == RegistrationStatus.REGISTERED
    assert asset.history.latest("history_date").history_user == users["department"]


def test_equity_shares_must_add_up_to_100_before_registration(service_county):
    areas, users, _office, _assets = service_county
    stake = make_asset(actor=users["county"], area=areas.west_south, name="残缺股权", asset_type=AssetType.EQUITY,
                       geometry=centre(areas.west_south), owners=[])
    with pytest.raises(ValidationError, match="合计 100%"):
        lifecycle_services.ownership_submit(actor=users["village"], asset=stake)


def test_a_returned_registration_needs_a_reason(service_county):
    _areas, users, _office, assets = service_county
    registration = lifecycle_services.ownership_submit(actor=users["village"], asset=assets["equity"])
    with pytest.raises(ValidationError, match="理由"):
        lifecycle_services.ownership_decide(actor=users["department"], registration=registration, confirm=False)
    lifecycle_services.ownership_decide(actor=users["department"], registration=registration, confirm=False,
                               comment="占股比例与协议不符")
    lifecycle_services.ownership_submit(actor=users["village"], asset=assets["equity"])  # may be submitted again


def test_custody_log_custodian_change_and_posts(service_county):
    _areas, users, _office, assets = service_county
    pv = assets["pv"]
    with pytest.raises(ValidationError, match="超出允许范围"):
        lifecycle_services.maintenance_record(actor=users["village"], asset=pv, done_on=TODAY + DAY, kind="repair",
                                     cost=Decimal("0.3"), done_by="运维公司", description="更换逆变器")
    entry = lifecycle_services.maintenance_record(actor=users["village"], asset=pv, done_on=TODAY, kind="repair",
                                         cost=Decimal("0.3"), done_by="运维公司", description="更换逆变器",
                                         photos=[("现场.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)])
    assert selectors.attachments_of(entry).count() == 1
    with pytest.raises(ValidationError, match="类型不受支持"):
        lifecycle_services.maintenance_record(actor=users["village"], asset=pv, done_on=TODAY, kind="routine", cost=0,
                                     done_by="村委", description="清扫", photos=[("x.exe", b"MZ\x90\x00")])
    lifecycle_services.custodian_change(actor=users["village"], asset=pv, effective_on=TODAY, unit="光伏运维公司", person="李四")
    pv.refresh_from_db()
    assert (pv.custodian_unit, pv.custodian_person) == ("光伏运维公司", "李四")
    lifecycle_services.welfare_post_record(actor=users["village"], asset=pv, holder="王五", from_poor_household=True,
                                  starts_on=TODAY, monthly_pay=Decimal("500"))
    with pytest.raises(PermissionDenied):
        lifecycle_services.welfare_post_record(actor=users["inspector"], asset=pv, holder="赵六", from_poor_household=True,
                                      starts_on=TODAY, monthly_pay=Decimal("500"))


def test_operation_contract_warnings(service_county):
    _areas, users, _office, assets = service_county
    pv = assets["pv"]
    with pytest.raises(ValidationError, match="晚于开始"):
        lifecycle_services.contract_record(actor=users["village"], asset=pv, operator="甲公司", number="HT-1", starts_on=TODAY,
                                  ends_on=TODAY, yearly_due=Decimal("3"), mechanism="收益归村集体")
    old = lifecycle_services.contract_record(actor=users["village"], asset=pv, operator="甲公司", number="HT-1",
                                    starts_on=TODAY - 400 * DAY, ends_on=TODAY - DAY, yearly_due=Decimal("3"),
                                    mechanism="收益归村集体")
    warnings = selectors.contract_warnings(assets=Asset.objects.all())
    assert [w.code for w in warnings] == ["contract_expired"]
    # last year's review, read now, says so too (it said "ends on", as of the year's last day)
    review = selectors.annual_review(village=_areas.west_south, year=TODAY.year - 1)
    assert [w.code for w in review["contracts"]] == ["contract_expired"]
    lifecycle_services.contract_record(actor=users["village"], asset=pv, operator="甲公司", number="HT-2", starts_on=TODAY,
                              ends_on=TODAY + 60 * DAY, yearly_due=Decimal("3"), mechanism="收益归村集体", renews=old)
    assert [w.code for w in selectors.contract_warnings(assets=Asset.objects.all())] == ["contract_ending"]
    with pytest.raises(ValidationError, match="经营性"):
        road = make_asset(actor=users["county"], area=_areas.west_south, name="路")
        lifecycle_services.contract_record(actor=users["county"], asset=road, operator="乙", number="X", starts_on=TODAY,
                                  ends_on=TODAY + DAY, yearly_due=0, mechanism="无")


def plan_through_filing(users, areas, office, items):
    plan = lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=TODAY.year - 1, items=items)
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=42, minutes=docx())
    lifecycle_services.plan_review(actor=users["township"], plan=plan)
    lifecycle_services.plan_file(actor=users["department"], plan=plan, department=office)
    plan.refresh_from_db()
    return plan


def test_income_plan_walks_every_step_in_order(service_county):
    areas, users, office, assets = service_county
    year = TODAY.year - 1
    lifecycle_services.income_record(actor=users["village"], asset=assets["equity"], year=year, amount=Decimal("10"),
                            received_on=TODAY)
    items = [PlanLine(PlanPurpose.COLLECTIVE, Decimal("4")), PlanLine(PlanPurpose.NO_LABOUR, Decimal("1"), "张三丰"),
             PlanLine(PlanPurpose.EQUITY_OWNERS, Decimal("4"), "西镇人民政府", assets["equity"]),
             PlanLine(PlanPurpose.PUBLIC_WELFARE, Decimal("1"))]
    plan = lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=year, items=items,
                                drafted_on=TODAY - 20 * DAY)
    assert selectors.plan_warnings(plan) == []
    with pytest.raises(ValidationError, match="之后办理"):
        lifecycle_services.plan_review(actor=users["township"], plan=plan)  # not decided yet
    with pytest.raises(ValidationError, match="会议记录"):
        lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY - 15 * DAY, attendance=42, minutes=None)
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY - 15 * DAY, attendance=42, minutes=docx())
    with pytest.raises(PermissionDenied, match="乡镇"):
        lifecycle_services.plan_review(actor=users["village"], plan=plan)
    lifecycle_services.plan_review(actor=users["township"], plan=plan)
    lifecycle_services.plan_file(actor=users["department"], plan=plan, department=office)
    with pytest.raises(ValidationError, match="不少于 7 天"):
        lifecycle_services.notice_post(actor=users["village"], stage=PublicityStage.INCOME_PLAN,
                              scope=PublicityScope.VILLAGE_BOARD, area=areas.west_south, starts_on=TODAY,
                              ends_on=TODAY + 5 * DAY, plan=plan)
    notice = lifecycle_services.notice_record_paper(actor=users["village"], stage=PublicityStage.INCOME_PLAN,
                                           scope=PublicityScope.VILLAGE_BOARD, area=areas.west_south,
                                           starts_on=TODAY - 10 * DAY, ends_on=TODAY - 2 * DAY, plan=plan,
                                           photo=PNG, reason="公示栏张贴后补录")
    assert "张*丰" in str(notice.snapshot) and "张三丰" not in str(notice.snapshot)  # posted masked
    objection = lifecycle_services.objection_record(actor=users["village"], notice=notice, raised_by="村民甲",
                                           text="合作社分红少算", raised_on=TODAY - 5 * DAY)
    with pytest.raises(ValidationError, match="公示期内"):
        lifecycle_services.objection_record(actor=users["village"], notice=notice, raised_by="村民乙", text="迟到的异议",
                                   raised_on=TODAY)
    with pytest.raises(ValidationError, match="尚未答复"):
        lifecycle_services.plan_pay(actor=users["village"], plan=plan, paid_on=TODAY)
    with pytest.raises(ValidationError, match="不能再次公示"):
        lifecycle_services.notice_post(actor=users["village"], stage=PublicityStage.INCOME_PLAN,
                              scope=PublicityScope.VILLAGE_BOARD, area=areas.west_south, starts_on=TODAY,
                              ends_on=TODAY + 7 * DAY, plan=plan, reposts=notice)
    lifecycle_services.objection_answer(actor=users["village"], objection=objection, check_result="经核对账目无误",
                               answer="分红按占股比例计算，已当面解释")
    plan = lifecycle_services.plan_pay(actor=users["village"], plan=plan, paid_on=TODAY)
    assert plan.status == PlanStatus.PAID
    assert [h.history_user for h in plan.history.order_by("history_date")][-1] == users["village"]


def test_plan_warnings_cash_only_and_equity_mismatch(service_county):
    areas, users, office, assets = service_county
    year = TODAY.year - 1
    lifecycle_services.income_record(actor=users["village"], asset=assets["equity"], year=year, amount=Decimal("10"),
                            received_on=TODAY)
    plan = lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=year, items=[
        PlanLine(PlanPurpose.CASH, Decimal("7"), "全体农户"),
        PlanLine(PlanPurpose.EQUITY_OWNERS, Decimal("3"), "西镇人民政府", assets["equity"])])
    codes = {w.code for w in selectors.plan_warnings(plan)}
    assert codes == {"mostly_cash", "equity_share_mismatch"}  # the township is owed 40 % of 10 = 4
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=30, minutes=docx())
    with pytest.raises(ValidationError, match="应分 4 万元"):
        lifecycle_services.plan_review(actor=users["township"], plan=plan)


def test_plan_that_hands_everything_out_is_refused_at_review(service_county):
    areas, users, _office, assets = service_county
    lifecycle_services.income_record(actor=users["village"], asset=assets["pv"], year=TODAY.year - 1, amount=Decimal("5"),
                            received_on=TODAY)
    plan = lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=TODAY.year - 1,
                                items=[PlanLine(PlanPurpose.CASH, Decimal("5"), "全体农户")])
    assert [w.code for w in selectors.plan_warnings(plan)] == ["all_cash"]
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=30, minutes=docx())
    with pytest.raises(ValidationError, match="一分了之"):
        lifecycle_services.plan_review(actor=users["township"], plan=plan)


def test_disposal_workflow_and_refusals(service_county):
    _areas, users, _office, assets = service_county
    pv = assets["pv"]
    with pytest.raises(ValidationError, match="处置原因"):
        lifecycle_services.disposal_request(actor=users["village"], asset=pv, reason="")
    disposal = lifecycle_services.disposal_request(actor=users["village"], asset=pv, reason="unusable", note="冰雹损毁")
    with pytest.raises(ValidationError, match="之后办理"):
        lifecycle_services.disposal_approve(actor=users["county"], disposal=disposal, authority="县政府", reference="栾政〔2026〕1号",
                                   approved_on=TODAY, document=PDF)
    with pytest.raises(PermissionDenied):
        lifecycle_services.disposal_assess(actor=users["township"], disposal=disposal, value=Decimal("2"), assessor="评估所",
                                  assessed_on=TODAY, report=PDF)
    with pytest.raises(ValidationError, match="评估报告"):
        lifecycle_services.disposal_assess(actor=users["department"], disposal=disposal, value=Decimal("2"), assessor="评估所",
                                  assessed_on=TODAY, report=None)
    lifecycle_services.disposal_assess(actor=users["department"], disposal=disposal, value=Decimal("2"), assessor="评估所",
                              assessed_on=TODAY, report=PDF)
    with pytest.raises(PermissionDenied, match="县级管理员"):
        lifecycle_services.disposal_approve(actor=users["department"], disposal=disposal, authority="县政府",
                                   reference="栾政〔2026〕1号", approved_on=TODAY, document=PDF)
    lifecycle_services.disposal_approve(actor=users["county"], disposal=disposal, authority="县政府", reference="栾政〔2026〕1号",
                               approved_on=TODAY, document=PDF)
    pv.refresh_from_db()
    assert pv.status != AssetStatus.DISPOSED  # approval alone does not dispose
    with pytest.raises(ValidationError, match="新的扶贫项目"):
        lifecycle_services.disposal_execute(actor=users["village"], disposal=disposal, method="auction", executed_on=TODAY,
                                   proceeds=Decimal("1.5"))
    lifecycle_services.disposal_execute(actor=users["village"], disposal=disposal, method="auction", executed_on=TODAY,
                               proceeds=Decimal("1.5"), new_project="2027年村组道路")
    pv.refresh_from_db()
    assert pv.status == AssetStatus.DISPOSED
    assert Attachment.objects.count() == 2
    notice = lifecycle_services.notice_post(actor=users["village"], stage=PublicityStage.DISPOSAL,
                                   scope=PublicityScope.VILLAGE_BOARD, area=pv.village, starts_on=TODAY,
                                   ends_on=TODAY + 7 * DAY, disposal=disposal)
    assert notice.snapshot["new_project"] == "2027年村组道路"
    with pytest.raises(ValidationError):
        services.asset_update(actor=users["county"], asset=pv, changes={"status": AssetStatus.IN_USE})


def test_rejected_disposal_keeps_the_asset_and_may_be_requested_again(service_county):
    _areas, users, _office, assets = service_county
    disposal = lifecycle_services.disposal_request(actor=users["village"], asset=assets["pv"], reason="poor_operation")
    with pytest.raises(ValidationError, match="理由"):
        lifecycle_services.disposal_reject(actor=users["department"], disposal=disposal, reason=" ")
    lifecycle_services.disposal_reject(actor=users["department"], disposal=disposal, reason="仍可修复")
    disposal.refresh_from_db()
    assert disposal.status == DisposalStatus.REJECTED
    assert lifecycle_services.disposal_request(actor=users["village"], asset=assets["pv"], reason="unusable").status == "requested"


def test_ledger_notice_freezes_public_fields(service_county):
    areas, users, _office, assets = service_county
    services.asset_update(actor=users["county"], asset=assets["pv"], changes={"custodian_phone": "13912345678"})
    notice = lifecycle_services.notice_post(actor=users["township"], stage=PublicityStage.OWNERSHIP,
                                   scope=PublicityScope.TOWNSHIP, area=areas.west_south, starts_on=TODAY,
                                   ends_on=TODAY + 6 * DAY)
    codes = [row["code"] for row in notice.snapshot["assets"]]
    assert assets["pv"].code in codes and "13912345678" not in str(notice.snapshot)
    services.asset_update(actor=users["county"], asset=assets["pv"], changes={"name": "改名后的电站"})
    notice.refresh_from_db()
    assert "改名后的电站" not in str(notice.snapshot)  # what was posted stays as posted
    with pytest.raises(PermissionDenied):
        lifecycle_services.notice_post(actor=users["other_village"], stage=PublicityStage.INVENTORY,
                              scope=PublicityScope.VILLAGE_BOARD, area=areas.west_south, starts_on=TODAY,
                              ends_on=TODAY + 7 * DAY)


def test_annual_review_lists_what_is_missing(service_county):
    areas, users, _office, assets = service_county
    review = selectors.annual_review(village=areas.west_south, year=TODAY.year - 1)
    assert {a.pk for a in review["no_income"]} == {assets["equity"].pk, assets["pv"].pk}
    assert not review["plan_missing"]
    lifecycle_services.income_record(actor=users["village"], asset=assets["pv"], year=TODAY.year - 1, amount=Decimal("2"),
                            received_on=TODAY)
    review = selectors.annual_review(village=areas.west_south, year=TODAY.year - 1)
    assert {a.pk for a in review["no_income"]} == {assets["equity"].pk} and review["plan_missing"]


def test_todo_lists_each_roles_waiting_steps(service_county):
    areas, users, office, assets = service_county
    lifecycle_services.ownership_submit(actor=users["village"], asset=assets["equity"])
    lifecycle_services.disposal_request(actor=users["village"], asset=assets["pv"], reason="unusable")
    plan = lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=TODAY.year - 1,
                                items=[PlanLine(PlanPurpose.COLLECTIVE, Decimal("1"))], other_source="村集体积累")
    assert set(selectors.todo_for(users["department"])) >= {"ownership_to_confirm", "disposals_to_assess"}
    assert set(selectors.todo_for(users["village"])) == {"plans_to_decide"}
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=9, minutes=docx())
    assert "plans_to_review" in selectors.todo_for(users["township"])
    assert selectors.todo_for(users["other_village"]) == {}
