"""Pages of an asset's life after registration (issue 9): the to-do list, each workflow step of an asset and of a
village (distribution plan, publicity, annual review), attachments and the printable notice.

Views only translate: every rule lives in lifecycle.rules (the services enforce the same functions), the authority
on who may take a step and when. A step's button and form show only when its rule (rules.may_<step>) lets the user
take it now; otherwise the step page says why. A refusal from a service is shown on the form (ValidationError) or as
a 403 page with its message (PermissionDenied), in the user's language."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
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
from geo_assets.models.register import asset_url
from geo_assets.pdf import frozen_pdf
from geo_assets.privacy import mask_people, public_snapshot
from geo_assets.querysets import without_boundaries
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
)
from lifecycle import forms, rules, selectors, services
from lifecycle.selectors import asset_timeline
from lifecycle.services import PlanLine
from projects.selectors import ownership_proposal

MB = settings.ATTACHMENT_MAX_BYTES // 1024**2


def _fmt(message, **values):
    """A lazy message (a module-level text) with its values filled in when it is shown, in the user's language."""
    return lazy(lambda: str(message) % {k: str(v) for k, v in values.items()}, str)()


DOCS = _fmt(_l("PDF, JPEG, PNG, HEIC, DOCX or XLSX, at most %(mb)s MB"), mb=MB)


# ---------------------------------------------------------------- access and the generic step page


def denied(request, message: str):
    return render(request, "lifecycle/denied.html", {"message": message or _("You may not take this step.")}, status=403)


STAFF_ONLY = _l("Only staff with a role may handle the asset management steps.")


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
            form.add_error(name, _("Required."))


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
                messages.success(request, _("%(step)s: done.") % {"step": title})
                return redirect(back)
        else:
            must_fields_missing(form)
    status = 200 if refusal is None else 403 if refusal.who else 409 if request.method == "POST" else 200
    return render(request, template, {"title": title, "form": form, "needs": needs, "back": back,
                                      "refusal": refusal, **context}, status=status)


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise Http404
    return year


def _area(code: str, *levels) -> AdminArea:
    return get_object_or_404(AdminArea.objects.with_parent(), code=code,
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
        registrations = list(asset.registrations.of(asset))
        return cls(asset, Disposal.objects.filter(asset=asset).of(asset).first(),
                   next((r for r in registrations if r.step == RegistrationStep.SUBMITTED), None),
                   any(r.step == RegistrationStep.CONFIRMED for r in registrations))

    def disposal_in(self, *statuses) -> bool:
        return self.disposal is not None and self.disposal.status in statuses


def _needs_disposal(life: Life) -> Disposal:
    if life.disposal is None:
        raise ValidationError({"status": rules.no_disposal()})
    return life.disposal


def _needs_registration(life: Life):
    if life.pending is None:
        raise ValidationError({"registration": rules.no_pending_registration()})
    return life.pending


GROUPS = {"ownership": _l("Ownership registration"), "custody": _l("Custody and maintenance"), "operation": _l("Operation"),
          "income": _l("Income"), "disposal": _l("Disposal")}


@dataclass(frozen=True)
class AssetStep:
    group: str  # a key of GROUPS
    title: str
    form: type
    may: Callable[..., object]  # the step's rule, rules.may_<step>(actor, asset): None or the Refusal
    run: Callable[..., object]  # (actor, life, cleaned data)
    needs: tuple[str, ...] = ()
    form_kwargs: Callable[[Life], dict] = field(default=lambda life: {})


def _upload(data, name):
    return forms.upload(data.get(name))


@dataclass(frozen=True)
class OwnershipStart:
    """Where the ownership registration starts when a project formed the asset (work plan 二(四): by the funding
    and implementing unit of the project): the project's proposal (projects.rules.owner_proposal). The form takes
    the proposal's owner kind, and its owners and shares unless the asset already records some."""

    project: object
    proposal: object  # projects.rules.Proposal
    from_recorded: bool  # the owners prefilled are those recorded on the asset, not the proposal's

    @classmethod
    def of(cls, asset: Asset) -> "OwnershipStart | None":
        found = ownership_proposal(asset)
        if found is None:
            return None
        project, proposal = found
        return cls(project, proposal, asset.owners.filter(share__gt=0).exists())

    def form_start(self, asset: Asset) -> tuple:
        recorded = tuple((o.owner_name, o.owner_kind, o.share)
                         for o in asset.owners.filter(share__gt=0).order_by("-share", "owner_name"))
        return self.proposal.owner_kind, recorded if self.from_recorded else self.proposal.owners


def _ownership_kwargs(life: Life) -> dict:
    start = OwnershipStart.of(life.asset)
    return {"start": start.form_start(life.asset) if start else None}


def _ownership_submit(actor, life: Life, d: dict):
    start = OwnershipStart.of(life.asset) if "owner_kind" in d else None
    return services.ownership_submit(
        actor=actor, asset=life.asset, owner_kind=d.get("owner_kind"), owners=d.get("owners"),
        source=_("the proposal of project %(code)s: %(reason)s") % {"code": start.project.code,
                                                                    "reason": start.proposal.reason} if start else "")


ASSET_STEPS: dict[str, AssetStep] = {
    "ownership": AssetStep(
        "ownership", _l("Submit the ownership registration"), forms.OwnershipSubmitForm, rules.may_ownership_submit,
        _ownership_submit,
        (_l("The ownership is filled in"), _l("Equity and debt assets list every owner and share, adding up to 100%"),
         _l("When a project formed the asset, the form starts from the project's proposal (by its funding and "
            "implementing unit)"),
         _l("Submitted by the asset's village, township or department; confirmed by the county line department")),
        _ownership_kwargs),
    "ownership-decide": AssetStep(
        "ownership", _l("Ownership review"), forms.OwnershipDecideForm, rules.may_ownership_decide,
        lambda actor, life, d: services.ownership_decide(actor=actor, registration=_needs_registration(life),
                                                          confirm=d["confirm"], comment=d["comment"]),
        (_l("Done by the asset's county line department or a county administrator"),
         _l("Before confirming, the scan of the signed handover and custody letter must be uploaded"),
         _l("The shares may not change after submission (if they did, return it to be submitted again)"),
         _l("A return gives its reason"))),
    "handover": AssetStep(
        "ownership", _l("Record the handover and custody letter"), forms.HandoverForm, rules.may_handover,
        lambda actor, life, d: services.handover_record(
            actor=actor, asset=life.asset, signed_on=d["signed_on"], handed_over_by=d["handed_over_by"],
            received_by=d["received_by"], custodian=d["custodian"], scan=_upload(d, "scan")),
        (_l("Signed no later than today"), _fmt(_l("Scan of the signed letter (required: %(docs)s)"), docs=DOCS))),
    "maintenance": AssetStep(
        "custody", _l("Custody record"), forms.MaintenanceForm, rules.may_maintenance,
        lambda actor, life, d: services.maintenance_record(
            actor=actor, asset=life.asset, done_on=d["done_on"], kind=d["kind"], cost=d["cost"], done_by=d["done_by"],
            description=d["description"], photos=[forms.upload(p) for p in d["photos"]]),
        (_l("Dated no later than today"), _l("Kind of custody: routine upkeep, repair or renewal"),
         _fmt(_l("Photos on site optional (%(docs)s)"), docs=DOCS))),
    "custodian": AssetStep(
        "custody", _l("Custodian changed"), forms.CustodianForm, rules.may_custodian_change,
        lambda actor, life, d: services.custodian_change(
            actor=actor, asset=life.asset, effective_on=d["effective_on"], unit=d["unit"], person=d["person"],
            phone=d["phone"]),
        (_l("The new custodian unit is required"),
         _l("The previous custodian unit and person are recorded in the change automatically"))),
    "welfare-post": AssetStep(
        "custody", _l("Public-welfare post"), forms.WelfarePostForm, rules.may_welfare_post,
        lambda actor, life, d: services.welfare_post_record(
            actor=actor, asset=life.asset, holder=d["holder"], from_poor_household=d["from_poor_household"],
            starts_on=d["starts_on"], ends_on=d["ends_on"], monthly_pay=d["monthly_pay"]),
        (_l("Workers from households lifted out of poverty first"), _l("The end date is not before the start date"))),
    "contract": AssetStep(
        "operation", _l("Operation contract (new or renewed)"), forms.ContractForm, rules.may_contract,
        lambda actor, life, d: services.contract_record(
            actor=actor, asset=life.asset, operator=d["operator"], number=d["number"], starts_on=d["starts_on"],
            ends_on=d["ends_on"], yearly_due=d["yearly_due"], mechanism=d["mechanism"],
            risk_clauses=d["risk_clauses"], renews=d["renews"], scan=_upload(d, "scan")),
        (_l("Only operating assets have operation contracts"), _l("The end date is after the start date"),
         _l("Describe the poverty-reduction mechanism"), _l("When renewing, choose the original contract"),
         _fmt(_l("Contract scan optional (%(docs)s)"), docs=DOCS),
         _fmt(_l("Reminders from %(days)s days before the end, and when it ends without renewal"),
              days=selectors.CONTRACT_WARNING_DAYS)),
        lambda life: {"asset": life.asset}),
    "income": AssetStep(
        "income", _l("Income received"), forms.IncomeForm, rules.may_income,
        lambda actor, life, d: services.income_record(
            actor=actor, asset=life.asset, year=d["year"], amount=d["amount"], received_on=d["received_on"],
            note=d["note"]),
        (_l("The income year is no later than this year"), _l("Received no later than today"))),
    "disposal": AssetStep(
        "disposal", _l("Request disposal"), forms.DisposalRequestForm, rules.may_disposal_request,
        lambda actor, life, d: services.disposal_request(actor=actor, asset=life.asset, reason=d["reason"],
                                                          note=d["note"]),
        (_l("Reason for disposal: running badly, unusable, end of service life or contract ended"),
         _l('Then assessed by the department and approved by the county; only once executed is the asset "disposed of"'))),
    "disposal-assess": AssetStep(
        "disposal", _l("Asset assessment"), forms.DisposalAssessForm, rules.may_disposal_assess,
        lambda actor, life, d: services.disposal_assess(
            actor=actor, disposal=_needs_disposal(life), value=d["value"], assessor=d["assessor"],
            assessed_on=d["assessed_on"], report=_upload(d, "report")),
        (_l("Done by the county line department or a county administrator"), _l("After the disposal request"),
         _l("The assessing body or assessor"),
         _fmt(_l("Assessment report (required: %(docs)s)"), docs=DOCS))),
    "disposal-approve": AssetStep(
        "disposal", _l("Disposal approval"), forms.DisposalApproveForm, rules.may_disposal_approve,
        lambda actor, life, d: services.disposal_approve(
            actor=actor, disposal=_needs_disposal(life), authority=d["authority"], reference=d["reference"],
            approved_on=d["approved_on"], document=_upload(d, "document")),
        (_l("Recorded by a county administrator (the leading group's office)"), _l("After the asset assessment"),
         _l("The approving authority and the approval's reference number"),
         _fmt(_l("Approval document (required: %(docs)s)"), docs=DOCS))),
    "disposal-reject": AssetStep(
        "disposal", _l("Reject the disposal request"), forms.DisposalRejectForm, rules.may_disposal_reject,
        lambda actor, life, d: services.disposal_reject(actor=actor, disposal=_needs_disposal(life),
                                                         reason=d["reason"]),
        (_l("Done by the county line department or a county administrator"),
         _l("Only a request not yet approved can be rejected"), _l("Give the reason for rejecting it"))),
    "disposal-execute": AssetStep(
        "disposal", _l("Disposal execution"), forms.DisposalExecuteForm, rules.may_disposal_execute,
        lambda actor, life, d: services.disposal_execute(
            actor=actor, disposal=_needs_disposal(life), method=d["method"], executed_on=d["executed_on"],
            proceeds=d["proceeds"], new_project=d["new_project"]),
        (_l("After the disposal approval"), _l("Executed no earlier than approved"),
         _l("With proceeds, name the new poverty-alleviation project they fund"),
         _l('Once executed the asset is "disposed of"; the asset and all its records are kept for good'))),
    "disposal-notice": AssetStep(
        "disposal", _l("Publicise the disposal's result"), forms.NoticeForm, rules.may_disposal_publicise,
        lambda actor, life, d: services.notice_post(
            actor=actor, stage=PublicityStage.DISPOSAL, scope=d["scope"], area=life.asset.village,
            starts_on=d["starts_on"], ends_on=d["ends_on"], title=d["title"], disposal=_needs_disposal(life)),
        (_l("After the disposal is executed"), _l("Posted by the asset's village, township or a county administrator"),
         _l("The publicity period begins on the day it is posted or later and lasts at least 7 days (counting the first and last)"),
         _l("What is posted is frozen when posted: the asset, assessed value, approval, method, proceeds and their use")),
        lambda life: {"stages": [(PublicityStage.DISPOSAL, PublicityStage.DISPOSAL.label)], "initial": _notice_dates()}),
}


class PublicVersion(Exception):  # noqa: N818 - a way out of a view, not an error
    """An asset outside the user's scope that the public may see: its public page instead of its workflows."""

    def __init__(self, asset):
        super().__init__(asset.code)
        self.url = asset_url(asset.code)


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
    asset = get_object_or_404(Asset.objects.openable_by(request.user).with_areas(),
                              code=code)
    if not asset.in_scope:
        raise PublicVersion(asset)
    return asset


def _asset_url(asset, step: str = "") -> str:
    return f"{asset_url(asset.code)}lifecycle/{step and step + '/'}"


@require_GET
@staff_pages
@public_version
def asset_lifecycle(request, code: str):
    """The asset's workflows: where each stands, the steps this user may take now, and the whole timeline."""
    asset = _visible_asset(request, code)
    life = Life.of(asset)
    groups: dict[str, list] = {}
    for slug, step in ASSET_STEPS.items():
        label = str(GROUPS[step.group])
        groups.setdefault(label, [])
        if step.may(request.user, asset) is None:
            groups[label].append((step.title, _asset_url(asset, slug)))
    owners = list(asset.owners.filter(share__gt=0))
    return render(request, "lifecycle/asset.html", {
        "asset": asset, "life": life, "groups": groups, "acts": any(groups.values()), "owners": owners,
        "warnings": selectors.contract_warnings(assets=Asset.objects.filter(pk=asset.pk).of(asset)),
        "timeline": asset_timeline(asset, request.user), "show_authors": True, "on_lifecycle_page": True,
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
    letters = list(asset.handover_letters.of(asset))
    scans = [a for letter in letters
             for a in selectors.attachments_of(letter, Attachment.Kind.HANDOVER)]
    return step_page(
        request, title=spec.title, form=form, needs=spec.needs, back=_asset_url(asset),
        run=lambda d: spec.run(request.user, life, d), refusal=spec.may(request.user, asset),
        asset=asset, life=life, group=spec.group, group_label=GROUPS[spec.group], owners=owners, share_total=sum(o.share for o in owners),
        equity=asset.asset_type in TYPES_REQUIRING_NAMED_SHARES, handover_scan=bool(scans), handover_scans=scans,
        letters=letters,
        disposal_documents=selectors.attachments_of(life.disposal) if life.disposal else (),
        start=OwnershipStart.of(asset) if spec.group == "ownership" else None,
        warnings=selectors.contract_warnings(assets=Asset.objects.filter(pk=asset.pk).of(asset)) if step == "contract" else (),
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


PERIOD = _fmt(_l("The publicity period lasts at least %(days)s days (counting the first and last)"),
              days=settings.PUBLICITY_MIN_DAYS)
PLAN_STEPS: dict[str, PlanStep] = {
    "decide": PlanStep(
        _l("The village meeting's decision"), rules.may_plan_decide,
        (_l("Recorded by the village (or its township, or a county administrator)"), _l("After the plan is drafted"),
         _l("Meeting date no later than today, with the attendance"),
         _fmt(_l("Minutes of the village meeting (required: %(docs)s)"), docs=DOCS)),
        lambda user, plan, data: forms.PlanDecideForm(*data),
        lambda actor, plan, d: services.plan_decide(actor=actor, plan=plan, meeting_on=d["meeting_on"],
                                                     attendance=d["attendance"], minutes=forms.upload(d["minutes"]))),
    "review": PlanStep(
        _l("Township review passed"), rules.may_plan_review,
        (_l("Reviewed by the township government"), _l("After the village meeting's decision"),
         _l("The distribution does not exceed the village's recorded income of the year (name another source for the rest)"),
         _l('Not all the income handed to households as cash ("share it out and be done")'),
         _l("Equity dividends match the registered shares"),
         _l("Return a plan with a red warning to be redrafted (give the reason)")),
        lambda user, plan, data: forms.ConfirmForm(*data),
        lambda actor, plan, d: services.plan_review(actor=actor, plan=plan)),
    "return": PlanStep(
        _l("Return to be redrafted"), rules.may_plan_return,
        (_l("Returned by the township at its review, by the department at filing"),
         _l("Give the reason: the village redrafts the plan or holds the village meeting again")),
        lambda user, plan, data: forms.ReturnForm(*data),
        lambda actor, plan, d: services.plan_return(actor=actor, plan=plan, reason=d["reason"])),
    "file": PlanStep(
        _l("Filing with the line department"), rules.may_plan_file,
        (_l("Done by the county line department of the plan's assets (those with income that year) or a county administrator"),
         _l("After the township's review"),
         _l("Return a plan with problems to be redrafted (give the reason)")),
        lambda user, plan, data: _file_form(user, plan, data),
        lambda actor, plan, d: services.plan_file(actor=actor, plan=plan, department=d["department"])),
    "publicise": PlanStep(
        _l("Publicity"), rules.may_plan_publicise,
        (_l("After filing with the line department"), PERIOD, _l("The publicity period begins on the day it is posted or later"),
         _l("What is posted is frozen when posted: names of individuals masked, no phone numbers")),
        lambda user, plan, data: forms.NoticeForm(
            *data, stages=[(PublicityStage.INCOME_PLAN, PublicityStage.INCOME_PLAN.label)], initial=_notice_dates()),
        lambda actor, plan, d: services.notice_post(
            actor=actor, stage=PublicityStage.INCOME_PLAN, scope=d["scope"], area=plan.village,
            starts_on=d["starts_on"], ends_on=d["ends_on"], title=d["title"], plan=plan)),
    "pay": PlanStep(
        _l("Payment"), rules.may_plan_pay,
        (_l("Payment only once the publicity period is over (after its last day), dated after it and no later than today"),
         _l("Every objection raised during the period checked and answered")),
        lambda user, plan, data: forms.PlanPayForm(*data, initial={"paid_on": timezone.localdate()}),
        lambda actor, plan, d: services.plan_pay(actor=actor, plan=plan, paid_on=d["paid_on"])),
}


def _file_form(user, plan, data):
    form = forms.PlanFileForm(*data)
    form.fields["department"].queryset = rules.departments_filing_for(user, plan)
    return form


def _visible_village(request, code: str) -> AdminArea:
    village = _area(code)
    rules.enforce(rules.may_see_plans(request.user, village))
    return village


@require_GET
@staff_pages
def plan_list(request, code: str):
    village = _visible_village(request, code)
    plans = DistributionPlan.objects.of_area(village).filter(village=village).order_by("-year")
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
            messages.success(request, _("The income distribution plan is drafted: call the village meeting to decide it."))
            return redirect(_plan_url(plan))
    income_year = getattr(form, "cleaned_data", {}).get("year") or year  # the year asked for, refused or not
    status = 403 if refusal is not None and refusal.who else 200
    return render(request, "lifecycle/plan_draft.html", {
        "village": village, "form": form, "items": items, "income": selectors.village_income(village, income_year),
        "income_year": income_year, "refusal": refusal, "plan": plan, "back": f"/villages/{village.code}/plans/",
        "needs": (_("Drafted by the village (or its township, or a county administrator)"),
        _("One plan per village and year; the amounts add up to the income distributed"),
                  _("The total does not exceed the village's recorded income of the year; above it, name another source of funds; below it, you are reminded"),
                  _('First for the village collective economy, public welfare, public-welfare posts and people unable to work; not simply cash or goods handed out ("share it out and be done")'),
                  _("Equity dividends name the owner (recipient) and the source asset, the amount matching the share")),
    }, status=status)


def _plan(village, year: int) -> DistributionPlan:
    return get_object_or_404(DistributionPlan.objects.of_area(village).select_related("village__parent", "department")
                             .defer(*without_boundaries("village", "village__parent")),
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
        actions.insert(0, (_("Redraft"), _plan_url(plan, "redraft")))
    return render(request, "lifecycle/plan.html", {
        "village": village, "plan": plan, "items": plan.items.in_county(plan.county_id, "plan__county").select_related("asset"),
        "warnings": selectors.plan_warnings(plan), "actions": actions,
        "income": selectors.village_income(village, plan.year),
        "steps": [(PlanStatus(s).label, i <= done) for i, s in enumerate(PLAN_ORDER)],
        "minutes": selectors.attachments_of(plan, Attachment.Kind.MINUTES),
        "notices": plan.notices.of(plan).order_by("starts_on").prefetch_related("objections"),
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
        plan_items=plan.items.in_county(plan.county_id, "plan__county").select_related("asset"), income=selectors.village_income(village, plan.year),
        minutes=selectors.attachments_of(plan, Attachment.Kind.MINUTES),
    )


# ---------------------------------------------------------------- publicity notices and objections


def _notice_area(request, code: str, *, public: bool = False) -> AdminArea:
    area = _area(code, AreaLevel.VILLAGE, AreaLevel.TOWNSHIP)
    if not public:
        rules.enforce(rules.may_see_notices(request.user, area))
    return area


def _notice_url(notice, step: str = "") -> str:
    return f"/villages/{notice.area.code}/notices/{notice.pk}/{step and step + '/'}"


@require_GET
@throttled
def notice_list(request, code: str):
    """The area's notices: anyone may read them (知情权); staff also reach objections and the next steps."""
    area = _notice_area(request, code, public=True)
    staff = scope_for(request.user).sees_personal_data and rules.sees_area(request.user, area)
    notices = list(PublicityNotice.objects.of_area(area).filter(area=area).select_related("reposts").order_by("-starts_on", "-pk"))
    for notice in notices if not staff else ():
        notice.title = mask_people(notice.title)  # free text, shown to the public: never saved
    reposted = {n.reposts_id for n in notices if n.reposts_id}  # superseded by a notice re-posting it
    for notice in notices:
        notice.superseded = notice.pk in reposted
    return render(request, "lifecycle/notices.html", {
        "area": area, "notices": notices, "staff": staff, "can_post": staff and rules.may_notice_post(request.user, area) is None,
        "today": timezone.localdate(),
    })


LEDGER_STAGES = [(PublicityStage.INVENTORY, PublicityStage.INVENTORY.label),
                 (PublicityStage.OWNERSHIP, PublicityStage.OWNERSHIP.label)]


def _elsewhere(user, area) -> list[tuple[str, str]]:
    """Notices posted from their own pages: a filed plan's from the plan, an executed disposal's from the asset."""
    links = [(_("Income distribution plan of %(year)s: publicise") % {"year": p.year}, _plan_url(p, "publicise"))
             for p in DistributionPlan.objects.of_area(area).filter(village=area, status=PlanStatus.FILED).select_related("village").defer(*without_boundaries("village"))
             if rules.may_plan_publicise(user, p) is None]
    for disposal in Disposal.objects.of_area(area).filter(asset__in=Asset.objects.in_area(area), status=DisposalStatus.EXECUTED,
                                            notices__isnull=True).select_related("asset"):
        if rules.may_disposal_publicise(user, disposal.asset) is None:
            links.append((_("%(code)s %(name)s: publicise the disposal's result") % {"code": disposal.asset.code,
                                                                                 "name": disposal.asset.name},
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

    needs = ((PERIOD, _("A paper notice already posted: give the dates it was up (they may be before today)"),
    _("A photo or scan of the posted notice must be uploaded, with the reason for entering it late"),
              _('A notice entered late is marked "paper notice entered late" on the notice page, and recorded'))
             if paper else
             (PERIOD, _('The publicity period begins on the day it is posted or later (a paper notice already posted: use "Enter a paper notice")'),
              _("Inventory and ownership ledgers: the public information of the area's registered assets when posted"),
              _("What is posted is frozen when posted: names of individuals masked, no phone numbers")))
    return step_page(request, title=(_("%(area)s: enter a paper notice") if paper else _("%(area)s: post a notice")) % {"area": area.name}, form=form, run=run,
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
    return get_object_or_404(PublicityNotice.objects.of_area(area).select_related("area", "plan", "disposal__asset",
                                                                                   "reposts")
                             .defer(*without_boundaries("area")), area=area, pk=pk)


@require_GET
@staff_pages
def notice_detail(request, code: str, pk: int):
    area = _notice_area(request, code)
    notice = _notice(area, pk)
    covers = rules.may_objection(request.user, notice) is None  # record and answer objections
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
        request, title=_("Record an objection"), form=form, back=_notice_url(notice), notice=notice,
        refusal=rules.may_objection(request.user, notice), needs=(_("An objection is raised within the publicity period (%(start)s to %(end)s)") % {
                                  "start": notice.starts_on, "end": notice.ends_on}, _("Write what the objection is"),
                              _("Once recorded it must be checked and answered; until then the notice cannot be re-posted and a distribution plan not paid")),
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
        request, title=_("Check and answer the objection"), form=form, back=_notice_url(notice), notice=notice,
        refusal=rules.may_objection(request.user, notice), objection=item, needs=(_("Write what the check found"),
        _("Write the answer")),
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
        request, title=_("Re-post the notice"), form=form, back=f"/villages/{area.code}/notices/", notice=notice,
        refusal=rules.may_notice_repost(request.user, notice),
        needs=(_("Every objection to the previous notice checked and answered"), PERIOD, _("The re-posted content is frozen anew as it stands when posted")),
        run=lambda d: services.notice_post(
            actor=request.user, stage=notice.stage, scope=d["scope"], area=area, starts_on=d["starts_on"],
            ends_on=d["ends_on"], title=d["title"], plan=notice.plan, disposal=notice.disposal, reposts=notice))


# ---------------------------------------------------------------- annual review, to-do


@require_GET
@staff_pages
def annual(request, code: str, year: int):
    village = _area(code)
    rules.enforce(rules.may_see_annual(request.user, village))
    review = selectors.annual_review(village=village, year=_year(year))
    for key, slug in (("no_income", "income"), ("unregistered", "ownership"), ("no_custodian", "custodian")):  # the step where the user may take it
        for a in review[key]:
            a.step_url = _asset_url(a, slug) if ASSET_STEPS[slug].may(request.user, a) is None else asset_url(a.code)
    return render(request, "lifecycle/annual.html", {"village": village, "year": year, "review": review,
                                                     "previous": year - 1, "next": year + 1})


TODO_LABELS = {
    "ownership_to_confirm": _l("Ownership registrations to confirm"),
    "disposals_to_assess": _l("Disposal requests to assess"),
    "disposals_to_approve": _l("Disposals to approve"),
    "disposals_to_execute": _l("Disposals to execute"),
    "plans_to_decide": _l("Distribution plans for the village meeting to decide"),
    "plans_to_review": _l("Distribution plans for the township to review"),
    "plans_to_file": _l("Distribution plans to file"),
    "plans_to_publicise": _l("Distribution plans to publicise"),
    "plans_to_pay": _l("Distribution plans to pay"),
    "objections_to_answer": _l("Objections to check and answer"),
    "contracts": _l("Operation contracts ending"),
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
            rows[key] = [TodoRow(_("%(village)s income distribution plan of %(year)s") % {"village": p.village.name,
                                                                                   "year": p.year},
                                 _plan_url(p, key.rsplit("_", 1)[1]),
                                 p.village_id) for p in items]
        elif key == "objections_to_answer":
            rows[key] = [TodoRow(_("%(notice)s: objection raised by %(by)s on %(day)s") % {
                                     "notice": o.notice.title, "by": o.raised_by, "day": o.raised_on},
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

