"""Who may take a lifecycle step, and is it its turn (work plan 二(四)–(八), 三): written once. Every service
(lifecycle.services) refuses through its `may_<step>(actor, obj)`, and the pages (lifecycle.views) show a step's
button or form only when the same function returns None. A Refusal says why, in the user's language."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

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
from geo_assets.refusals import Refusal, enforce, first  # noqa: F401 (enforce: the pages call rules.enforce)
from geo_assets.taxonomy import (
    AreaLevel,
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
    if not scope.reaches_area(area.code):
        return False
    if scope.is_county_admin:
        return True
    if scope.role == Role.TOWNSHIP:
        return area.pk == scope.area_id or area.parent_id == scope.area_id
    if scope.role == Role.VILLAGE:
        return area.pk == scope.area_id
    return False


def sees_area(user, area: AdminArea) -> bool:
    """May the user read the area's plans, notices and documents? Whoever reads everything, a department (its assets
    lie in every village), and the area's own village, township or county administrator."""
    scope = scope_for(user)
    if not scope.reaches_area(area.code):
        return False
    return scope.reads_everything or scope.role == Role.DEPARTMENT or covers_area(user, area)


# ---------------------------------------------------------------- step rules: who may take a step, and is it its turn
# Written once: every service below refuses through its `may_<step>`, and the pages show a step's button (or its
# form) only when the same function returns None. A Refusal says why, in the user's language (gettext).


def _editor(actor, asset: Asset) -> Refusal | None:
    if not Asset.objects.editable_by(actor).filter(pk=asset.pk).of(asset).exists():
        return Refusal(_("You may not act on this asset (it is outside your area or sector)."), who=True)
    return None


def _department(actor, asset: Asset, what: str) -> Refusal | None:
    scope = scope_for(actor)
    if scope.counties is not None and asset.county_id not in scope.counties:
        return Refusal(_("You may not act on this asset (it is outside your area or sector)."), who=True)
    if scope.is_county_admin or (scope.role == Role.DEPARTMENT and asset.asset_type in scope.asset_types):
        return None
    return Refusal(_("%(what)s must be done by the asset's county line department or a county administrator.")
                   % {"what": what}, who=True)


def _area_refusal(actor, area: AdminArea, what: str) -> Refusal | None:
    if covers_area(actor, area):
        return None
    return Refusal(_("%(what)s must be done by the village or township of %(area)s, or a county administrator.")
                   % {"what": what, "area": area.name}, who=True)


def _disposal_of(asset: Asset) -> Disposal | None:
    return Disposal.objects.filter(asset_id=asset.pk).of(asset).first()


OPEN_DISPOSAL = (DisposalStatus.REQUESTED, DisposalStatus.ASSESSED, DisposalStatus.APPROVED)


def _alive(asset: Asset, *, nor_while_disposing: bool = False) -> Refusal | None:
    """A disposed asset takes no step any more (its records stay); steps that bind the asset for years (contracts,
    posts, ownership) also wait while a disposal is under way."""
    status = Asset.objects.filter(pk=asset.pk).of(asset).values_list("status", flat=True).first() or asset.status
    disposal = _disposal_of(asset)
    if status == AssetStatus.DISPOSED or (disposal is not None and disposal.status == DisposalStatus.EXECUTED
                                          and disposal.method != DisposalMethod.RENEWAL):
        return Refusal(_("The asset has been disposed of: this step can no longer be taken (the asset and all its "
                         "records are kept for good)."))
    if nor_while_disposing and disposal is not None and disposal.status in OPEN_DISPOSAL:
        return Refusal(_("The asset's disposal is under way (%(status)s): this step waits until the disposal is "
                         "rejected.") % {"status": DisposalStatus(disposal.status).label})
    return None


_first = first


def may_ownership_submit(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset, nor_while_disposing=True),
                  lambda: Refusal(_("The asset's ownership is already registered."), "registration") if asset.registrations.of(asset).filter(
                      step=RegistrationStep.CONFIRMED).exists() else None,
                  lambda: Refusal(_("Ownership registration submitted, waiting for the department's confirmation."),
                                  "registration") if asset.registrations.of(asset).filter(
                      step=RegistrationStep.SUBMITTED).exists() else None)


def may_ownership_decide(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _department(actor, asset, _("Ownership review")), lambda: _alive(asset),
                  lambda: None if asset.registrations.of(asset).filter(step=RegistrationStep.SUBMITTED).exists() else Refusal(
                      no_pending_registration(), "registration"))


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
                  lambda: None if asset.category == Category.OPERATING else Refusal(_("Only operating assets have operation contracts."),
                                                                                   "asset"))


def may_income(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _alive(asset))


def may_disposal_request(actor, asset: Asset) -> Refusal | None:
    disposal = _disposal_of(asset)
    return _first(lambda: _editor(actor, asset),
                  lambda: Refusal(_("The asset has been disposed of.")) if _alive(asset) is not None else None,
                  lambda: Refusal(_("The asset already has a disposal request under way.")) if disposal is not None
                  and disposal.status != DisposalStatus.REJECTED else None)


def _disposal_turn(asset: Asset, *expected: str) -> Refusal | None:
    disposal = _disposal_of(asset)
    if disposal is None:
        return Refusal(no_disposal())
    if disposal.status not in expected:
        wanted = pgettext("lifecycle", " or ").join(_('"%(status)s"') % {"status": DisposalStatus(e).label} for e in expected)
        return Refusal(_('The disposal is at "%(status)s": this step comes after %(wanted)s.')
                       % {"status": DisposalStatus(disposal.status).label, "wanted": wanted})
    return None


def may_disposal_assess(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _department(actor, asset, _("Asset assessment")), lambda: _disposal_turn(asset, DisposalStatus.REQUESTED))


def may_disposal_approve(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: None if scope_for(actor).is_county_admin else Refusal(
        _("Disposal approval is recorded by a county administrator (the leading group's office)."), who=True), lambda: _disposal_turn(asset, DisposalStatus.ASSESSED))


def may_disposal_reject(actor, asset: Asset) -> Refusal | None:
    def turn():
        disposal = _disposal_of(asset)
        if disposal is None or disposal.status not in (DisposalStatus.REQUESTED, DisposalStatus.ASSESSED):
            return Refusal(_("Only a disposal request not yet approved can be rejected."))
        return None
    return _first(lambda: _department(actor, asset, _("Rejecting a disposal request")), turn)


def may_disposal_execute(actor, asset: Asset) -> Refusal | None:
    return _first(lambda: _editor(actor, asset), lambda: _disposal_turn(asset, DisposalStatus.APPROVED))


def may_disposal_publicise(actor, asset: Asset) -> Refusal | None:
    """The result of an executed disposal is publicised once (re-posting goes through the notice's own page)."""
    def turn():
        disposal = _disposal_of(asset)
        if disposal is None or disposal.status != DisposalStatus.EXECUTED:
            return Refusal(_("A disposal's result is publicised only once it is executed."))
        if disposal.notices.of(disposal).exists():
            return Refusal(_("The disposal's result is already publicised (re-post it from the notice's page)."))
        return None
    village = asset.village
    return _first(lambda: _area_refusal(actor, village, _("Publicity")) if village else Refusal(
        _("The asset belongs to no village.")), turn)


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
        return Asset.objects.visible_to(user).filter(pk=asset.pk).of(asset).exists()
    area = getattr(record, "village", None) or getattr(record, "area", None)
    return area is not None and sees_area(user, area)


def _plan_turn(plan: DistributionPlan, expected: str) -> Refusal | None:
    if plan.status != expected:
        done, wanted = PlanStatus(plan.status).label, PlanStatus(expected).label
        return Refusal(_('The plan is at "%(status)s": this step comes after "%(wanted)s".')
                       % {"status": done, "wanted": wanted})
    return None


def _township_of(actor, plan: DistributionPlan) -> Refusal | None:
    scope = scope_for(actor)
    if covers_area(actor, plan.village) and scope.role in (Role.COUNTY_ADMIN, Role.TOWNSHIP):
        return None
    return Refusal(_("A distribution plan is reviewed by its township."), who=True)


def plan_departments(plan: DistributionPlan):
    """The departments a plan belongs to: those responsible for the types of the village's assets whose income of
    the year it distributes, or of the assets its items name; every department when neither is recorded."""
    types = set(IncomeRecord.objects.of(plan).filter(asset__in=Asset.objects.in_area(plan.village).of(plan), year=plan.year)
                .values_list("asset__asset_type", flat=True))
    types |= set(plan.items.filter(asset__isnull=False).values_list("asset__asset_type", flat=True))
    departments = Department.objects.exclude(asset_types=[])
    return departments.filter(asset_types__overlap=sorted(types)) if types else departments


def departments_filing_for(actor, plan: DistributionPlan):
    """The departments this actor may file the plan with: the plan's own; a department's clerk, only its own."""
    departments = plan_departments(plan)
    if not scope_for(actor).reaches_area(plan.village.code):
        return departments.none()
    if scope_for(actor).is_county_admin:
        return departments
    return departments.filter(membership__user=actor)


def _filer(actor, plan: DistributionPlan) -> Refusal | None:
    scope = scope_for(actor)
    if scope.is_county_admin or (scope.role == Role.DEPARTMENT and departments_filing_for(actor, plan).exists()):
        return None
    return Refusal(_("Filing is done by the county line department of the plan's assets or a county "
                     "administrator."), who=True)


def _notice_ran(plan: DistributionPlan) -> Refusal | None:
    """Payment waits until the plan's publicity has run in real time, every objection answered."""
    notice = plan.notices.of(plan).order_by("-ends_on", "-pk").first()
    today = timezone.localdate()
    if notice is None:
        return Refusal(_("The plan has not been publicised yet."), "paid_on")
    if notice.ends_on >= today:
        return Refusal(_("The publicity period ends on %(ends)s: payment only after it (from %(next)s).")
                       % {"ends": notice.ends_on, "next": notice.ends_on + datetime.timedelta(days=1)}, "paid_on")
    if Objection.objects.filter(notice__in=plan.notices.of(plan), answered_at__isnull=True).exists():
        return Refusal(_("Objections raised during the publicity period are not answered yet: payment only "
                         "once every one is checked and answered."), "objections")
    return None


def may_plan_draft(actor, village: AdminArea) -> Refusal | None:
    return _area_refusal(actor, village, _("The income distribution plan"))


def may_plan_decide(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, _("The village meeting's decision")), lambda: _plan_turn(plan, PlanStatus.DRAFTED))


def may_plan_redraft(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, _("The income distribution plan")), lambda: _plan_turn(plan, PlanStatus.DRAFTED))


def may_plan_review(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _township_of(actor, plan), lambda: _plan_turn(plan, PlanStatus.DECIDED))


def may_plan_return(actor, plan: DistributionPlan) -> Refusal | None:
    """The reviewer sends it back: the township at its review, the department at its filing."""
    if plan.status == PlanStatus.DECIDED:
        return _township_of(actor, plan)
    if plan.status == PlanStatus.REVIEWED:
        return _filer(actor, plan)
    return Refusal(_('The plan is at "%(status)s": only a plan awaiting the township\'s review or filing can be sent '
                     'back.') % {"status": PlanStatus(plan.status).label})


def may_plan_file(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _filer(actor, plan), lambda: _plan_turn(plan, PlanStatus.REVIEWED))


def may_plan_publicise(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, _("Publicity")), lambda: _plan_turn(plan, PlanStatus.FILED))


def may_plan_pay(actor, plan: DistributionPlan) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, plan.village, _("Payment of income")), lambda: _plan_turn(plan, PlanStatus.PUBLICISED),
                  lambda: _notice_ran(plan))


PLAN_RULES = {"plan_decide": may_plan_decide, "plan_redraft": may_plan_redraft, "plan_review": may_plan_review,
              "plan_return": may_plan_return, "plan_file": may_plan_file, "notice_post": may_plan_publicise,
              "plan_pay": may_plan_pay}


def may_notice_post(actor, area: AdminArea) -> Refusal | None:
    return _area_refusal(actor, area, _("Publicity"))


def may_notice_repost(actor, notice: PublicityNotice) -> Refusal | None:
    return _first(lambda: _area_refusal(actor, notice.area, _("Publicity")),
                  lambda: Refusal(_("This notice has already been re-posted: act on the latest one.")) if PublicityNotice.objects.of(notice).filter(
                      reposts=notice).exists() else None,
                  lambda: Refusal(objections_open(), "objections")
                  if notice.objections.filter(answered_at__isnull=True).exists() else None)


def may_objection(actor, notice: PublicityNotice) -> Refusal | None:
    return _area_refusal(actor, notice.area, _("Recording and answering objections"))


# ---------------------------------------------------------------- messages the services and pages share


def no_disposal() -> str:
    return _("The asset has no disposal request: request the disposal first.")


def no_pending_registration() -> str:
    return _("No ownership registration waits for confirmation: the village, township or department submits one "
             "first.")


def objections_open() -> str:
    return _("Not every objection to the previous notice is checked and answered: it cannot be re-posted yet.")


# ---------------------------------------------------------------- who may read a village's pages, send documents


def may_see_plans(user, village: AdminArea) -> Refusal | None:
    return None if sees_area(user, village) else Refusal(
        _("Your role does not see the income distribution and notices of %(area)s.") % {"area": village.name},
        who=True)


def may_see_notices(user, area: AdminArea) -> Refusal | None:
    return None if sees_area(user, area) else Refusal(
        _("Your role does not see the notices of %(area)s.") % {"area": area.name}, who=True)


def may_see_annual(user, village: AdminArea) -> Refusal | None:
    scope = scope_for(user)
    if scope.reaches_area(village.code) and (scope.reads_everything or covers_area(user, village)):
        return None
    return Refusal(_("The annual review is seen by the village, its township or the county."), who=True)


def may_send_to_asset(user, code: str) -> bool:
    """Before a step page's files are read (geo_assets.uploads): may the user edit at all and see this asset?"""
    return scope_for(user).edits_anything and Asset.objects.visible_to(user).filter(code=code).exists()


def may_send_to_village(user, code: str) -> bool:
    """Before a village step page's files are read: may the user edit at all and see this village?"""
    village = AdminArea.objects.filter(code=code, level=AreaLevel.VILLAGE).first()
    return scope_for(user).edits_anything and village is not None and sees_area(user, village)
