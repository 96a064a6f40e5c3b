"""Issue 21 items 1, 3, 4, 5, 6: every lifecycle step through its one rule (lifecycle.may_<step>), a disposed asset
takes no step, every date and amount through the bounds, notices from the day posted, plans against the income."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from geo_assets.models import (
    CustodianChange,
    DistributionPlan,
    IncomeRecord,
    MaintenanceEntry,
    OperationContract,
    PublicityNotice,
    PublicWelfarePost,
)
from geo_assets.taxonomy import AssetType, PlanPurpose, PlanStatus, PublicityScope, PublicityStage
from lifecycle import rules, selectors
from lifecycle import services as lifecycle_services
from lifecycle.services import PlanLine
from tests.factories import centre, make_asset

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
PDF = ("批复.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
PNG = ("公示栏.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)


def dispose(users, asset, *, execute=True):
    disposal = lifecycle_services.disposal_request(actor=users["village"], asset=asset, reason="unusable")
    lifecycle_services.disposal_assess(actor=users["county"], disposal=disposal, value=Decimal("1"), assessor="评估所",
                              assessed_on=TODAY, report=PDF)
    lifecycle_services.disposal_approve(actor=users["county"], disposal=disposal, authority="县政府", reference="栾政〔1〕号",
                               approved_on=TODAY, document=PDF)
    if execute:
        lifecycle_services.disposal_execute(actor=users["county"], disposal=disposal, method="scrap", executed_on=TODAY)
    return disposal


# every asset-level service, called with valid values: (page step slug or None, call)
ASSET_STEPS = {
    "ownership_submit": ("ownership", lambda u, a: lifecycle_services.ownership_submit(actor=u, asset=a)),
    "ownership_decide": ("ownership-decide", lambda u, a: lifecycle_services.ownership_decide(
        actor=u, registration=a.registrations.get(), confirm=False, comment="退回")),
    "handover_record": ("handover", lambda u, a: lifecycle_services.handover_record(
        actor=u, asset=a, signed_on=TODAY, handed_over_by="镇", received_by="村", custodian="乙单位", scan=PDF)),
    "maintenance_record": ("maintenance", lambda u, a: lifecycle_services.maintenance_record(
        actor=u, asset=a, done_on=TODAY, kind="repair", cost=Decimal("0.1"), done_by="乙", description="修")),
    "custodian_change": ("custodian", lambda u, a: lifecycle_services.custodian_change(
        actor=u, asset=a, effective_on=TODAY, unit="乙单位", person="乙")),
    "welfare_post_record": ("welfare-post", lambda u, a: lifecycle_services.welfare_post_record(
        actor=u, asset=a, holder="丙", from_poor_household=True, starts_on=TODAY, monthly_pay=Decimal("500"))),
    "contract_record": ("contract", lambda u, a: lifecycle_services.contract_record(
        actor=u, asset=a, operator="乙公司", number="HT-2", starts_on=TODAY, ends_on=TODAY + 300 * DAY,
        yearly_due=Decimal("2"), mechanism="收益归村集体")),
    "income_record": ("income", lambda u, a: lifecycle_services.income_record(
        actor=u, asset=a, year=TODAY.year, amount=Decimal("1"), received_on=TODAY)),
    "disposal_request": ("disposal", lambda u, a: lifecycle_services.disposal_request(actor=u, asset=a, reason="unusable")),
}


def written(asset):
    asset.refresh_from_db()
    return (asset.custodian_unit, asset.custodian_person, asset.operator, asset.registration_status,
            MaintenanceEntry.objects.count(), CustodianChange.objects.count(), PublicWelfarePost.objects.count(),
            OperationContract.objects.count(), IncomeRecord.objects.count(), asset.handover_letters.count(),
            list(asset.registrations.values_list("step", flat=True)))


def test_every_asset_step_is_in_the_table(rules_county):
    assert set(ASSET_STEPS) | {"disposal_assess", "disposal_approve", "disposal_reject", "disposal_execute",
                               "disposal_publicise"} == set(rules.ASSET_RULES)


@pytest.mark.parametrize("name", ASSET_STEPS)
def test_a_disposed_asset_takes_no_step_in_the_service_nor_on_the_page(rules_county, name):
    _areas, users, _departments, pv = rules_county
    lifecycle_services.ownership_submit(actor=users["village"], asset=pv)  # a registration waiting when it was disposed
    dispose(users, pv)
    before = written(pv)
    actor = users["county"]  # even the rules_county administrator
    with pytest.raises(ValidationError, match="已处置"):
        ASSET_STEPS[name][1](actor, pv)
    assert written(pv) == before
    assert rules.ASSET_RULES[name](actor, pv) is not None
    client = Client()
    client.force_login(actor)
    slug = ASSET_STEPS[name][0]
    url = f"/assets/{pv.code}/lifecycle/{slug}/"
    assert url not in client.get(f"/assets/{pv.code}/lifecycle/").content.decode()
    step_page = client.get(url).content.decode()
    assert "已处置" in step_page and 'class="step-form"' not in step_page
    assert client.post(url, {}).status_code == 409
    assert written(pv) == before


@pytest.mark.parametrize("name", ["ownership_submit", "welfare_post_record", "contract_record"])
def test_steps_that_bind_the_asset_wait_while_it_is_being_disposed(rules_county, name):
    _areas, users, _departments, pv = rules_county
    dispose(users, pv, execute=False)
    before = written(pv)
    with pytest.raises(ValidationError, match="处置正在办理"):
        ASSET_STEPS[name][1](users["village"], pv)
    assert written(pv) == before
    # custody and income go on until the disposal is carried out
    ASSET_STEPS["maintenance_record"][1](users["village"], pv)
    ASSET_STEPS["income_record"][1](users["village"], pv)


# ---------------------------------------------------------------- bounds on every date and amount (item 6)


def filed_plan(users, areas, office, *, publicised=False):
    pv_income = IncomeRecord.objects.filter(year=TODAY.year - 1).exists()
    plan = lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=TODAY.year - 1,
                                items=[PlanLine(PlanPurpose.COLLECTIVE, Decimal("1"))],
                                other_source="" if pv_income else "村集体积累", drafted_on=TODAY - 30 * DAY)
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY - 25 * DAY, attendance=9, minutes=PDF)
    lifecycle_services.plan_review(actor=users["township"], plan=plan)
    lifecycle_services.plan_file(actor=users["county"], plan=plan, department=office)
    if publicised:
        lifecycle_services.notice_record_paper(actor=users["village"], stage=PublicityStage.INCOME_PLAN,
                                      scope=PublicityScope.VILLAGE_BOARD, area=areas.west_south,
                                      starts_on=TODAY - 20 * DAY, ends_on=TODAY - 10 * DAY, plan=plan, photo=PNG,
                                      reason="张贴后补录")
    return DistributionPlan.objects.get(pk=plan.pk)


def _notice(kind):
    def call(ctx, **over):
        users, areas = ctx["users"], ctx["areas"]
        values = {"actor": users["village"], "stage": PublicityStage.INVENTORY, "scope": PublicityScope.VILLAGE_BOARD,
                  "area": areas.west_south, "starts_on": TODAY, "ends_on": TODAY + 6 * DAY, **over}
        if kind == "paper":
            return lifecycle_services.notice_record_paper(**values, photo=PNG, reason="补录")
        return lifecycle_services.notice_post(**values)
    return call


def _disposal_at(status):
    def setup(ctx):
        users, pv = ctx["users"], ctx["pv"]
        disposal = lifecycle_services.disposal_request(actor=users["village"], asset=pv, reason="unusable")
        if status in ("assessed", "approved"):
            lifecycle_services.disposal_assess(actor=users["county"], disposal=disposal, value=Decimal("1"), assessor="所",
                                      assessed_on=TODAY, report=PDF)
        if status == "approved":
            lifecycle_services.disposal_approve(actor=users["county"], disposal=disposal, authority="县", reference="1",
                                       approved_on=TODAY, document=PDF)
        return disposal
    return setup


SERVICES = {  # service: (call with valid values and overrides, date fields, amount fields)
    "handover_record": (lambda c, **o: lifecycle_services.handover_record(**{
        "actor": c["users"]["village"], "asset": c["pv"], "signed_on": TODAY, "handed_over_by": "镇",
        "received_by": "村", "custodian": "村", "scan": PDF, **o}), ["signed_on"], []),
    "maintenance_record": (lambda c, **o: lifecycle_services.maintenance_record(**{
        "actor": c["users"]["village"], "asset": c["pv"], "done_on": TODAY, "kind": "repair", "cost": Decimal("0.1"),
        "done_by": "乙", "description": "修", **o}), ["done_on"], ["cost"]),
    "custodian_change": (lambda c, **o: lifecycle_services.custodian_change(**{
        "actor": c["users"]["village"], "asset": c["pv"], "effective_on": TODAY, "unit": "乙", **o}),
        ["effective_on"], []),
    "welfare_post_record": (lambda c, **o: lifecycle_services.welfare_post_record(**{
        "actor": c["users"]["village"], "asset": c["pv"], "holder": "丙", "from_poor_household": True,
        "starts_on": TODAY, "ends_on": TODAY + 300 * DAY, "monthly_pay": Decimal("500"), **o}),
        ["starts_on", "ends_on"], ["monthly_pay"]),
    "contract_record": (lambda c, **o: lifecycle_services.contract_record(**{
        "actor": c["users"]["village"], "asset": c["pv"], "operator": "乙", "number": "1", "starts_on": TODAY,
        "ends_on": TODAY + 300 * DAY, "yearly_due": Decimal("2"), "mechanism": "归村集体", **o}),
        ["starts_on", "ends_on"], ["yearly_due"]),
    "income_record": (lambda c, **o: lifecycle_services.income_record(**{
        "actor": c["users"]["village"], "asset": c["pv"], "year": TODAY.year, "amount": Decimal("1"),
        "received_on": TODAY, **o}), ["received_on"], ["amount"]),
    "plan_draft": (lambda c, **o: lifecycle_services.plan_draft(
        actor=c["users"]["village"], village=c["areas"].west_south, year=TODAY.year - 1, other_source="积累",
        drafted_on=o.get("drafted_on", TODAY),
        items=[PlanLine(PlanPurpose.COLLECTIVE, o.get("items", Decimal("1")))]), ["drafted_on"], ["items"]),
    "plan_decide": (lambda c, **o: lifecycle_services.plan_decide(**{
        "actor": c["users"]["village"], "plan": lifecycle_services.plan_draft(
            actor=c["users"]["village"], village=c["areas"].west_south, year=TODAY.year - 1, other_source="积累",
            items=[PlanLine(PlanPurpose.COLLECTIVE, Decimal("1"))]),
        "meeting_on": TODAY, "attendance": 9, "minutes": PDF, **o}), ["meeting_on"], []),
    "plan_pay": (lambda c, **o: lifecycle_services.plan_pay(**{
        "actor": c["users"]["village"], "plan": filed_plan(c["users"], c["areas"], c["office"], publicised=True),
        "paid_on": TODAY, **o}), ["paid_on"], []),
    "disposal_assess": (lambda c, **o: lifecycle_services.disposal_assess(**{
        "actor": c["users"]["county"], "disposal": _disposal_at("requested")(c), "value": Decimal("1"),
        "assessor": "所", "assessed_on": TODAY, "report": PDF, **o}), ["assessed_on"], ["value"]),
    "disposal_approve": (lambda c, **o: lifecycle_services.disposal_approve(**{
        "actor": c["users"]["county"], "disposal": _disposal_at("assessed")(c), "authority": "县", "reference": "1",
        "approved_on": TODAY, "document": PDF, **o}), ["approved_on"], []),
    "disposal_execute": (lambda c, **o: lifecycle_services.disposal_execute(**{
        "actor": c["users"]["county"], "disposal": _disposal_at("approved")(c), "method": "auction",
        "executed_on": TODAY, "proceeds": Decimal("1"), "new_project": "道路", **o}), ["executed_on"], ["proceeds"]),
    "notice_post": (_notice("post"), ["starts_on", "ends_on"], []),
    "notice_record_paper": (_notice("paper"), ["starts_on", "ends_on"], []),
    "objection_record": (lambda c, **o: lifecycle_services.objection_record(**{
        "actor": c["users"]["village"], "notice": _notice("paper")(c, starts_on=TODAY - 3 * DAY,
                                                                   ends_on=TODAY + 3 * DAY),
        "raised_by": "甲", "text": "异议", "raised_on": TODAY, **o}), ["raised_on"], []),
}
DATES = [datetime.date(1, 1, 1), datetime.date(2099, 1, 1)]
AMOUNTS = [Decimal("9999999999.9999"), Decimal("-1")]
CASES = [(name, field, value) for name, (_call, dates, amounts) in SERVICES.items()
         for field, values in [*((f, DATES) for f in dates), *((f, AMOUNTS) for f in amounts)] for value in values]


@pytest.mark.parametrize(("name", "field", "value"), CASES, ids=[f"{n}-{f}-{v}" for n, f, v in CASES])
def test_every_date_and_amount_a_lifecycle_service_takes_is_bounded(rules_county, name, field, value):
    areas, users, departments, pv = rules_county
    ctx = {"areas": areas, "users": users, "office": departments["office"], "pv": pv}
    call = SERVICES[name][0]
    call(ctx)  # valid values pass (one-off steps run again on fresh records below)
    with pytest.raises(ValidationError) as refused:
        _fresh(ctx, name)(ctx, **{field: value})
    assert field in refused.value.message_dict, refused.value.message_dict


def _fresh(ctx, name):
    """One-off steps (a plan per village and year, a disposal per asset) run again on fresh records."""
    call = SERVICES[name][0]
    if name.startswith("plan_"):
        DistributionPlan.objects.filter(village=ctx["areas"].west_south).update(year=2001)  # out of the way
        return call
    if name.startswith("disposal_"):
        other = make_asset(actor=ctx["users"]["county"], area=ctx["areas"].west_south, name="另一座电站",
                           asset_type=AssetType.PV_STATION, geometry=centre(ctx["areas"].west_south))
        return lambda c, **o: call({**c, "pv": other}, **o)
    return call


# ---------------------------------------------------------------- publicity and payment in real time (item 1)


def test_a_notice_starts_no_earlier_than_the_day_it_is_posted(rules_county):
    areas, users, departments, _pv = rules_county
    post = _notice("post")
    ctx = {"users": users, "areas": areas}
    with pytest.raises(ValidationError, match="不能早于发布当天") as refused:
        post(ctx, starts_on=TODAY - DAY, ends_on=TODAY + 6 * DAY)
    assert "starts_on" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        post(ctx, starts_on=TODAY, ends_on=TODAY + 200 * DAY)
    assert "ends_on" in refused.value.message_dict
    assert not PublicityNotice.objects.exists()
    assert post(ctx, starts_on=TODAY + DAY, ends_on=TODAY + 7 * DAY).starts_on == TODAY + DAY


def test_a_paper_notice_is_entered_with_its_photo_and_reason_and_marked(rules_county):
    areas, users, _departments, _pv = rules_county
    values = {"actor": users["village"], "stage": PublicityStage.INVENTORY, "scope": PublicityScope.VILLAGE_BOARD,
              "area": areas.west_south, "starts_on": TODAY - 10 * DAY, "ends_on": TODAY - 4 * DAY}
    with pytest.raises(ValidationError) as refused:
        lifecycle_services.notice_record_paper(**values, photo=None, reason=" ")
    assert {"photo", "reason"} <= set(refused.value.message_dict)  # both at once
    with pytest.raises(ValidationError, match="照片或扫描件"):
        lifecycle_services.notice_record_paper(**values, photo=("x.docx", b"PK\x03\x04"), reason="补录")
    notice = lifecycle_services.notice_record_paper(**values, photo=PNG, reason="三月张贴，系统开通后补录")
    assert notice.from_paper and notice.paper_reason == "三月张贴，系统开通后补录"
    assert notice.history.get().history_change_reason.startswith("补录纸质公示")
    assert selectors.attachments_of(notice, "notice_photo").count() == 1
    client = Client()
    client.force_login(users["village"])
    html = client.get(f"/villages/{areas.west_south.code}/notices/{notice.pk}/").content.decode()
    assert "补录的纸质公示" in html and "三月张贴" in html and "张贴照片" in html


def test_a_plan_is_paid_only_after_its_period_has_run_with_every_objection_answered(rules_county):
    areas, users, departments, _pv = rules_county
    plan = filed_plan(users, areas, departments["office"])
    notice = lifecycle_services.notice_post(actor=users["village"], stage=PublicityStage.INCOME_PLAN,
                                   scope=PublicityScope.VILLAGE_BOARD, area=areas.west_south, starts_on=TODAY,
                                   ends_on=TODAY + 6 * DAY, plan=plan)
    assert rules.may_plan_pay(users["village"], plan) is not None
    for paid_on in (TODAY, TODAY + 7 * DAY):  # not while it runs, nor dated after it
        with pytest.raises(ValidationError, match="公示期满后"):
            lifecycle_services.plan_pay(actor=users["village"], plan=plan, paid_on=paid_on)
    objection = lifecycle_services.objection_record(actor=users["village"], notice=notice, raised_by="甲", text="异议",
                                           raised_on=TODAY)
    PublicityNotice.objects.filter(pk=notice.pk).update(starts_on=TODAY - 8 * DAY, ends_on=TODAY - DAY)  # a week on
    with pytest.raises(ValidationError, match="异议尚未答复"):
        lifecycle_services.plan_pay(actor=users["village"], plan=plan, paid_on=TODAY)
    lifecycle_services.objection_answer(actor=users["village"], objection=objection, check_result="核实", answer="答复")
    with pytest.raises(ValidationError) as refused:
        lifecycle_services.plan_pay(actor=users["village"], plan=plan, paid_on=TODAY - DAY)  # on the last day
    assert "paid_on" in refused.value.message_dict
    assert lifecycle_services.plan_pay(actor=users["village"], plan=plan, paid_on=TODAY).status == PlanStatus.PAID


# ---------------------------------------------------------------- the plan against the income (item 4)


def test_a_plan_is_checked_against_the_years_income_and_its_dates_are_in_order(rules_county):
    areas, users, _departments, pv = rules_county
    year = TODAY.year - 1
    lifecycle_services.income_record(actor=users["village"], asset=pv, year=year, amount=Decimal("6.5"), received_on=TODAY)
    draft = {"actor": users["village"], "village": areas.west_south, "year": year}
    with pytest.raises(ValidationError, match="超过本村") as refused:
        lifecycle_services.plan_draft(**draft, items=[PlanLine(PlanPurpose.COLLECTIVE, Decimal("7"))])
    assert "other_source" in refused.value.message_dict
    plan = lifecycle_services.plan_draft(**draft, items=[PlanLine(PlanPurpose.COLLECTIVE, Decimal("5"))],
                                drafted_on=TODAY - 5 * DAY)
    assert [w.code for w in selectors.plan_warnings(plan)] == ["below_income"]
    client = Client()
    client.force_login(users["township"])
    html = client.get(f"/villages/{areas.west_south.code}/plans/{year}/").content.decode()
    assert "1.5 万元未列入方案" in html and "方案没有提醒" not in html
    with pytest.raises(ValidationError, match="不能早于方案拟定") as refused:
        lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY - 6 * DAY, attendance=9,
                              minutes=PDF)
    with pytest.raises(ValidationError):
        lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY + DAY, attendance=9, minutes=PDF)
    IncomeRecord.objects.filter(asset=pv).update(amount=Decimal("4"))  # income corrected downwards
    with pytest.raises(ValidationError, match="超过本村"):
        lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=9, minutes=PDF)
    plan.other_source = "村集体积累"
    plan.save()
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=9, minutes=PDF)
    with pytest.raises(ValidationError, match="收益年度"):
        lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=TODAY.year + 1,
                             items=[PlanLine(PlanPurpose.COLLECTIVE, Decimal("1"))], other_source="积累")


# ---------------------------------------------------------------- reviews show and send back (item 5)


def test_reviewers_send_a_plan_back_with_a_reason_and_the_village_redrafts_it(rules_county):
    areas, users, departments, pv = rules_county
    year = TODAY.year - 1
    lifecycle_services.income_record(actor=users["village"], asset=pv, year=year, amount=Decimal("2"), received_on=TODAY)
    plan = lifecycle_services.plan_draft(actor=users["village"], village=areas.west_south, year=year,
                                items=[PlanLine(PlanPurpose.CASH, Decimal("2"), "全体农户")])
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=9, minutes=PDF)
    with pytest.raises(PermissionDenied):
        lifecycle_services.plan_return(actor=users["village"], plan=plan, reason="x")
    with pytest.raises(ValidationError, match="理由"):
        lifecycle_services.plan_return(actor=users["township"], plan=plan, reason=" ")
    client = Client()
    client.force_login(users["township"])
    url = f"/villages/{areas.west_south.code}/plans/{year}/"
    review = client.get(url + "review/").content.decode()
    assert "全体农户" in review and "<td class=\"num\">2</td>" in review and "会议记录" in review  # what is being decided
    assert url + "return/" in client.get(url).content.decode()
    assert client.post(url + "return/", {"reason": ""}).status_code == 200  # the reason is required
    assert client.post(url + "return/", {"reason": "全部发现金，请改为集体经济"}).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFTED and "全部发现金" in plan.returned_reason
    village = Client()
    village.force_login(users["village"])
    assert "全部发现金" in village.get(url).content.decode() and url + "redraft/" in village.get(url).content.decode()
    lifecycle_services.plan_redraft(actor=users["village"], plan=plan, items=[PlanLine(PlanPurpose.COLLECTIVE, Decimal("2"))])
    assert [i.purpose for i in plan.items.all()] == [PlanPurpose.COLLECTIVE]
    lifecycle_services.plan_decide(actor=users["village"], plan=plan, meeting_on=TODAY, attendance=9, minutes=PDF)
    lifecycle_services.plan_review(actor=users["township"], plan=plan)
    # filing: only the plan's own departments (its income came from a PV station: 扶贫办, not roads)
    assert selectors.todo_for(users["roads"]).get("plans_to_file") is None
    assert [p.pk for p in selectors.todo_for(users["department"])["plans_to_file"]] == [plan.pk]
    with pytest.raises(PermissionDenied):
        lifecycle_services.plan_file(actor=users["roads"], plan=plan, department=departments["roads"])
    with pytest.raises(ValidationError, match="主管部门"):
        lifecycle_services.plan_file(actor=users["county"], plan=plan, department=departments["roads"])
    lifecycle_services.plan_return(actor=users["department"], plan=plan, reason="缺少收益到账凭证")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFTED and plan.returned_reason.startswith("行业部门备案退回")


def test_ownership_review_shows_the_owners_and_documents_and_sends_back(rules_county):
    _areas, users, _departments, pv = rules_county
    lifecycle_services.handover_record(actor=users["village"], asset=pv, signed_on=TODAY, handed_over_by="西镇",
                              received_by="西南村", custodian="西南村村委", scan=PDF)
    lifecycle_services.ownership_submit(actor=users["village"], asset=pv)
    client = Client()
    client.force_login(users["department"])
    html = client.get(f"/assets/{pv.code}/lifecycle/ownership-decide/").content.decode()
    assert "批复.pdf" in html and "西南村村委" in html and "退回" in html
    assert client.post(f"/assets/{pv.code}/lifecycle/ownership-decide/", {"confirm": "0", "comment": ""}
                       ).status_code == 200
    assert client.post(f"/assets/{pv.code}/lifecycle/ownership-decide/", {"confirm": "0", "comment": "产权不清"}
                       ).status_code == 302
    assert pv.registrations.get().comment == "产权不清"
