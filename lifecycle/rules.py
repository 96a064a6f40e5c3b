"""Who may take a lifecycle step, and is it its turn (work plan 二(四)–(八), 三): written once. Every service
(lifecycle.services) refuses through its `may_<step>(actor, obj)`, and the pages (lifecycle.views) show a step's
button or form only when the same function returns None. A Refusal says why, in the user's language."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from geo_assets.access import scope_for
from geo_assets.models import (
    AdminArea,
    Asset,
    Attachment,
    Department,
    Disposal,
    DistributionPlan,
    IncomeRecord,
    Objection,
    PublicityNotice,
)
from geo_assets.taxonomy import (
    AssetStatus,
    Category,
    DisposalMethod,
    DisposalStatus,
    PlanStatus,
    RegistrationStep,
    Role,
)

# ---------------------------------------------------------------- who may act


def covers_area(actor, area: AdminArea) -> bool:
    """Is the area (a village or township) the actor's own, or the actor a county administrator?"""
    scope = scope_for(actor)
    if scope.is_county_admin:
        return True
    if scope.role == Role.TOWNSHIP:
        return area.pk == scope.area_id or area.parent_id == scope.area_id
    if scope.role == Role.VILLAGE:
        return area.pk == scope.area_id
    return False


# ---------------------------------------------------------------- step rules: who may take a step, and is it its turn
# Written once: every service below refuses through its `may_<step>`, and the pages show a step's button (or its
# form) only when the same function returns None. A Refusal says why in Chinese.


@dataclass(frozen=True)
class Refusal:
    message: str
    field: str = "status"
    who: bool = False  # the actor may never take it (PermissionDenied), rather than "not now" (ValidationError)

    def raise_(self):
        if self.who:
            raise PermissionDenied(self.message)
        raise ValidationError({self.field: self.message})


def enforce(refusal: "Refusal | None") -> None:
    if refusal is not None:
        refusal.raise_()


def _editor(actor, asset: Asset) -> Refusal | None:
    if not Asset.objects.editable_by(actor).filter(pk=asset.pk).exists():
        return Refusal("您无权办理这项资产的事项（不在您的辖区或行业范围内）。", who=True)
    return None


def _department(actor, asset: Asset, what: str) -> Refusal | None:
    scope = scope_for(actor)
    if scope.is_county_admin or (scope.role == Role.DEPARTMENT and asset.asset_type in scope.asset_types):
        return None
    return Refusal(f"{what}须由资产的县级主管行业部门或县级管理员办理。", who=True)


def _area_refusal(actor, area: AdminArea, what: str) -> Refusal | None:
    return None if covers_area(actor, area) else Refusal(f"{what}须由{area.name}所在的村、乡镇或县级管理员办理。",
                                                         who=True)


def _disposal_of(asset: Asset) -> Disposal | None:
    return Disposal.objects.filter(asset_id=asset.pk).first()


OPEN_DISPOSAL = (DisposalStatus.REQUESTED, DisposalStatus.ASSESSED, DisposalStatus.APPROVED)


def _alive(asset: Asset, *, nor_while_disposing: bool = False) -> Refusal | None:
    """A disposed asset takes no step any more (its records stay); steps that bind the asset for years (contracts,
    posts, ownership) also wait while a disposal is under way."""
    status = Asset.objects.filter(pk=asset.pk).values_list("status", flat=True).first() or asset.status
    disposal = _disposal_of(asset)
    if status == AssetStatus.DISPOSED or (disposal is not None and disposal.status == DisposalStatus.EXECUTED
                                          and disposal.method != DisposalMethod.RENEWAL):
        return Refusal("该资产已处置：不能再办理这一步（资产及其全部记录永久保留）。")
    if nor_while_disposing and disposal is not None and disposal.status in OPEN_DISPOSAL:
        return Refusal(f"该资产的处置正在办理（{DisposalStatus(disposal.status).label}）：处置驳回前不能办理这一步。")
    return None


def _first(*rules) -> Refusal | None:
    """The first refusal of several rules, evaluated in order (later ones may assume the earlier passed)."""
    for rule in rules:
        refusal = rule()
        if refusal is not None:
            return refusal
    return None


def may_ownership_submit(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset, nor_while_disposing=True),
                  lambda: Refusal("该资产已确权登记。", "registration") if asset.registrations.filter(
                      step=RegistrationStep.CONFIRMED).exists() else None,
                  lambda: Refusal("已提交确权，等待主管部门确认。", "registration") if asset.registrations.filter(
                      step=RegistrationStep.SUBMITTED).exists() else None)


def may_ownership_decide(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _department(actor, asset, "确权审核"), lambda: _alive(asset),
                  lambda: None if asset.registrations.filter(step=RegistrationStep.SUBMITTED).exists() else Refusal(
                      "没有等待确认的确权申请：请先由村、乡镇或主管部门提交。", "registration"))


def may_handover(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset))


def may_maintenance(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset))


def may_custodian_change(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset))


def may_welfare_post(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset, nor_while_disposing=True))


def may_contract(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset, nor_while_disposing=True),
                  lambda: None if asset.category == Category.OPERATING else Refusal("只有经营性资产签订经营协议。",
                                                                                   "asset"))


def may_income(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset))


def may_disposal_request(actor, asset: Asset) -> Refusal | None:
    disposal = _disposal_of(asset)
    return _first(lambda: _editor(actor, asset),
                  lambda: Refusal("该资产已处置。") if _alive(asset) is not None else None,
                  lambda: Refusal("该资产已有进行中的处置申请。") if disposal is not None
                  and disposal.status != DisposalStatus.REJECTED else None)


def _disposal_turn(asset: Asset, *expected: str) -> Refusal | None:
    disposal = _disposal_of(asset)
    if disposal is None:
        return Refusal("该资产没有处置申请：请先申请处置。")
    if disposal.status not in expected:
        wanted = "或".join(f"“{DisposalStatus(e).label}”" for e in expected)
        return Refusal(f"处置当前处于“{DisposalStatus(disposal.status).label}”，这一步须在{wanted}之后办理。")
    return None


def may_disposal_assess(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _department(actor, asset, "资产评估"), lambda: _disposal_turn(asset, DisposalStatus.REQUESTED))


def may_disposal_approve(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: None if scope_for(actor).is_county_admin else Refusal(
        "处置审批须由县级管理员（领导小组办公室）登记。", who=True), lambda: _disposal_turn(asset, DisposalStatus.ASSESSED))


def may_disposal_reject(actor, asset: Asset) -> Refusal | None:
    def turn():
        disposal = _disposal_of(asset)
        if disposal is None or disposal.status not in (DisposalStatus.REQUESTED, DisposalStatus.ASSESSED):
            return Refusal("只有未批准的处置申请可以驳回。")
        return None
    return _first(lambda: _department(actor, asset, "驳回处置申请"), turn)


def may_disposal_execute(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _disposal_turn(asset, DisposalStatus.APPROVED))


def may_disposal_publicise(actor, asset: Asset) -> Refusal | None:
    """The result of an executed disposal is publicised once (re-posting goes through the notice's own page)."""
    def turn():
        disposal = _disposal_of(asset)
        if disposal is None or disposal.status != DisposalStatus.EXECUTED:
            return Refusal("处置执行后才能公示处置结果。")
        if disposal.notices.exists():
            return Refusal("处置结果已经公示（再次公示请在公示页办理）。")
        return None
    village = asset.village
    return _first(lambda: _area_refusal(actor, village, "公示") if village else Refusal("资产不属于任何村。"), turn)


ASSET_RULES = {  # the service of each asset step → its rule (the pages look a step's rule up here)
    "ownership_submit": may_ownership_submit, "ownership_decide": may_ownership_decide,
    "handover_record": may_handover, "maintenance_record": may_maintenance, "custodian_change": may_custodian_change,
    "welfare_post_record": may_welfare_post, "contract_record": may_contract, "income_record": may_income,
    "disposal_request": may_disposal_request, "disposal_assess": may_disposal_assess,
    "disposal_approve": may_disposal_approve, "disposal_reject": may_disposal_reject,
    "disposal_execute": may_disposal_execute, "disposal_publicise": may_disposal_publicise,
}


def attachment_visible_to(user, attachment: Attachment) -> bool:
    """Staff who see the record's asset or area see its documents; the public only those posted with a notice."""
    if attachment.is_public:
        return True
    scope = scope_for(user)
    if not scope.sees_personal_data:
        return False
    record = attachment.record
    asset = getattr(record, "asset", None)
    if asset is not None:
        return Asset.objects.visible_to(user).filter(pk=asset.pk).exists()
    area = getattr(record, "village", None) or getattr(record, "area", None)
    return area is not None and (scope.reads_everything or scope.role == Role.DEPARTMENT or covers_area(user, area))


def _plan_turn(plan: DistributionPlan, expected: str) -> Refusal | None:
    if plan.status != expected:
        done, wanted = PlanStatus(plan.status).label, PlanStatus(expected).label
        return Refusal(f"方案当前处于“{done}”，这一步须在“{wanted}”之后办理。")
    return None


def _township_of(actor, plan: DistributionPlan) -> Refusal | None:
    scope = scope_for(actor)
    if scope.is_county_admin or (scope.role == Role.TOWNSHIP and plan.village.parent_id == scope.area_id):
        return None
    return Refusal("收益分配方案须由所在乡镇审核。", who=True)


def plan_departments(plan: DistributionPlan):
    """The departments a plan belongs to: those responsible for the types of the village's assets whose income of
    the year it distributes, or of the assets its items name; every department when neither is recorded."""
    types = set(IncomeRecord.objects.filter(asset__in=Asset.objects.in_area(plan.village), year=plan.year)
                .values_list("asset__asset_type", flat=True))
    types |= set(plan.items.filter(asset__isnull=False).values_list("asset__asset_type", flat=True))
    departments = Department.objects.exclude(asset_types=[])
    return departments.filter(asset_types__overlap=sorted(types)) if types else departments


def departments_filing_for(actor, plan: DistributionPlan):
    """The departments this actor may file the plan with: the plan's own; a department's clerk, only its own."""
    departments = plan_departments(plan)
    if scope_for(actor).is_county_admin:
        return departments
    return departments.filter(membership__user=actor)


def _filer(actor, plan: DistributionPlan) -> Refusal | None:
    scope = scope_for(actor)
    if scope.is_county_admin or (scope.role == Role.DEPARTMENT and departments_filing_for(actor, plan).exists()):
        return None
    return Refusal("备案须由方案所涉资产的县级主管行业部门或县级管理员办理。", who=True)


def _notice_ran(plan: DistributionPlan) -> Refusal | None:
    """Payment waits until the plan's publicity has run in real time, every objection answered."""
    notice = plan.notices.order_by("-ends_on", "-pk").first()
    today = timezone.localdate()
    if notice is None:
        return Refusal("方案尚未公示。", "paid_on")
    if notice.ends_on >= today:
        return Refusal(f"公示期到 {notice.ends_on} 结束：公示期满后（{notice.ends_on + datetime.timedelta(days=1)} "
                       f"起）才能兑付。", "paid_on")
    if Objection.objects.filter(notice__plan=plan, answered_at__isnull=True).exists():
        return Refusal("公示期内的异议尚未答复：全部核实答复后才能兑付。", "objections")
    return None


def may_plan_draft(actor, village: AdminArea) -> Refusal | None:
    return _area_refusal(actor, village, "收益分配方案")


def may_plan_decide(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, "村民会议决议"), lambda: _plan_turn(plan, PlanStatus.DRAFTED))


def may_plan_redraft(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, "收益分配方案"), lambda: _plan_turn(plan, PlanStatus.DRAFTED))


def may_plan_review(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _township_of(actor, plan), lambda: _plan_turn(plan, PlanStatus.DECIDED))


def may_plan_return(actor, plan: DistributionPlan) -> Refusal | None:
    """The reviewer sends it back: the township at its review, the department at its filing."""
    if plan.status == PlanStatus.DECIDED:
        return _township_of(actor, plan)
    if plan.status == PlanStatus.REVIEWED:
        return _filer(actor, plan)
    return Refusal(f"方案当前处于“{PlanStatus(plan.status).label}”：只有待乡镇审核或待备案的方案可以退回。")


def may_plan_file(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _filer(actor, plan), lambda: _plan_turn(plan, PlanStatus.REVIEWED))


def may_plan_publicise(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, "公示"), lambda: _plan_turn(plan, PlanStatus.FILED))


def may_plan_pay(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, "收益兑付"), lambda: _plan_turn(plan, PlanStatus.PUBLICISED),
                  lambda: _notice_ran(plan))


PLAN_RULES = {"plan_decide": may_plan_decide, "plan_redraft": may_plan_redraft, "plan_review": may_plan_review,
              "plan_return": may_plan_return, "plan_file": may_plan_file, "notice_post": may_plan_publicise,
              "plan_pay": may_plan_pay}


def may_notice_post(actor, area: AdminArea) -> Refusal | None:
    return _area_refusal(actor, area, "公示")


def may_notice_repost(actor, notice: PublicityNotice) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, notice.area, "公示"),
                  lambda: Refusal("这份公示已经再次公示过：请在最新的一份上办理。") if PublicityNotice.objects.filter(
                      reposts=notice).exists() else None,
                  lambda: Refusal("上一次公示的异议尚未全部核实答复，不能再次公示。", "objections")
                  if notice.objections.filter(answered_at__isnull=True).exists() else None)


def may_objection(actor, notice: PublicityNotice) -> Refusal | None:
    return _area_refusal(actor, notice.area, "异议登记和答复")
