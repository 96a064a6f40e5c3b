"""Pages of an asset's life after registration (issue 9): the to-do list, each workflow step of an asset and of a
village (distribution plan, publicity, annual review), attachments and the printable notice.

Views only translate: every rule lives in lifecycle.rules (checked by lifecycle.services), which is the authority on who may take a step and
when. A step's button and form show only when its rule (rules.may_<step>, the one the service itself applies)
lets the user take it now; otherwise the step page says why. A refusal from a service is shown on the form
(ValidationError) or as a 403 page with its Chinese message (PermissionDenied)."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from geo_assets.access import scope_for
from geo_assets.guards import staff_required, throttled
from geo_assets.models import (
    AdminArea,
    Asset,
    Attachment,
    Disposal,
    DistributionPlan,
    Objection,
    PublicityNotice,
)
from geo_assets.pdf import frozen_pdf
from geo_assets.privacy import mask_people, public_snapshot
from geo_assets.taxonomy import (
    PLAN_ORDER,
    TYPES_REQUIRING_NAMED_SHARES,
    AreaLevel,
    AssetStatus,
    Category,
    DisposalStatus,
    PlanStatus,
    PublicityScope,
    PublicityStage,
    RegistrationStep,
    Role,
)
from lifecycle import forms, rules, selectors, services
from lifecycle.selectors import asset_timeline
from lifecycle.services import PlanLine

MB = settings.ATTACHMENT_MAX_BYTES // 1024**2
DOCS = f"PDF、JPEG、PNG、HEIC、DOCX 或 XLSX，不超过 {MB} MB"


# ---------------------------------------------------------------- access and the generic step page


def denied(request, message: str):
    return render(request, "lifecycle/denied.html", {"message": message or "您无权办理这一步。"}, status=403)


STAFF_ONLY = "只有有角色的工作人员可以办理资产管理事项。"


def staff_pages(view):
    """Lifecycle pages are for accounts with a role (geo_assets.guards.staff_required): the public is sent to log in,
    or refused once logged in; a service's PermissionDenied becomes a 403 page that shows its message."""
    return staff_required(refused=denied, message=STAFF_ONLY)(view)


def errors_on(form, exc: ValidationError) -> None:
    """A service's refusal on the form: on the field it names, else above the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def must_fields_missing(form) -> None:
    """A form refused for its own fields also names the fields the rule requires that are still empty, so that one
    submission reports every wrong field at once (the service names them itself when the form is otherwise valid)."""
    for name, spec in form.fields.items():
        if getattr(spec, "must", False) and name not in form.errors and not form.cleaned_data.get(name):
            form.add_error(name, "必填。")


def step_page(request, *, title: str, form, run: Callable[[dict], object], back: str, needs=(),
              refusal=None, template="lifecycle/step.html", **context):
    """GET: the form with what the rule requires. POST: the service decides; on success back to `back`.
    `refusal`: the step's rule refuses it now (rules.Refusal): the page says why and offers no form (403 when
    the user may never take it, 409 for a refused submission of a step that is not yet its turn)."""
    if request.method == "POST" and refusal is None:
        if form.is_valid():
            try:
                with transaction.atomic():
                    run(form.cleaned_data)
            except ValidationError as exc:
                errors_on(form, exc)
            else:
                messages.success(request, f"{title}：已办理。")
                return redirect(back)
        else:
            must_fields_missing(form)
    status = 200 if refusal is None else 403 if refusal.who else 409 if request.method == "POST" else 200
    return render(request, template, {"title": title, "form": form, "needs": needs, "back": back,
                                      "refusal": refusal, **context}, status=status)


def _covers(user, area) -> bool:
    return rules.covers_area(user, area)  # the services' own definition of "its area"


def _sees_area(user, area) -> bool:
    scope = scope_for(user)
    return scope.reads_everything or scope.role == Role.DEPARTMENT or _covers(user, area)


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise Http404
    return year


def _area(code: str, *levels) -> AdminArea:
    return get_object_or_404(AdminArea.objects.select_related("parent"), code=code,
                             level__in=levels or (AreaLevel.VILLAGE,))


# ---------------------------------------------------------------- one asset's steps


@dataclass
class Life:
    """Where an asset stands in its workflows."""

    asset: Asset
    disposal: Disposal | None = None
    pending: object = None  # the ownership registration waiting for confirmation
    confirmed: bool = False

    @classmethod
    def of(cls, asset: Asset) -> "Life":
        registrations = list(asset.registrations.all())
        return cls(asset, Disposal.objects.filter(asset=asset).first(),
                   next((r for r in registrations if r.step == RegistrationStep.SUBMITTED), None),
                   any(r.step == RegistrationStep.CONFIRMED for r in registrations))

    def disposal_in(self, *statuses) -> bool:
        return self.disposal is not None and self.disposal.status in statuses


def _needs_disposal(life: Life) -> Disposal:
    if life.disposal is None:
        raise ValidationError({"status": "该资产没有处置申请：请先申请处置。"})
    return life.disposal


def _needs_registration(life: Life):
    if life.pending is None:
        raise ValidationError({"registration": "没有等待确认的确权申请：请先由村、乡镇或主管部门提交。"})
    return life.pending


@dataclass(frozen=True)
class AssetStep:
    group: str
    title: str
    form: type
    may: Callable[..., object]  # the step's rule, rules.may_<step>(actor, asset): None or the Refusal
    run: Callable[..., object]  # (actor, life, cleaned data)
    needs: tuple[str, ...] = ()
    form_kwargs: Callable[[Life], dict] = field(default=lambda life: {})


def _upload(data, name):
    return forms.upload(data.get(name))


ASSET_STEPS: dict[str, AssetStep] = {
    "ownership": AssetStep(
        "确权登记", "提交确权登记", forms.ConfirmForm, rules.may_ownership_submit,
        lambda actor, life, d: services.ownership_submit(actor=actor, asset=life.asset),
        ("已填写产权归属", "股权、债权类资产须列明全部产权主体及占股比例，合计 100%",
         "由资产所在村、乡镇或主管部门提交，县级主管行业部门确认")),
    "ownership-decide": AssetStep(
        "确权登记", "确权审核", forms.OwnershipDecideForm, rules.may_ownership_decide,
        lambda actor, life, d: services.ownership_decide(actor=actor, registration=_needs_registration(life),
                                                          confirm=d["confirm"], comment=d["comment"]),
        ("由资产的县级主管行业部门或县级管理员办理", "确认前须已上传签署的资产移交和管护责任书扫描件",
         "提交后产权份额不得改动（改动后请退回重新提交）", "退回时须写明理由")),
    "handover": AssetStep(
        "确权登记", "登记资产移交和管护责任书", forms.HandoverForm, rules.may_handover,
        lambda actor, life, d: services.handover_record(
            actor=actor, asset=life.asset, signed_on=d["signed_on"], handed_over_by=d["handed_over_by"],
            received_by=d["received_by"], custodian=d["custodian"], scan=_upload(d, "scan")),
        ("签署日期不晚于今天", f"已签署的责任书扫描件（必传：{DOCS}）")),
    "maintenance": AssetStep(
        "管护", "管护记录", forms.MaintenanceForm, rules.may_maintenance,
        lambda actor, life, d: services.maintenance_record(
            actor=actor, asset=life.asset, done_on=d["done_on"], kind=d["kind"], cost=d["cost"], done_by=d["done_by"],
            description=d["description"], photos=[forms.upload(p) for p in d["photos"]]),
        ("日期不晚于今天", "管护类型：日常维护、维修或更新", f"现场照片可选（{DOCS}）")),
    "custodian": AssetStep(
        "管护", "管护主体变更", forms.CustodianForm, rules.may_custodian_change,
        lambda actor, life, d: services.custodian_change(
            actor=actor, asset=life.asset, effective_on=d["effective_on"], unit=d["unit"], person=d["person"],
            phone=d["phone"]),
        ("新的管护单位必填", "原管护单位和责任人自动记入变更记录")),
    "welfare-post": AssetStep(
        "管护", "公益岗位", forms.WelfarePostForm, rules.may_welfare_post,
        lambda actor, life, d: services.welfare_post_record(
            actor=actor, asset=life.asset, holder=d["holder"], from_poor_household=d["from_poor_household"],
            starts_on=d["starts_on"], ends_on=d["ends_on"], monthly_pay=d["monthly_pay"]),
        ("优先吸纳脱贫家庭劳动力", "结束日期不早于开始日期")),
    "contract": AssetStep(
        "运营", "经营合同（新签或续签）", forms.ContractForm, rules.may_contract,
        lambda actor, life, d: services.contract_record(
            actor=actor, asset=life.asset, operator=d["operator"], number=d["number"], starts_on=d["starts_on"],
            ends_on=d["ends_on"], yearly_due=d["yearly_due"], mechanism=d["mechanism"],
            risk_clauses=d["risk_clauses"], renews=d["renews"], scan=_upload(d, "scan")),
        ("只有经营性资产签订经营协议", "结束日期晚于开始日期", "写明带贫减贫机制", "续签时选择原合同",
         f"合同扫描件可选（{DOCS}）", f"到期前 {selectors.CONTRACT_WARNING_DAYS} 天起提醒，到期未续签也提醒"),
        lambda life: {"asset": life.asset}),
    "income": AssetStep(
        "收益", "收益到账", forms.IncomeForm, rules.may_income,
        lambda actor, life, d: services.income_record(
            actor=actor, asset=life.asset, year=d["year"], amount=d["amount"], received_on=d["received_on"],
            note=d["note"]),
        ("收益年度不晚于今年", "到账日期不晚于今天")),
    "disposal": AssetStep(
        "处置", "申请处置", forms.DisposalRequestForm, rules.may_disposal_request,
        lambda actor, life, d: services.disposal_request(actor=actor, asset=life.asset, reason=d["reason"],
                                                          note=d["note"]),
        ("处置原因：运行不良、无法使用、达到使用年限或合同到期",
         "之后须经主管部门评估、县级审批，执行后资产才转为“已处置”")),
    "disposal-assess": AssetStep(
        "处置", "资产评估", forms.DisposalAssessForm, rules.may_disposal_assess,
        lambda actor, life, d: services.disposal_assess(
            actor=actor, disposal=_needs_disposal(life), value=d["value"], assessor=d["assessor"],
            assessed_on=d["assessed_on"], report=_upload(d, "report")),
        ("由县级主管行业部门或县级管理员办理", "须在处置申请之后", "评估机构或评估人",
         f"评估报告（必传：{DOCS}）")),
    "disposal-approve": AssetStep(
        "处置", "处置审批", forms.DisposalApproveForm, rules.may_disposal_approve,
        lambda actor, life, d: services.disposal_approve(
            actor=actor, disposal=_needs_disposal(life), authority=d["authority"], reference=d["reference"],
            approved_on=d["approved_on"], document=_upload(d, "document")),
        ("由县级管理员（领导小组办公室）登记", "须在资产评估之后", "审批机关和批复文号", f"批复文件（必传：{DOCS}）")),
    "disposal-reject": AssetStep(
        "处置", "驳回处置申请", forms.DisposalRejectForm, rules.may_disposal_reject,
        lambda actor, life, d: services.disposal_reject(actor=actor, disposal=_needs_disposal(life),
                                                         reason=d["reason"]),
        ("由县级主管行业部门或县级管理员办理", "只能驳回尚未批准的申请", "写明驳回理由")),
    "disposal-execute": AssetStep(
        "处置", "处置执行", forms.DisposalExecuteForm, rules.may_disposal_execute,
        lambda actor, life, d: services.disposal_execute(
            actor=actor, disposal=_needs_disposal(life), method=d["method"], executed_on=d["executed_on"],
            proceeds=d["proceeds"], new_project=d["new_project"]),
        ("须在处置审批之后", "执行日期不早于批复日期", "有处置收入时写明统筹用于的新扶贫项目",
         "执行后资产转为“已处置”，资产及其全部记录永久保留")),
    "disposal-notice": AssetStep(
        "处置", "公示处置结果", forms.NoticeForm, rules.may_disposal_publicise,
        lambda actor, life, d: services.notice_post(
            actor=actor, stage=PublicityStage.DISPOSAL, scope=d["scope"], area=life.asset.village,
            starts_on=d["starts_on"], ends_on=d["ends_on"], title=d["title"], disposal=_needs_disposal(life)),
        ("须在处置执行之后", "由资产所在村、乡镇或县级管理员发布", "公示期从发布当天或之后开始，不少于 7 天（首尾两天都算）",
         "公示内容在发布时固定：资产、评估价值、批复、处置方式、收入及其用途"),
        lambda life: {"stages": [(PublicityStage.DISPOSAL, PublicityStage.DISPOSAL.label)], "initial": _notice_dates()}),
}


class PublicVersion(Exception):  # noqa: N818 - a way out of a view, not an error
    """An asset outside the user's scope that the public may see: its public page instead of its workflows."""

    def __init__(self, asset):
        super().__init__(asset.code)
        self.url = f"/assets/{quote(asset.code)}/"


def public_version(view):
    """An asset page outside the user's scope: its public version instead (PublicVersion)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PublicVersion as public:
            return redirect(public.url)

    return wrapper


def _visible_asset(request, code: str) -> Asset:
    """An asset of the user's scope. Outside it, a published asset sends the user to its public version
    (PublicVersion, which public_version answers); an unpublished one is as absent as a missing one (404)."""
    asset = get_object_or_404(Asset.objects.openable_by(request.user).select_related("village", "township"),
                              code=code)
    if not asset.in_scope:
        raise PublicVersion(asset)
    return asset


def _asset_url(asset, step: str = "") -> str:
    return f"/assets/{quote(asset.code)}/lifecycle/{step and step + '/'}"


@require_GET
@staff_pages
@public_version
def asset_lifecycle(request, code: str):
    """The asset's workflows: where each stands, the steps this user may take now, and the whole timeline."""
    asset = _visible_asset(request, code)
    life = Life.of(asset)
    groups: dict[str, list] = {}
    for slug, step in ASSET_STEPS.items():
        groups.setdefault(step.group, [])
        if step.may(request.user, asset) is None:
            groups[step.group].append((step.title, _asset_url(asset, slug)))
    owners = list(asset.owners.filter(share__gt=0))
    return render(request, "lifecycle/asset.html", {
        "asset": asset, "life": life, "groups": groups, "owners": owners,
        "warnings": selectors.contract_warnings(assets=Asset.objects.filter(pk=asset.pk)),
        "timeline": asset_timeline(asset, request.user), "show_authors": True,
    })


@require_http_methods(["GET", "POST"])
@staff_pages
@public_version
def asset_step(request, code: str, step: str):
    asset = _visible_asset(request, code)
    spec = ASSET_STEPS.get(step) or _not_found()
    life = Life.of(asset)
    data = (request.POST, request.FILES) if request.method == "POST" else ()
    form = spec.form(*data, **spec.form_kwargs(life))
    owners = list(asset.owners.filter(share__gt=0))
    scans = [a for letter in asset.handover_letters.all()
             for a in selectors.attachments_of(letter, Attachment.Kind.HANDOVER)]
    return step_page(
        request, title=spec.title, form=form, needs=spec.needs, back=_asset_url(asset),
        run=lambda d: spec.run(request.user, life, d), refusal=spec.may(request.user, asset),
        asset=asset, life=life, group=spec.group, owners=owners, share_total=sum(o.share for o in owners),
        equity=asset.asset_type in TYPES_REQUIRING_NAMED_SHARES, handover_scan=bool(scans), handover_scans=scans,
        letters=list(asset.handover_letters.all()),
        disposal_documents=selectors.attachments_of(life.disposal) if life.disposal else (),
        warnings=selectors.contract_warnings(assets=Asset.objects.filter(pk=asset.pk)) if step == "contract" else (),
    )


def _not_found():
    raise Http404


# ---------------------------------------------------------------- a village's distribution plans


def _plan_url(plan, step: str = "") -> str:
    return f"/villages/{plan.village.code}/plans/{plan.year}/{step and step + '/'}"


def _notice_dates() -> dict:
    today = timezone.localdate()
    return {"starts_on": today, "ends_on": today + datetime.timedelta(days=settings.PUBLICITY_MIN_DAYS - 1),
            "scope": PublicityScope.VILLAGE_BOARD}


@dataclass(frozen=True)
class PlanStep:
    title: str
    may: Callable  # the step's rule, rules.may_plan_<step>(actor, plan): None or the Refusal
    needs: tuple[str, ...]
    form: Callable  # (user, plan, data) -> form
    run: Callable  # (actor, plan, cleaned data)


PERIOD = f"公示期不少于 {settings.PUBLICITY_MIN_DAYS} 天（首尾两天都算）"
PLAN_STEPS: dict[str, PlanStep] = {
    "decide": PlanStep(
        "村民会议决议", rules.may_plan_decide,
        ("由本村（或所在乡镇、县级管理员）登记", "须在方案拟定之后", "会议日期不晚于今天，填写参会人数",
         f"村民会议记录（必传：{DOCS}）"),
        lambda user, plan, data: forms.PlanDecideForm(*data),
        lambda actor, plan, d: services.plan_decide(actor=actor, plan=plan, meeting_on=d["meeting_on"],
                                                     attendance=d["attendance"], minutes=forms.upload(d["minutes"]))),
    "review": PlanStep(
        "乡镇审核通过", rules.may_plan_review,
        ("由所在乡镇人民政府审核", "须在村民会议决议之后", "分配金额不超过本村当年记录的收益（超出须写明其他来源）",
         "不得把全部收益直接发给农户（“一分了之”）", "股权分红须与确权的占股比例一致",
         "有红色提醒的方案请退回重新拟定（写明理由）"),
        lambda user, plan, data: forms.ConfirmForm(*data),
        lambda actor, plan, d: services.plan_review(actor=actor, plan=plan)),
    "return": PlanStep(
        "退回重新拟定", rules.may_plan_return,
        ("乡镇审核时由乡镇、备案时由主管部门退回", "写明退回理由：村里据此重新拟定或重新召开村民会议"),
        lambda user, plan, data: forms.ReturnForm(*data),
        lambda actor, plan, d: services.plan_return(actor=actor, plan=plan, reason=d["reason"])),
    "file": PlanStep(
        "行业部门备案", rules.may_plan_file,
        ("由方案所涉资产（当年有收益的资产）的县级主管行业部门或县级管理员办理", "须在乡镇审核之后",
         "有问题的方案请退回重新拟定（写明理由）"),
        lambda user, plan, data: _file_form(user, plan, data),
        lambda actor, plan, d: services.plan_file(actor=actor, plan=plan, department=d["department"])),
    "publicise": PlanStep(
        "公示", rules.may_plan_publicise,
        ("须在行业部门备案之后", PERIOD, "公示期从发布当天或之后开始", "公示内容在发布时固定：个人姓名脱敏，不含电话"),
        lambda user, plan, data: forms.NoticeForm(
            *data, stages=[(PublicityStage.INCOME_PLAN, PublicityStage.INCOME_PLAN.label)], initial=_notice_dates()),
        lambda actor, plan, d: services.notice_post(
            actor=actor, stage=PublicityStage.INCOME_PLAN, scope=d["scope"], area=plan.village,
            starts_on=d["starts_on"], ends_on=d["ends_on"], title=d["title"], plan=plan)),
    "pay": PlanStep(
        "兑付", rules.may_plan_pay,
        ("公示期满（最后一天过后）才能兑付，兑付日期在公示期之后、不晚于今天", "公示期内的异议须全部核实并答复"),
        lambda user, plan, data: forms.PlanPayForm(*data, initial={"paid_on": timezone.localdate()}),
        lambda actor, plan, d: services.plan_pay(actor=actor, plan=plan, paid_on=d["paid_on"])),
}


def _file_form(user, plan, data):
    form = forms.PlanFileForm(*data)
    form.fields["department"].queryset = rules.departments_filing_for(user, plan)
    return form


def _visible_village(request, code: str) -> AdminArea:
    village = _area(code)
    if not _sees_area(request.user, village):
        raise PermissionDenied(f"您的角色看不到{village.name}的收益分配和公示事项。")
    return village


@require_GET
@staff_pages
def plan_list(request, code: str):
    village = _visible_village(request, code)
    plans = DistributionPlan.objects.filter(village=village).order_by("-year")
    return render(request, "lifecycle/plans.html", {
        "village": village, "plans": plans, "can_draft": rules.may_plan_draft(request.user, village) is None,
        "last_year": timezone.localdate().year - 1,
    })


def _village_assets(village):
    return Asset.objects.in_area(village).exclude(status=AssetStatus.DISPOSED).filter(
        category=Category.OPERATING).order_by("code")


@require_http_methods(["GET", "POST"])
@staff_pages
def plan_draft(request, code: str):
    return _plan_form(request, _visible_village(request, code))


@require_http_methods(["GET", "POST"])
@staff_pages
def plan_redraft(request, code: str, year: int):
    """A plan sent back (退回重新拟定) drafted again: its items replaced, then to the village meeting again."""
    village = _visible_village(request, code)
    return _plan_form(request, village, _plan(village, year))


def _plan_form(request, village, plan=None):
    assets = list(_village_assets(village))
    post = (request.POST,) if request.method == "POST" else ()
    year = plan.year if plan else timezone.localdate().year - 1
    form = forms.PlanForm(*post, initial={"year": year, "other_source": plan.other_source if plan else ""})
    if plan is not None:
        form.fields["year"].disabled = True
    current = [{"purpose": i.purpose, "amount": i.amount, "recipient": i.recipient, "asset": i.asset_id or ""}
               for i in plan.items.all()] if plan else []
    items = forms.PlanItemFormSet(*post, prefix="items", form_kwargs={"assets": assets}, initial=current or None)
    refusal = rules.may_plan_redraft(request.user, plan) if plan else rules.may_plan_draft(request.user,
                                                                                                   village)
    if request.method == "POST" and refusal is None and all([form.is_valid(), items.is_valid()]):
        by_pk = {str(a.pk): a for a in assets}
        lines = [PlanLine(i["purpose"], i["amount"], i["recipient"].strip(), by_pk.get(str(i["asset"])))
                 for i in items.cleaned_data if i.get("purpose")]
        try:
            if plan is None:
                plan = services.plan_draft(actor=request.user, village=village, year=form.cleaned_data["year"],
                                            items=lines, other_source=form.cleaned_data["other_source"])
            else:
                services.plan_redraft(actor=request.user, plan=plan, items=lines,
                                       other_source=form.cleaned_data["other_source"])
        except ValidationError as exc:
            errors_on(form, exc)
        else:
            messages.success(request, "收益分配方案已拟定：请召开村民会议决议。")
            return redirect(_plan_url(plan))
    income_year = form.cleaned_data.get("year", year) if form.is_bound and form.is_valid() else year
    status = 403 if refusal is not None and refusal.who else 200
    return render(request, "lifecycle/plan_draft.html", {
        "village": village, "form": form, "items": items, "income": selectors.village_income(village, income_year),
        "income_year": income_year, "refusal": refusal, "plan": plan, "back": f"/villages/{village.code}/plans/",
        "needs": ("由本村（或所在乡镇、县级管理员）拟定", "每村每年一个方案；金额合计即可分配收益总额",
                  "分配合计不超过本村当年记录的收益；超出时写明其他资金来源，少于收益时会提醒",
                  "优先用于村集体经济、公益事业、公益岗位和缺乏劳动能力的人口，避免简单发钱发物、“一分了之”",
                  "股权分红须写明产权主体（对象）和来源资产，金额与占股比例一致"),
    }, status=status)


def _plan(village, year: int) -> DistributionPlan:
    return get_object_or_404(DistributionPlan.objects.select_related("village__parent", "department"),
                             village=village, year=_year(year))


@require_GET
@staff_pages
def plan_detail(request, code: str, year: int):
    village = _visible_village(request, code)
    plan = _plan(village, year)
    done = PLAN_ORDER.index(plan.status)
    actions = [(step.title, _plan_url(plan, slug)) for slug, step in PLAN_STEPS.items()
               if step.may(request.user, plan) is None]
    if rules.may_plan_redraft(request.user, plan) is None:
        actions.insert(0, ("重新拟定", _plan_url(plan, "redraft")))
    return render(request, "lifecycle/plan.html", {
        "village": village, "plan": plan, "items": plan.items.select_related("asset"),
        "warnings": selectors.plan_warnings(plan), "actions": actions,
        "income": selectors.village_income(village, plan.year),
        "steps": [(PlanStatus(s).label, i <= done) for i, s in enumerate(PLAN_ORDER)],
        "minutes": selectors.attachments_of(plan, Attachment.Kind.MINUTES),
        "notices": plan.notices.order_by("starts_on").prefetch_related("objections"),
    })


@require_http_methods(["GET", "POST"])
@staff_pages
def plan_step(request, code: str, year: int, step: str):
    village = _visible_village(request, code)
    plan = _plan(village, year)
    spec = PLAN_STEPS.get(step) or _not_found()
    data = (request.POST, request.FILES) if request.method == "POST" else ()
    return step_page(
        request, title=spec.title, form=spec.form(request.user, plan, data), needs=spec.needs, back=_plan_url(plan),
        run=lambda d: spec.run(request.user, plan, d), refusal=spec.may(request.user, plan),
        plan=plan, village=village, warnings=selectors.plan_warnings(plan),
        plan_items=plan.items.select_related("asset"), income=selectors.village_income(village, plan.year),
        minutes=selectors.attachments_of(plan, Attachment.Kind.MINUTES),
    )


# ---------------------------------------------------------------- publicity notices and objections


def _notice_area(request, code: str, *, public: bool = False) -> AdminArea:
    area = _area(code, AreaLevel.VILLAGE, AreaLevel.TOWNSHIP)
    if not public and not _sees_area(request.user, area):
        raise PermissionDenied(f"您的角色看不到{area.name}的公示事项。")
    return area


def _notice_url(notice, step: str = "") -> str:
    return f"/villages/{notice.area.code}/notices/{notice.pk}/{step and step + '/'}"


@require_GET
@throttled
def notice_list(request, code: str):
    """The area's notices: anyone may read them (知情权); staff also reach objections and the next steps."""
    area = _notice_area(request, code, public=True)
    staff = scope_for(request.user).sees_personal_data and _sees_area(request.user, area)
    notices = list(PublicityNotice.objects.filter(area=area).select_related("reposts").order_by("-starts_on", "-pk"))
    for notice in notices if not staff else ():
        notice.title = mask_people(notice.title)  # free text, shown to the public: never saved
    return render(request, "lifecycle/notices.html", {
        "area": area, "notices": notices, "staff": staff, "can_post": staff and _covers(request.user, area),
        "today": timezone.localdate(),
    })


LEDGER_STAGES = [(PublicityStage.INVENTORY, PublicityStage.INVENTORY.label),
                 (PublicityStage.OWNERSHIP, PublicityStage.OWNERSHIP.label)]


def _elsewhere(user, area) -> list[tuple[str, str]]:
    """Notices posted from their own pages: a filed plan's from the plan, an executed disposal's from the asset."""
    links = [(f"{p.year} 年度收益分配方案：公示", _plan_url(p, "publicise"))
             for p in DistributionPlan.objects.filter(village=area, status=PlanStatus.FILED).select_related("village")
             if rules.may_plan_publicise(user, p) is None]
    for disposal in Disposal.objects.filter(asset__in=Asset.objects.in_area(area), status=DisposalStatus.EXECUTED,
                                            notices__isnull=True).select_related("asset"):
        if rules.may_disposal_publicise(user, disposal.asset) is None:
            links.append((f"{disposal.asset.code} {disposal.asset.name}：公示处置结果",
                          _asset_url(disposal.asset, "disposal-notice")))
    return links


def _ledger_notice(request, code: str, *, paper: bool):
    area = _notice_area(request, code)
    data = (request.POST, request.FILES) if request.method == "POST" else ()
    stage = request.GET.get("stage", PublicityStage.INVENTORY)
    initial = {**_notice_dates(), "stage": stage if stage in dict(LEDGER_STAGES) else PublicityStage.INVENTORY}
    form = (forms.PaperNoticeForm if paper else forms.NoticeForm)(*data, stages=LEDGER_STAGES, initial=initial)

    def run(d):
        common = {"actor": request.user, "stage": d["stage"], "scope": d["scope"], "area": area,
                  "starts_on": d["starts_on"], "ends_on": d["ends_on"], "title": d["title"]}
        if paper:
            return services.notice_record_paper(**common, photo=forms.upload(d.get("photo")), reason=d["reason"])
        return services.notice_post(**common)

    needs = ((PERIOD, "已经张贴的纸质公示：写明张贴的起止日期（可早于今天）", "必须上传张贴的公示照片或扫描件，并写明补录原因",
              "补录的公示在公示页上标明“补录的纸质公示”，留有记录")
             if paper else
             (PERIOD, "公示期从发布当天或之后开始（已经张贴的纸质公示请用“补录纸质公示”）",
              "清产核资台账、确权登记台账：公示发布时本区域在册资产的公开信息", "公示内容在发布时固定：个人姓名脱敏，不含电话"))
    return step_page(request, title=f"{area.name} {'补录纸质公示' if paper else '发布公示'}", form=form, run=run,
                     back=f"/villages/{area.code}/notices/", needs=needs,
                     refusal=rules.may_notice_post(request.user, area), area=area,
                     elsewhere=_elsewhere(request.user, area), paper=paper,
                     stage_elsewhere=stage in (PublicityStage.INCOME_PLAN, PublicityStage.DISPOSAL))


@require_http_methods(["GET", "POST"])
@staff_pages
def notice_new(request, code: str):
    """Ledger notices (清产核资、确权登记) of an area; plans and disposals are publicised from their own pages."""
    return _ledger_notice(request, code, paper=False)


@require_http_methods(["GET", "POST"])
@staff_pages
def notice_paper(request, code: str):
    """A paper ledger notice already posted, entered afterwards with its photo and reason (audited)."""
    return _ledger_notice(request, code, paper=True)


def _notice(area, pk: int) -> PublicityNotice:
    return get_object_or_404(PublicityNotice.objects.select_related("area", "plan", "disposal__asset", "reposts"),
                             area=area, pk=pk)


@require_GET
@staff_pages
def notice_detail(request, code: str, pk: int):
    area = _notice_area(request, code)
    notice = _notice(area, pk)
    covers = _covers(request.user, area)
    objections = list(notice.objections.order_by("raised_on", "pk"))
    return render(request, "lifecycle/notice.html", {
        "area": area, "notice": notice, "objections": objections, "covers": covers,
        "can_repost": rules.may_notice_repost(request.user, notice) is None,
        "paper_photos": selectors.attachments_of(notice, Attachment.Kind.NOTICE_PHOTO),
        "open_objections": sum(1 for o in objections if o.answered_at is None),
        **_snapshot_context(notice),
    })


@require_http_methods(["GET", "POST"])
@staff_pages
def objection_new(request, code: str, pk: int):
    area = _notice_area(request, code)
    notice = _notice(area, pk)
    data = (request.POST,) if request.method == "POST" else ()
    form = forms.ObjectionForm(*data, initial={"raised_on": min(timezone.localdate(), notice.ends_on)})
    return step_page(
        request, title="登记异议", form=form, back=_notice_url(notice), notice=notice,
        refusal=rules.may_objection(request.user, notice), needs=(f"异议须在公示期内提出（{notice.starts_on} 至 {notice.ends_on}）", "写明异议内容",
                              "登记后须核实并答复，答复前不能再次公示，收益分配方案不能兑付"),
        run=lambda d: services.objection_record(actor=request.user, notice=notice, raised_by=d["raised_by"],
                                                 text=d["text"], raised_on=d["raised_on"], contact=d["contact"]))


@require_http_methods(["GET", "POST"])
@staff_pages
def objection_answer(request, code: str, pk: int, objection: int):
    area = _notice_area(request, code)
    notice = _notice(area, pk)
    item = get_object_or_404(Objection, notice=notice, pk=objection)
    data = (request.POST,) if request.method == "POST" else ()
    form = forms.AnswerForm(*data, initial={"check_result": item.check_result, "answer": item.answer})
    return step_page(
        request, title="异议核实答复", form=form, back=_notice_url(notice), notice=notice,
        refusal=rules.may_objection(request.user, notice), objection=item, needs=("写明核实情况", "写明答复"),
        run=lambda d: services.objection_answer(actor=request.user, objection=item, check_result=d["check_result"],
                                                 answer=d["answer"]))


@require_http_methods(["GET", "POST"])
@staff_pages
def notice_repost(request, code: str, pk: int):
    area = _notice_area(request, code)
    notice = _notice(area, pk)
    data = (request.POST,) if request.method == "POST" else ()
    form = forms.NoticeForm(*data, stages=[(notice.stage, PublicityStage(notice.stage).label)],
                            initial={**_notice_dates(), "scope": notice.scope, "title": notice.title})
    return step_page(
        request, title="再次公示", form=form, back=f"/villages/{area.code}/notices/", notice=notice,
        refusal=rules.may_notice_repost(request.user, notice),
        needs=("上一次公示的异议须全部核实答复", PERIOD, "再次公示的内容按发布时的情况重新固定"),
        run=lambda d: services.notice_post(
            actor=request.user, stage=notice.stage, scope=d["scope"], area=area, starts_on=d["starts_on"],
            ends_on=d["ends_on"], title=d["title"], plan=notice.plan, disposal=notice.disposal, reposts=notice))


# ---------------------------------------------------------------- annual review, to-do


@require_GET
@staff_pages
def annual(request, code: str, year: int):
    village = _area(code)
    scope = scope_for(request.user)
    if not (scope.reads_everything or _covers(request.user, village)):
        raise PermissionDenied("年度清查清算由本村、所在乡镇或县级查看。")
    review = selectors.annual_review(village=village, year=_year(year))
    return render(request, "lifecycle/annual.html", {"village": village, "year": year, "review": review,
                                                     "previous": year - 1, "next": year + 1})


TODO_LABELS = {
    "ownership_to_confirm": "待确认的确权登记",
    "disposals_to_assess": "待评估的处置申请",
    "disposals_to_approve": "待审批的处置",
    "disposals_to_execute": "待执行的处置",
    "plans_to_decide": "待村民会议决议的收益分配方案",
    "plans_to_review": "待乡镇审核的收益分配方案",
    "plans_to_file": "待备案的收益分配方案",
    "plans_to_publicise": "待公示的收益分配方案",
    "plans_to_pay": "待兑付的收益分配方案",
    "objections_to_answer": "待核实答复的公示异议",
    "contracts": "经营合同到期提醒",
}


@dataclass(frozen=True)
class TodoRow:
    text: str
    url: str
    village_id: int | None  # the village it belongs to (counts on the map's village panel)
    level: str = ""  # contract warnings: red or yellow


def todo_rows(user) -> dict[str, list[TodoRow]]:
    """selectors.todo_for as rows, each with a link to the step's form."""
    steps = {"ownership_to_confirm": "ownership-decide", "disposals_to_assess": "disposal-assess",
             "disposals_to_approve": "disposal-approve", "disposals_to_execute": "disposal-execute"}
    rows: dict[str, list[TodoRow]] = {}
    for key, items in selectors.todo_for(user).items():
        if key in steps:
            rows[key] = [TodoRow(f"{i.asset.code} {i.asset.name}", _asset_url(i.asset, steps[key]), i.asset.village_id)
                         for i in items]
        elif key.startswith("plans_to_"):
            rows[key] = [TodoRow(f"{p.village.name} {p.year} 年度收益分配方案", _plan_url(p, key.rsplit("_", 1)[1]),
                                 p.village_id) for p in items]
        elif key == "objections_to_answer":
            rows[key] = [TodoRow(f"{o.notice.title}：{o.raised_by} {o.raised_on} 提出的异议",
                                 _notice_url(o.notice, f"objections/{o.pk}/answer"), o.notice.area_id) for o in items]
        elif key == "contracts":
            rows[key] = [TodoRow(w.message, _asset_url(w.asset, "contract") if w.asset else "",
                                 w.asset.village_id if w.asset else None, w.level) for w in items]
    return rows


def _village_id(code: str) -> int | None:
    return AdminArea.objects.filter(code=code[:12], level=AreaLevel.VILLAGE).values_list("pk", flat=True).first()


@require_GET
def todo(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    rows = todo_rows(request.user)
    village = _village_id(request.GET.get("village", "")) if request.GET.get("village") else None
    if village:
        rows = {k: [r for r in v if r.village_id == village] for k, v in rows.items()}
    sections = [(TODO_LABELS.get(k, k), v) for k, v in rows.items() if v]
    return render(request, "lifecycle/todo.html", {
        "sections": sections, "total": sum(len(v) for _k, v in sections),
        "village": AdminArea.objects.filter(pk=village).first() if village else None,
    })


@require_GET
def todo_counts(request):
    """What waits for the logged-in user in one village, for the map's village panel; anonymous: nothing."""
    if not scope_for(request.user).sees_personal_data:
        return JsonResponse({})
    code = request.GET.get("village", "").strip()
    village = _village_id(code)
    if village is None:
        return JsonResponse({})
    counts = {k: sum(1 for r in v if r.village_id == village) for k, v in todo_rows(request.user).items()}
    items = [{"key": k, "label": TODO_LABELS.get(k, k), "count": n} for k, n in counts.items() if n]
    return JsonResponse({"village": code, "total": sum(i["count"] for i in items), "items": items,
                         "url": f"/todo/?village={quote(code)}"})


# ---------------------------------------------------------------- attachments and printable notices


@require_GET
def attachment_download(request, pk: int):
    """A document to whoever may see its record; the public only published ones; 404 otherwise. Served as a
    download (Content-Disposition: attachment, nosniff) with the type detected at upload, never the uploader's."""
    attachment = Attachment.objects.filter(pk=pk).first()
    if attachment is None or not rules.attachment_visible_to(request.user, attachment):
        raise Http404
    # always a download, under the type detected at upload and a name with its extension (older rows too)
    kind = {mime: kind for kind, mime in services.ATTACHMENT_TYPES.items()}.get(attachment.mime)
    if kind is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404
    response = FileResponse(handle, as_attachment=True, content_type=attachment.mime,
                            filename=services.attachment_name(attachment.original_name, kind))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _snapshot_context(notice: PublicityNotice) -> dict:
    """What was posted, through the personal-data rule again: notices frozen before it held raw names and numbers."""
    notice.title = mask_people(notice.title)  # shown, never saved
    return {"snapshot": public_snapshot(notice.snapshot), "stage_label": PublicityStage(notice.stage).label,
            "scope_label": PublicityScope(notice.scope).label}


def _public_notice(request, token):
    notice = get_object_or_404(PublicityNotice.objects.select_related("area", "reposts"), token=token)
    url = request.build_absolute_uri(f"/notices/{notice.token}/")
    return {"notice": notice, "url": url, "pdf_url": f"/notices/{notice.token}.pdf", **_snapshot_context(notice)}


@require_GET
@throttled
def notice_public(request, token):
    """The notice as posted: exactly its frozen snapshot (public data only), for anyone."""
    return render(request, "lifecycle/notice_public.html", _public_notice(request, token))


@require_GET
@throttled
def notice_pdf(request, token):
    """The notice for the village board: A4, Chinese text as text, a QR code linking to the online version. Its
    content is frozen, so it is rendered once and then served from storage (geo_assets.pdf.frozen_pdf)."""
    import segno

    context = _public_notice(request, token)
    context["qr"] = segno.make(context["url"], error="m").png_data_uri(scale=4, border=2)
    html = render_to_string("lifecycle/notice_print.html", context, request=request)
    response = HttpResponse(frozen_pdf(html, key=f"notice-{context['notice'].pk}"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{context["notice"].token}.pdf"'
    return response

