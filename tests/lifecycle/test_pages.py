"""The lifecycle pages (issue 9) walked end to end with the test client: each workflow's forms, and every refusal
shown on the page (wrong role → 403 with the service's message and no button; wrong order; missing document;
shares not 100 %; publicity period too short; objection unanswered)."""

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from geo_assets.models import Asset, Attachment, Disposal, DistributionPlan, Objection, PublicityNotice
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
from lifecycle import selectors, services
from lifecycle.services import PlanLine
from tests.factories import centre, make_asset, make_user
from tests.lifecycle.builders import (
    DAY,
    PDF,
    PHONE,
    PNG,
    TODAY,
    as_,
    d,
    docx,
    full_life,
    page,
    pdf,
    step,
)

# ---------------------------------------------------------------- ownership


def test_ownership_submit_confirm_with_handover_letter(page_county):
    _areas, users, _office, assets = page_county
    equity = assets["equity"]
    village, department = as_(users["village"]), as_(users["department"])
    form = page(village.get(step(equity, "ownership")))
    assert "合计 100%" in form and "csrfmiddlewaretoken" in form and "60" in form
    assert village.post(step(equity, "ownership")).status_code == 302
    again = village.post(step(equity, "ownership"))
    assert again.status_code == 409 and "已提交确权，等待主管部门确认" in page(again)  # not its turn: why, no form
    # buttons only for the roles that may take the step
    assert step(equity, "ownership-decide") not in page(village.get(step(equity)))
    assert "ownership-decide/" in page(department.get(step(equity)))
    refused = as_(users["township"]).post(step(equity, "ownership-decide"), {"confirm": "1"})
    assert refused.status_code == 403 and "确权审核须由资产的县级主管行业部门" in page(refused)
    decide = page(department.get(step(equity, "ownership-decide")))
    assert "尚未上传" in decide and "移交和管护责任书扫描件" in decide
    missing = department.post(step(equity, "ownership-decide"), {"confirm": "1"})
    assert "缺少已签署的资产移交和管护责任书（扫描件）" in page(missing)
    letter = {"signed_on": d(TODAY), "handed_over_by": "西镇人民政府", "received_by": "西南村村民委员会",
              "custodian": "西南村村民委员会"}
    no_scan = village.post(step(equity, "handover"), letter)
    assert "请上传已签署的责任书扫描件" in page(no_scan)
    assert village.post(step(equity, "handover"), {**letter, "scan": pdf()}).status_code == 302
    assert "已上传" in page(department.get(step(equity, "ownership-decide")))
    assert "退回时请写明理由" in page(department.post(step(equity, "ownership-decide"), {"confirm": "0"}))
    assert department.post(step(equity, "ownership-decide"), {"confirm": "1"}).status_code == 302
    equity.refresh_from_db()
    assert equity.registration_status == RegistrationStatus.REGISTERED
    assert "确权登记确认" in page(department.get(f"/assets/{equity.code}/"))


def test_shares_not_100_are_refused_on_the_page(page_county):
    areas, users, _office, _assets = page_county
    stake = make_asset(actor=users["county"], area=areas.west_south, name="残缺股权", asset_type=AssetType.EQUITY,
                       geometry=centre(areas.west_south), owners=[])
    response = as_(users["village"]).post(step(stake, "ownership"))
    assert response.status_code == 200 and "合计 100%（当前合计 0%）" in page(response)
    assert not stake.registrations.exists()


# ---------------------------------------------------------------- custody, operation, income


def test_custody_pages_with_photos_and_refusals(page_county, settings):
    _areas, users, _office, assets = page_county
    pv = assets["pv"]
    village = as_(users["village"])
    entry = {"done_on": d(TODAY), "kind": "repair", "cost": "0.3", "done_by": "运维公司", "description": "更换逆变器"}
    future = village.post(step(pv, "maintenance"), {**entry, "done_on": d(TODAY + DAY)})
    assert "超出允许范围" in page(future)
    bad = village.post(step(pv, "maintenance"), {**entry, "photos": [SimpleUploadedFile("x.exe", b"MZ\x90\x00")]})
    assert "类型不受支持" in page(bad) and not pv.maintenance.exists()
    assert "请重新选择文件" in page(bad) and "请重新选择文件" not in page(village.get(step(pv, "maintenance")))
    settings.ATTACHMENT_MAX_BYTES = 40
    big = village.post(step(pv, "maintenance"), {**entry, "photos": [SimpleUploadedFile("大.pdf", PDF + b"0" * 64)]})
    assert "太大" in page(big) and not pv.maintenance.exists()
    settings.ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    photos = [SimpleUploadedFile("现场1.png", PNG), SimpleUploadedFile("现场2.png", PNG + b"1")]
    assert village.post(step(pv, "maintenance"), {**entry, "photos": photos}).status_code == 302
    assert selectors.attachments_of(pv.maintenance.get()).count() == 2
    assert village.post(step(pv, "custodian"), {"effective_on": d(TODAY), "unit": "光伏运维公司", "person": "李四",
                                                "phone": "13800000000"}).status_code == 302
    pv.refresh_from_db()
    assert (pv.custodian_unit, pv.custodian_person) == ("光伏运维公司", "李四")
    post = {"holder": "王五", "from_poor_household": "on", "starts_on": d(TODAY), "monthly_pay": "500"}
    assert "不能早于开始日期" in page(village.post(step(pv, "welfare-post"), {**post, "ends_on": d(TODAY - DAY)}))
    assert village.post(step(pv, "welfare-post"), post).status_code == 302
    inspector = as_(users["inspector"])
    overview = page(inspector.get(step(pv)))
    assert step(pv, "maintenance") not in overview and "没有可办理的事项" in overview  # sees, may not act
    refused = inspector.post(step(pv, "welfare-post"), post)
    assert refused.status_code == 403 and "无权办理" in page(refused)
    elsewhere = as_(users["other_village"]).get(step(pv))  # not in its area: the public version (issue 21 item 10)
    assert (elsewhere.status_code, elsewhere["Location"]) == (302, f"/assets/{pv.code}/") if pv.is_published else (
        elsewhere.status_code == 404)
    assert as_(None).get(step(pv)).status_code == 302  # the public is sent to log in


def test_contract_pages_warn_and_renew(page_county):
    areas, users, _office, assets = page_county
    pv = assets["pv"]
    village = as_(users["village"])
    contract = {"operator": "甲公司", "number": "HT-1", "starts_on": d(TODAY - 400 * DAY), "ends_on": d(TODAY - DAY),
                "yearly_due": "3", "mechanism": "收益归村集体"}
    assert "请写明带贫减贫机制" in page(village.post(step(pv, "contract"), {**contract, "mechanism": ""}))
    assert village.post(step(pv, "contract"), {**contract, "scan": pdf("合同.pdf")}).status_code == 302
    assert "已于" in page(village.get(step(pv)))  # expired, not renewed
    assert "已于" in page(village.get("/todo/"))
    old = pv.contracts.get()
    renewal = {**contract, "number": "HT-2", "starts_on": d(TODAY), "ends_on": d(TODAY + 60 * DAY),
               "renews": old.pk, "scan": pdf("续签.pdf")}
    assert village.post(step(pv, "contract"), renewal).status_code == 302
    assert "将于" in page(village.get(step(pv, "contract")))  # ending within 90 days
    road = make_asset(actor=users["county"], area=areas.west_south, name="村道")
    assert step(road, "contract") not in page(village.get(step(road)))
    assert "只有经营性资产签订经营协议" in page(village.post(step(road, "contract"), {**contract, "scan": pdf()}))
    assert village.post(step(pv, "income"), {"year": TODAY.year - 1, "amount": "3", "received_on": d(TODAY)}).status_code == 302
    assert "收益年度须在" in page(village.post(step(pv, "income"), {
        "year": TODAY.year + 1, "amount": "3", "received_on": d(TODAY)}))


# ---------------------------------------------------------------- disposal


def test_disposal_workflow_through_the_pages(page_county):
    areas, users, _office, assets = page_county
    pv = assets["pv"]
    village, department, admin = as_(users["village"]), as_(users["department"]), as_(users["county"])
    assert "请选择处置原因" in page(village.post(step(pv, "disposal"), {"reason": ""}))
    assert village.post(step(pv, "disposal"), {"reason": "unusable", "note": "冰雹损毁"}).status_code == 302
    early = admin.post(step(pv, "disposal-approve"), {"authority": "县政府", "reference": "栾政〔2026〕1号",
                                                      "approved_on": d(TODAY), "document": pdf()})
    assert "这一步须在“已评估”之后办理" in page(early)
    assess = {"value": "2", "assessor": "评估所", "assessed_on": d(TODAY)}
    refused = as_(users["township"]).post(step(pv, "disposal-assess"), {**assess, "report": pdf()})
    assert refused.status_code == 403 and "资产评估须由" in page(refused)
    assess_url = step(pv, "disposal-assess")
    assert assess_url in page(department.get(step(pv))) and assess_url not in page(village.get(step(pv)))
    assert "请上传评估报告" in page(department.post(step(pv, "disposal-assess"), assess))
    assert department.post(step(pv, "disposal-assess"), {**assess, "report": pdf("评估报告.pdf")}).status_code == 302
    approve = {"authority": "县政府", "reference": "栾政〔2026〕1号", "approved_on": d(TODAY)}
    denied = department.post(step(pv, "disposal-approve"), {**approve, "document": pdf("批复.pdf")})
    assert denied.status_code == 403 and "处置审批须由县级管理员" in page(denied)
    assert admin.post(step(pv, "disposal-approve"), {**approve, "document": pdf("批复.pdf")}).status_code == 302
    pv.refresh_from_db()
    assert pv.status != AssetStatus.DISPOSED
    execute = {"method": "auction", "executed_on": d(TODAY), "proceeds": "1.5"}
    assert "新的扶贫项目" in page(village.post(step(pv, "disposal-execute"), execute))
    assert village.post(step(pv, "disposal-execute"), {**execute, "new_project": "2027年村组道路"}).status_code == 302
    pv.refresh_from_db()
    assert pv.status == AssetStatus.DISPOSED
    disposal = Disposal.objects.get(asset=pv)
    notice = {"stage": "disposal", "disposal": disposal.pk, "scope": "village_board", "starts_on": d(TODAY),
              "ends_on": d(TODAY + 6 * DAY), "title": ""}
    form = page(village.get(f"/villages/{areas.west_south.code}/notices/new/?stage=disposal"))
    assert 'value="disposal"' not in form and step(pv, "disposal-notice") in form  # posted from the asset's page
    assert step(pv, "disposal-notice") in page(village.get(step(pv)))
    assert village.post(step(pv, "disposal-notice"), notice).status_code == 302
    assert step(pv, "disposal-notice") not in page(village.get(step(pv)))  # once
    posted = PublicityNotice.objects.get(disposal=disposal)
    assert posted.snapshot["new_project"] == "2027年村组道路"
    timeline = page(as_(None).get(f"/assets/{pv.code}/"))  # the public: the result, not the request
    assert "处置执行" in timeline and "申请处置" not in timeline and "公示" in timeline


def test_rejected_disposal_may_be_requested_again(page_county):
    _areas, users, _office, assets = page_county
    pv = assets["pv"]
    village, department = as_(users["village"]), as_(users["department"])
    village.post(step(pv, "disposal"), {"reason": "poor_operation"})
    assert "驳回时请写明理由" in page(department.post(step(pv, "disposal-reject"), {"reason": " "}))
    assert department.post(step(pv, "disposal-reject"), {"reason": "仍可修复"}).status_code == 302
    assert Disposal.objects.get(asset=pv).status == DisposalStatus.REJECTED
    assert step(pv, "disposal") in page(village.get(step(pv)))
    assert village.post(step(pv, "disposal"), {"reason": "unusable"}).status_code == 302


# ---------------------------------------------------------------- income distribution plan and publicity


def plan_url(areas, name=""):
    return f"/villages/{areas.west_south.code}/plans/{TODAY.year - 1}/{name and name + '/'}"


def items(*rows):
    data = {"items-TOTAL_FORMS": "6", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "30"}
    for i, row in enumerate(rows):
        data.update({f"items-{i}-{k}": v for k, v in row.items()})
    return data


def test_plan_workflow_through_the_pages(page_county):
    areas, users, office, assets = page_county
    year = TODAY.year - 1
    village, township, department = as_(users["village"]), as_(users["township"]), as_(users["department"])
    services.income_record(actor=users["village"], asset=assets["equity"], year=year, amount=Decimal("10"),
                            received_on=TODAY)
    draft_url = f"/villages/{areas.west_south.code}/plans/new/"
    draft = page(village.get(draft_url))
    assert "一分了之" in draft and "10 万元" in draft
    assert "请列出分配项目" in page(village.post(draft_url, {"year": year, **items()}))
    other = page(village.post(draft_url, {"year": year - 1, **items()}))  # refused: the income of the year asked for
    assert "请列出分配项目" in other and f"本村 {year - 1} 年资产收益到账合计" in other and "10 万元" not in other
    response = village.post(draft_url, {"year": year, **items(
        {"purpose": "collective", "amount": "4"}, {"purpose": "no_labour", "amount": "1", "recipient": "张三丰"},
        {"purpose": "equity_owners", "amount": "4", "recipient": "西镇人民政府", "asset": assets["equity"].pk},
        {"purpose": "public_welfare", "amount": "1"})})
    assert response.status_code == 302 and response.url == plan_url(areas)
    plan = DistributionPlan.objects.get()
    detail = page(village.get(plan_url(areas)))
    assert "张三丰" in detail and plan_url(areas, "decide") in detail and plan_url(areas, "review") not in detail
    assert "这一步须在“" in page(township.post(plan_url(areas, "review")))  # not decided yet
    decide = {"meeting_on": d(TODAY), "attendance": "42"}
    assert "请上传村民会议记录" in page(village.post(plan_url(areas, "decide"), decide))
    nobody = page(village.post(plan_url(areas, "decide"), {**decide, "attendance": "0", "minutes": docx()}))
    assert "参会人数至少为 1 人" in nobody and "请填写参会人数" not in nobody  # a 0 was filled in
    assert village.post(plan_url(areas, "decide"), {**decide, "minutes": docx()}).status_code == 302
    refused = village.post(plan_url(areas, "review"))
    assert refused.status_code == 403 and "收益分配方案须由所在乡镇审核" in page(refused)
    assert plan_url(areas, "review") in page(township.get(plan_url(areas)))
    assert township.post(plan_url(areas, "review")).status_code == 302
    assert department.post(plan_url(areas, "file"), {"department": office.pk}).status_code == 302
    short = {"stage": "income_plan", "scope": "village_board", "starts_on": d(TODAY), "ends_on": d(TODAY + 5 * DAY)}
    assert "公示期不少于 7 天" in page(village.post(plan_url(areas, "publicise"), short))
    assert "这一步须在“已公示”之后办理" in page(village.post(plan_url(areas, "pay"), {"paid_on": d(TODAY)}))
    backdated = {**short, "starts_on": d(TODAY - 10 * DAY), "ends_on": d(TODAY - 2 * DAY)}
    assert "不能早于发布当天" in page(village.post(plan_url(areas, "publicise"), backdated))
    period = {**short, "starts_on": d(TODAY), "ends_on": d(TODAY + 6 * DAY)}
    assert village.post(plan_url(areas, "publicise"), period).status_code == 302
    notice = PublicityNotice.objects.get(plan=plan)
    assert plan_url(areas, "pay") not in page(village.get(plan_url(areas)))  # the period has not run yet
    waiting = village.post(plan_url(areas, "pay"), {"paid_on": d(TODAY)})
    assert waiting.status_code == 409 and "公示期满后" in page(waiting) and "<form" not in page(waiting).split("refusal")[-1]
    assert "张*丰" in str(notice.snapshot) and "张三丰" not in str(notice.snapshot)
    notice_url = f"/villages/{areas.west_south.code}/notices/{notice.pk}/"
    late = village.post(notice_url + "objection/", {"raised_by": "村民乙", "raised_on": d(TODAY - DAY), "text": "早了"})
    assert "异议须在公示期内提出" in page(late)
    assert village.post(notice_url + "objection/", {"raised_by": "村民甲", "raised_on": d(TODAY),
                                                    "text": "合作社分红少算"}).status_code == 302
    # seven days later (the notice's period moved back as time would have moved on)
    PublicityNotice.objects.filter(pk=notice.pk).update(starts_on=TODAY - 8 * DAY, ends_on=TODAY - 2 * DAY)
    Objection.objects.filter(notice=notice).update(raised_on=TODAY - 5 * DAY)
    assert "公示期内的异议尚未答复" in page(village.post(plan_url(areas, "pay"), {"paid_on": d(TODAY)}))
    repost = {"stage": "income_plan", "scope": "village_board", "starts_on": d(TODAY), "ends_on": d(TODAY + 7 * DAY)}
    assert "不能再次公示" in page(village.post(notice_url + "repost/", repost))
    assert "村民甲" in page(village.get("/todo/"))
    objection = notice.objections.get()
    answer_url = f"{notice_url}objections/{objection.pk}/answer/"
    assert "请写明核实情况" in page(village.post(answer_url, {"check_result": "", "answer": "已解释"}))
    assert village.post(answer_url, {"check_result": "经核对账目无误", "answer": "按占股比例计算"}).status_code == 302
    assert "公示期结束（" in page(village.post(plan_url(areas, "pay"), {"paid_on": d(TODAY - 2 * DAY)}))
    assert village.post(plan_url(areas, "pay"), {"paid_on": d(TODAY)}).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PAID
    assert "兑付" in page(village.get(plan_url(areas))) and "村民甲" in page(village.get(notice_url))
    minutes = selectors.attachments_of(plan, Attachment.Kind.MINUTES).get()
    assert as_(users["township"]).get(f"/attachments/{minutes.pk}/").status_code == 200
    assert as_(None).get(f"/attachments/{minutes.pk}/").status_code == 404


def test_cash_only_plan_shows_warnings_and_is_refused_at_review(page_county):
    areas, users, _office, assets = page_county
    services.income_record(actor=users["village"], asset=assets["pv"], year=TODAY.year - 1, amount=Decimal("5"),
                            received_on=TODAY)
    plan = services.plan_draft(actor=users["village"], village=areas.west_south, year=TODAY.year - 1,
                                items=[PlanLine(PlanPurpose.CASH, Decimal("5"), "全体农户")])
    services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=30,
                          minutes=("记录.pdf", PDF))
    township = as_(users["township"])
    review = page(township.get(plan_url(areas, "review")))
    assert "warn-red" in review and "一分了之" in review
    refused = page(township.post(plan_url(areas, "review")))
    assert "方案把全部收益直接发给农户" in refused
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DECIDED


def test_ledger_notice_objection_answer_and_repost(page_county):
    areas, users, _office, assets = page_county
    village = as_(users["village"])
    notices = f"/villages/{areas.west_south.code}/notices/"
    post = {"stage": "ownership", "scope": "village_board", "starts_on": d(TODAY),
            "ends_on": d(TODAY + 6 * DAY), "title": "西南村确权登记公示"}
    assert "公示期不少于 7 天" in page(village.post(notices + "new/", {**post, "ends_on": d(TODAY)}))
    refused = as_(users["other_village"]).post(notices + "new/", post)
    assert refused.status_code == 403
    assert village.post(notices + "new/", post).status_code == 302
    notice = PublicityNotice.objects.get()
    public_list = page(as_(None).get(notices))
    assert "西南村确权登记公示" in public_list and "公示中" in public_list and "/objection/" not in public_list
    village.post(f"{notices}{notice.pk}/objection/", {"raised_by": "村民丙", "contact": "13700000000",
                                                      "raised_on": d(TODAY), "text": "面积不符"})
    objection = notice.objections.get()
    village.post(f"{notices}{notice.pk}/objections/{objection.pk}/answer/", {"check_result": "已复核",
                                                                            "answer": "已更正"})
    response = village.post(f"{notices}{notice.pk}/repost/", {**post, "stage": "ownership",
                                                              "starts_on": d(TODAY), "ends_on": d(TODAY + 7 * DAY)})
    assert response.status_code == 302
    repost = PublicityNotice.objects.get(reposts=notice)
    listing = page(as_(None).get(notices))
    assert "再次公示" in listing
    assert listing.count("公示中") == 1 and "已重新公示" in listing  # the first one is no longer said to be running
    public = page(as_(None).get(f"/notices/{repost.token}/"))
    assert assets["equity"].code in public and "13700000000" not in public and "村民丙" not in public
    assert "再次公示" in page(as_(None).get(f"/assets/{assets['equity'].code}/"))


# ---------------------------------------------------------------- to-do, attachments, printable notice, timeline


def test_todo_page_and_village_counts(page_county):
    areas, users, _office, assets = page_county
    services.ownership_submit(actor=users["village"], asset=assets["equity"])
    services.disposal_request(actor=users["village"], asset=assets["pv"], reason="unusable")
    todo = page(as_(users["department"]).get("/todo/"))
    assert "待确认的确权登记" in todo and step(assets["equity"], "ownership-decide") in todo
    assert step(assets["pv"], "disposal-assess") in todo
    counts = as_(users["department"]).get(f"/api/v1/todo/counts/?village={areas.west_south.code}").json()
    assert counts["total"] == 2 and counts["url"].startswith("/todo/?village=")
    assert {i["key"] for i in counts["items"]} == {"ownership_to_confirm", "disposals_to_assess"}
    assert as_(users["department"]).get(f"/api/v1/todo/counts/?village={areas.east_south.code}").json()["total"] == 0
    assert as_(None).get(f"/api/v1/todo/counts/?village={areas.west_south.code}").json() == {}
    assert as_(None).get("/todo/").status_code == 302
    assert "没有等待您办理" in page(as_(users["other_village"]).get("/todo/"))
    filtered = page(as_(users["department"]).get(f"/todo/?village={areas.east_south.code}"))
    assert "共 <strong>0</strong>" in filtered


def test_attachment_download_per_role(page_county):
    _areas, users, _office, assets = page_county
    letter = services.handover_record(actor=users["village"], asset=assets["pv"], signed_on=TODAY,
                                       handed_over_by="西镇", received_by="西南村", custodian="西南村",
                                       scan=("责任书.pdf", PDF))
    attachment = selectors.attachments_of(letter).get()
    url = f"/attachments/{attachment.pk}/"
    for role in ("village", "township", "county", "inspector", "department"):
        response = as_(users[role]).get(url)
        assert response.status_code == 200, role
        assert response["Content-Disposition"].startswith("attachment;") and response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PDF
    assert as_(users["other_village"]).get(url).status_code == 404
    assert as_(None).get(url).status_code == 404  # not published
    assert as_(None).get("/attachments/999999/").status_code == 404
    public = page(as_(None).get(f"/assets/{assets['pv'].code}/"))
    assert "签署资产移交和管护责任书" in public and url not in public
    assert url in page(as_(users["village"]).get(f"/assets/{assets['pv'].code}/"))
    Attachment.objects.filter(pk=attachment.pk).update(is_public=True)
    assert as_(None).get(url).status_code == 200


def test_notice_public_page_and_pdf(page_county):
    areas, users, office, assets = page_county
    services.income_record(actor=users["village"], asset=assets["equity"], year=TODAY.year - 1, amount=Decimal("5"),
                            received_on=TODAY)
    plan = services.plan_draft(actor=users["village"], village=areas.west_south, year=TODAY.year - 1, items=[
        PlanLine(PlanPurpose.COLLECTIVE, Decimal("4")), PlanLine(PlanPurpose.NO_LABOUR, Decimal("1"), "张三丰")])
    services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=9, minutes=("m.pdf", PDF))
    services.plan_review(actor=users["township"], plan=plan)
    services.plan_file(actor=users["department"], plan=plan, department=office)
    notice = services.notice_post(actor=users["village"], stage=PublicityStage.INCOME_PLAN,
                                   scope=PublicityScope.VILLAGE_BOARD, area=areas.west_south, starts_on=TODAY,
                                   ends_on=TODAY + 6 * DAY, plan=plan)
    html = page(as_(None).get(f"/notices/{notice.token}/"))
    assert notice.title in html and "张*丰" in html and "张三丰" not in html and "村集体经济" in html
    response = as_(None).get(f"/notices/{notice.token}.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    target = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "lifecycle-notice.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(response.content)  # kept for a look
    tools = {name: shutil.which(name) for name in ("pdftotext", "pdfinfo", "pdftoppm")}
    assert all(tools.values()), "apt-get install poppler-utils"
    text = subprocess.run([tools["pdftotext"], "-layout", str(target), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert notice.title in text and "张*丰" in text and "村集体经济" in text and "扫码查看在线版" in text
    info = subprocess.run([tools["pdfinfo"], str(target)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    subprocess.run([tools["pdftoppm"], "-r", "150", "-png", "-singlefile", str(target), str(target.with_suffix(""))],
                   check=True)  # the QR code links to the online version
    codes = zxingcpp.read_barcodes(Image.open(target.with_suffix(".png")))
    assert [c.text for c in codes] == [f"http://testserver/notices/{notice.token}/"]
    assert as_(None).get("/notices/00000000-0000-0000-0000-000000000000/").status_code == 404




def test_timeline_shows_every_kind_of_event_within_privacy(page_county):
    _areas, users, _office, _assets = page_county
    pv = full_life(page_county)
    staff = page(as_(users["township"]).get(f"/assets/{pv.code}/"))
    kinds = set(re.findall(r'data-kind="(\w+)"', staff))
    assert kinds == {"registration", "ownership", "custody", "operation", "income", "verification", "publicity",
                     "disposal"}
    assert PHONE in staff and "欧阳小明" in staff and "申请处置" in staff and "/attachments/" in staff
    public = page(as_(None).get(f"/assets/{pv.code}/"))
    assert set(re.findall(r'data-kind="(\w+)"', public)) == kinds
    assert PHONE not in public and "欧阳小明" not in public and "李大山" not in public and "王小五" not in public
    assert "李*山" in public and "王*五" in public and "/attachments/" not in public and "申请处置" not in public
    assert "/lifecycle/" not in public


def test_annual_review_page(page_county):
    areas, users, _office, assets = page_county
    url = f"/villages/{areas.west_south.code}/annual/{TODAY.year - 1}/"
    review = page(as_(users["village"]).get(url))
    assert "经营性资产无" in review and assets["pv"].code in review
    assert as_(users["other_village"]).get(url).status_code == 403
    assert as_(users["inspector"]).get(url).status_code == 200
    assert as_(users["village"]).get(f"/villages/{areas.west_south.code}/annual/99999/").status_code == 404
    # each listed asset links where its reader may act: the clerk to the step, the inspector (who takes none of
    # these steps) to the asset's page, never to a step that would refuse them (review of session 23)
    income = f'href="{step(assets["pv"], "income")}"'
    assert income in review
    inspected = page(as_(users["inspector"]).get(url))
    assert "/lifecycle/income/" not in inspected and "/lifecycle/ownership/" not in inspected
    assert "/lifecycle/custodian/" not in inspected and f'href="/assets/{assets["pv"].code}/"' in inspected


def test_wrong_role_sees_no_button_and_posts_are_refused(page_county):
    areas, users, _office, assets = page_county
    other = as_(users["other_village"])
    assert other.get(f"/villages/{areas.west_south.code}/plans/").status_code == 403
    assert f"/villages/{areas.west_south.code}/plans/new/" not in page(as_(users["inspector"]).get(f"/villages/{areas.west_south.code}/plans/"))
    response = as_(users["inspector"]).post(f"/villages/{areas.west_south.code}/plans/new/",
                                            {"year": TODAY.year - 1, **items({"purpose": "collective", "amount": "1"})})
    assert response.status_code == 403 and "收益分配方案须由西南村所在的村" in page(response)
    assert not DistributionPlan.objects.exists()
    assert Asset.objects.filter(pk=assets["pv"].pk).exists()
    assert as_(users["village"]).get(step(assets["pv"], "nonsense")).status_code == 404
    public_role = make_user("someone")
    assert as_(public_role).get(step(assets["pv"])).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["village"])
    assert strict.post(step(assets["pv"], "income"), {"year": TODAY.year - 1, "amount": "1",
                                                      "received_on": d(TODAY)}).status_code == 403  # no CSRF token
    assert not assets["pv"].income.exists()


def test_notice_form_offers_only_what_it_posts_and_forms_report_every_wrong_field_at_once(page_county):
    areas, users, _office, assets = page_county
    village = as_(users["village"])
    form = page(village.get(f"/villages/{areas.west_south.code}/notices/new/?stage=income_plan"))
    assert 'value="inventory"' in form and 'value="ownership"' in form
    assert 'value="income_plan"' not in form and 'value="disposal"' not in form
    assert "收益分配方案的公示在方案页发布" in form and "/notices/paper/" in form
    # several wrong fields: all reported by one submission (the form's own and the rule's)
    handover = page(village.post(step(assets["pv"], "handover"), {"signed_on": "2099-13-01", "handed_over_by": "",
                                                                  "received_by": "村", "custodian": "村"}))
    assert handover.count('class="error"') >= 3  # date, handed over by, the scan
    maintenance = page(village.post(step(assets["pv"], "maintenance"), {
        "done_on": "2099-01-01", "kind": "repair", "cost": "9999999999.9999", "done_by": "乙", "description": "修"}))
    assert "done_on" in maintenance and maintenance.count('class="error"') >= 2  # the date and the cost
    assert not assets["pv"].maintenance.exists()
