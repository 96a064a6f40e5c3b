"""Reads of the lifecycle: attachments of a record, contract and plan warnings, a village's income, the annual
review, the to-do list, and an asset's whole life on one timeline, as the viewer may see it."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, Sum
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from geo_assets.access import scope_for
from geo_assets.amounts import format_wan
from geo_assets.models import (
    AdminArea,
    Asset,
    Attachment,
    Disposal,
    DistributionItem,
    DistributionPlan,
    IncomeRecord,
    Objection,
    OperationContract,
    OwnershipRegistration,
    PublicityNotice,
)
from geo_assets.privacy import Redactor, mask_numbers
from geo_assets.querysets import without_boundaries
from geo_assets.taxonomy import (
    PLAN_ORDER,
    TYPES_REQUIRING_NAMED_SHARES,
    AssetStatus,
    Category,
    DisposalMethod,
    DisposalReason,
    DisposalStatus,
    MaintenanceKind,
    OwnerKind,
    PlanPurpose,
    PlanStatus,
    PublicityScope,
    PublicityStage,
    RegistrationStatus,
    RegistrationStep,
    Role,
)
from lifecycle.rules import attachment_visible_to, covers_area, may_plan_file

CONTRACT_WARNING_DAYS = 90


def attachments_of(record, kind: str | None = None):
    qs = Attachment.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)
    return qs.filter(kind=kind) if kind else qs


@dataclass(frozen=True)
class Warning:
    level: str  # "red" | "yellow"
    code: str
    message: str
    asset: Asset | None = None


def contract_warnings(*, assets, today: datetime.date | None = None) -> list[Warning]:
    """Contracts ending within 90 days, and contracts that ended with no renewal (operating assets in use)."""
    today = today or timezone.localdate()
    warnings = []
    latest = (OperationContract.objects.filter(asset__in=assets, renewed_by__isnull=True)
              .exclude(asset__status=AssetStatus.DISPOSED).select_related("asset"))
    for contract in latest:
        if contract.ends_on < today:
            warnings.append(Warning("red", "contract_expired", _(
                "%(asset)s: operation contract %(number)s ended on %(ends)s, neither renewed nor recovered.")
                % {"asset": contract.asset.name, "number": contract.number, "ends": contract.ends_on}, contract.asset))
        elif contract.ends_on <= today + datetime.timedelta(days=CONTRACT_WARNING_DAYS):
            warnings.append(Warning("yellow", "contract_ending", _(
                "%(asset)s: operation contract %(number)s ends on %(ends)s.")
                % {"asset": contract.asset.name, "number": contract.number, "ends": contract.ends_on}, contract.asset))
    return warnings


def village_income(village: AdminArea, year: int) -> Decimal | None:
    """The income recorded for the village's assets in a year (None: none recorded)."""
    return IncomeRecord.objects.of_area(village).filter(
        asset__in=Asset.objects.in_area(village), year=year).aggregate(
        s=Sum("amount"))["s"]


def plan_income_warnings(plan: DistributionPlan) -> list[Warning]:
    """The plan against the village's recorded income of its year: above it, red unless another source is named;
    below it, yellow (income left undistributed)."""
    income = village_income(plan.village, plan.year) or Decimal("0")
    total = plan.total or Decimal("0")
    if total > income and not plan.other_source:
        return [Warning("red", "above_income", _(
            "The plan distributes %(total)s ten-thousand yuan, more than the village's recorded income of %(year)s, "
            "%(income)s ten-thousand yuan: check the income records, or name another source of funds.")
            % {"total": format_wan(total), "year": plan.year, "income": format_wan(income)})]
    if total > income:
        return [Warning("yellow", "other_source", _(
            "The plan distributes %(total)s ten-thousand yuan, %(more)s more than the village's recorded income of "
            "%(year)s; source: %(source)s.") % {"total": format_wan(total), "more": format_wan(total - income),
                                                "year": plan.year, "source": plan.other_source})]
    if total < income:
        return [Warning("yellow", "below_income", _(
            "The plan distributes only %(total)s ten-thousand yuan; the village's recorded income of %(year)s is "
            "%(income)s (%(left)s not in the plan).") % {"total": format_wan(total), "year": plan.year,
                                                        "income": format_wan(income),
                                                        "left": format_wan(income - total)})]
    return []


def plan_warnings(plan: DistributionPlan) -> list[Warning]:
    """The plan against the year's income (plan_income_warnings); 一分了之: everything handed out as cash; and equity
    owners' shares that do not match the ownership shares. Red warnings stop the township's review."""
    warnings = plan_income_warnings(plan)
    items = list(plan.items.all())
    cash = sum((i.amount for i in items if i.purpose == PlanPurpose.CASH), Decimal("0"))
    if plan.total and cash >= plan.total:
        warnings.append(Warning("red", "all_cash", _(
            'The plan hands all the income to households as cash ("share it out and be done"); it should go first '
            "to the village collective economy, public welfare and people unable to work.")))
    elif plan.total and cash * 2 > plan.total:
        warnings.append(Warning("yellow", "mostly_cash", _(
            "The plan hands more than half the income out as cash: give the reason.")))
    for item in items:
        if item.purpose != PlanPurpose.EQUITY_OWNERS or item.asset is None:
            continue
        income = IncomeRecord.objects.filter(asset=item.asset, year=plan.year).aggregate(s=Sum("amount"))["s"]
        owner = item.asset.owners.filter(owner_name=item.recipient, share__gt=0).first()
        if owner is None:
            warnings.append(Warning("red", "equity_owner_unknown", _(
                "%(recipient)s is not an owner of %(asset)s.") % {"recipient": item.recipient, "asset": item.asset.name},
                                    item.asset))
        elif income is not None and (income * owner.share / 100 - item.amount).copy_abs() > Decimal("0.0001"):
            warnings.append(Warning("red", "equity_share_mismatch",
                                    _("%(recipient)s is due %(due)s ten-thousand yuan (share %(share)s%%), the plan "
                                      "gives %(amount)s.") % {"recipient": item.recipient,
                                                               "due": format_wan(income * owner.share / 100),
                                                               "share": owner.share, "amount": item.amount},
                                    item.asset))
    return warnings


def notices_public() -> Iterable[PublicityNotice]:
    return PublicityNotice.objects.select_related("area").order_by("-starts_on")


# ---------------------------------------------------------------- annual cycle (年度清查、收益清算)


def annual_review(*, village: AdminArea, year: int) -> dict:
    """At the start of a year: what is missing for last year's operation and income in a village."""
    assets = Asset.objects.in_area(village).exclude(status=AssetStatus.DISPOSED)
    operating = assets.filter(category=Category.OPERATING)
    with_income = set(IncomeRecord.objects.of_area(village).filter(asset__in=operating, year=year).values_list("asset_id", flat=True))
    plan = DistributionPlan.objects.of_area(village).filter(village=village, year=year).first()
    start = datetime.date(year, 1, 1)
    unverified = assets.unverified(since=timezone.make_aware(datetime.datetime.combine(start, datetime.time())))
    return {
        "village": village.name, "year": year,
        "no_income": [a for a in operating.order_by("code") if a.pk not in with_income],
        "plan": plan, "plan_missing": plan is None and bool(with_income),
        "plan_unfinished": plan is not None and plan.status != PlanStatus.PAID,
        # the contracts as they stand today (read after the year, a contract that ended since is said to have ended)
        "contracts": contract_warnings(assets=assets),
        "unverified": list(unverified.order_by("code")),
        "no_custodian": list(assets.filter(custodian_unit="").order_by("code")),
        "unregistered": list(assets.exclude(registration_status=RegistrationStatus.REGISTERED).order_by("code")),
        "equity_without_shares": [a for a in assets.filter(asset_type__in=TYPES_REQUIRING_NAMED_SHARES)
                                  if sum(o.share for o in a.owners.all()) != 100],
        "households": assets.filter(owner_kind=OwnerKind.HOUSEHOLD).count(),
    }


def plan_next_step(plan: DistributionPlan) -> str | None:
    index = PLAN_ORDER.index(plan.status)
    return PLAN_ORDER[index + 1] if index + 1 < len(PLAN_ORDER) else None


def todo_for(user) -> dict[str, list]:
    """待办: what waits for this user across the workflows."""
    scope = scope_for(user)
    editable = Asset.objects.editable_by(user)
    todo: dict[str, list] = {}
    if scope.is_county_admin or scope.role == Role.DEPARTMENT:
        todo["ownership_to_confirm"] = list(OwnershipRegistration.objects.filter(
            step=RegistrationStep.SUBMITTED, asset__in=editable).select_related("asset"))
        todo["disposals_to_assess"] = list(Disposal.objects.filter(status=DisposalStatus.REQUESTED,
                                                                   asset__in=editable).select_related("asset"))
    if scope.is_county_admin:
        todo["disposals_to_approve"] = list(Disposal.objects.filter(status=DisposalStatus.ASSESSED,
                                                                    asset__in=editable).select_related("asset"))
    todo["disposals_to_execute"] = list(Disposal.objects.filter(status=DisposalStatus.APPROVED, asset__in=editable)
                                        .select_related("asset"))
    plans = DistributionPlan.objects.for_scope(scope).select_related("village").defer(*without_boundaries("village")).filter(
        village__in=AdminArea.objects.in_counties_of(user))
    if scope.role == Role.VILLAGE:
        todo["plans_to_decide"] = list(plans.filter(village_id=scope.area_id, status=PlanStatus.DRAFTED))
        todo["plans_to_publicise"] = list(plans.filter(village_id=scope.area_id, status=PlanStatus.FILED))
        todo["plans_to_pay"] = list(plans.filter(village_id=scope.area_id, status=PlanStatus.PUBLICISED))
    if scope.role == Role.TOWNSHIP or scope.is_county_admin:
        filt = {} if scope.is_county_admin else {"village__parent_id": scope.area_id}
        todo["plans_to_review"] = list(plans.filter(status=PlanStatus.DECIDED, **filt))
    if scope.role == Role.DEPARTMENT or scope.is_county_admin:  # a department: only the plans that belong to it
        todo["plans_to_file"] = [p for p in plans.filter(status=PlanStatus.REVIEWED) if may_plan_file(user, p) is None]
    open_objections = (Objection.objects.filter(answered_at__isnull=True).select_related("notice", "notice__area")
                       .defer(*without_boundaries("notice__area")))
    if (counties := scope.counties_q("notice__county")) is not None:
        open_objections = open_objections.filter(counties)
    todo["objections_to_answer"] = [o for o in open_objections if covers_area(user, o.notice.area)]
    todo["contracts"] = contract_warnings(assets=editable)
    return {k: v for k, v in todo.items() if v}


# ---------------------------------------------------------------- an asset's whole life on one timeline (issue 9)
# As the viewer may see it (geo_assets.privacy: the public gets no phone numbers, masked names of individuals, no
# free text, no unpublished documents).

KINDS = {"registration": pgettext_lazy("timeline", "registration"), "ownership": pgettext_lazy("timeline", "ownership"),
         "custody": pgettext_lazy("timeline", "custody"), "operation": pgettext_lazy("timeline", "operation"),
         "income": pgettext_lazy("timeline", "income"), "verification": pgettext_lazy("timeline", "verification"),
         "publicity": pgettext_lazy("timeline", "publicity"), "disposal": pgettext_lazy("timeline", "disposal")}
SAME_DAY_ORDER = ["registration", "ownership", "custody", "operation", "income", "verification", "disposal",
                  "publicity"]  # what was done, then its notice
LEDGER_STAGES = (PublicityStage.INVENTORY, PublicityStage.OWNERSHIP)
PUBLIC_PLAN_STEPS = (PlanStatus.PUBLICISED, PlanStatus.PAID)


@dataclass(frozen=True)
class Event:
    date: datetime.date
    kind: str
    title: str
    detail: str = ""
    link: str = ""
    files: tuple[tuple[str, str], ...] = ()  # (file name, download URL)

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def _day(value) -> datetime.date:
    return timezone.localdate(value) if isinstance(value, datetime.datetime) else value


def _join(*parts) -> str:
    return _("; ").join(str(p) for p in parts if p)


def asset_timeline(asset, user) -> list[Event]:
    """Every recorded step of the asset's life that `user` may see, oldest first."""
    scope = scope_for(user)
    staff, show = scope.sees_personal_data, Redactor(scope)
    events: list[Event] = []

    def add(when, kind, title, *detail, link="", record=None, file_kind=None):
        if when is not None:
            events.append(Event(_day(when), kind, title, _join(*detail), link, files(record, file_kind)))

    def files(record, kind) -> tuple[tuple[str, str], ...]:
        if record is None:
            return ()
        found = list(attachments_of(record, kind).order_by("pk"))
        for a in found:  # their record is this one (read through the asset: its county known)
            Attachment._meta.get_field("record").set_cached_value(a, record)
        return tuple((a.original_name, f"/attachments/{a.pk}/") for a in found
                     if a.is_public or (staff and attachment_visible_to(user, a)))

    # Entered in the ledger: on the asset's registration date when it has one (a ledger imported today records
    # assets registered years ago), else on the day its first record was written — never "today" after a life
    # that began earlier.
    first = asset.history.order_by("history_date").first()
    if first is not None or asset.registration_date:
        entered = first and _day(first.history_date)
        when = min(d for d in (asset.registration_date, entered) if d)
        add(when, "registration", _("Entered in the register"), asset.project_name,
            staff and entered and entered != when and _("Entered in this system: %(day)s") % {"day": f"{entered:%Y-%m-%d}"},
            staff and first and first.history_change_reason and _("Source: %(source)s") % {"source": first.history_change_reason})

    registrations = list(asset.registrations.of(asset).select_related("submitted_by", "decided_by").order_by("submitted_at"))
    for reg in registrations:
        owners = pgettext("list separator", ", ").join(f"{show.owner_name(s['owner'], s['kind'])} {floatformat(s['share'], '-3')}%" for s in reg.shares_snapshot)
        add(reg.submitted_at, "ownership", _("Ownership registration submitted"), owners and _("Owners: %(owners)s") % {"owners": owners},
            staff and _("Submitted by: %(user)s") % {"user": reg.submitted_by})
        if reg.decided_at:
            confirmed = reg.step == RegistrationStep.CONFIRMED
            add(reg.decided_at, "ownership", _("Ownership registration confirmed") if confirmed else _("Ownership registration returned"),
                staff and reg.comment, staff and _("Handled by: %(user)s") % {"user": reg.decided_by})
    if asset.registration_date and not any(r.step == RegistrationStep.CONFIRMED for r in registrations):
        add(asset.registration_date, "ownership", _("Ownership registration"), _("Owned by: %(owner)s") % {"owner": asset.get_owner_kind_display() or "—"})
    for letter in asset.handover_letters.of(asset).order_by("signed_on", "pk"):
        add(letter.signed_on, "ownership", _("Handover and custody letter signed"),
            _("%(from)s hands over to %(to)s") % {"from": letter.handed_over_by, "to": letter.received_by},
            staff and _("Custodian: %(custodian)s") % {"custodian": letter.custodian},
            record=letter)

    for entry in asset.maintenance.of(asset).order_by("done_on", "pk"):
        add(entry.done_on, "custody", _("Custody record: %(kind)s") % {"kind": MaintenanceKind(entry.kind).label},
            entry.cost and _("Cost %(amount)s ten-thousand yuan") % {"amount": format_wan(entry.cost)}, staff and entry.done_by, staff and entry.description,
            record=entry)
    for change in asset.custodian_changes.of(asset).order_by("effective_on", "pk"):
        add(change.effective_on, "custody", _("Custodian changed"), f"{change.previous_unit or '—'} → {change.unit}",
            change.person and _("Responsible person: %(person)s") % {"person": show.person(change.person)})
    for post in asset.welfare_posts.of(asset).order_by("starts_on", "pk"):
        add(post.starts_on, "custody", _("Public-welfare post set up"),
            _("%(holder)s (from a household lifted out of poverty)") % {"holder": show.person(post.holder)}
            if post.from_poor_household else show.person(post.holder),
            staff and _("Monthly pay %(pay)s yuan") % {"pay": post.monthly_pay},
            post.ends_on and _("until %(day)s") % {"day": post.ends_on})

    today = timezone.localdate()
    contracts = list(asset.contracts.of(asset).select_related("renews").order_by("starts_on", "pk"))
    renewed = {c.renews_id for c in contracts}  # a renewal is the same asset's (services.contract_record)
    for contract in contracts:
        add(contract.starts_on, "operation", _("Operation contract renewed") if contract.renews_id else _("Operation contract signed"),
            _("%(operator)s, contract %(number)s, %(start)s to %(end)s") % {
                "operator": contract.operator, "number": contract.number, "start": contract.starts_on,
                "end": contract.ends_on},
            _("Yearly rent or income due %(amount)s ten-thousand yuan") % {"amount": format_wan(contract.yearly_due)},
            _("Poverty-reduction mechanism: %(mechanism)s") % {
                "mechanism": contract.mechanism if staff else mask_numbers(contract.mechanism)},
            staff and contract.risk_clauses and _("Risk clauses: %(clauses)s") % {"clauses": contract.risk_clauses}, record=contract)
        if contract.ends_on < today and contract.pk not in renewed:
            add(contract.ends_on, "operation", _("Operation contract ended, not renewed"), _("Contract %(number)s") % {"number": contract.number})

    for income in asset.income.of(asset).order_by("received_on", "pk"):
        add(income.received_on, "income", _("Income of %(year)s received") % {"year": income.year},
            _("%(amount)s ten-thousand yuan") % {"amount": format_wan(income.amount)},
            staff and income.note)
    items = DistributionItem.objects.filter(asset=asset).select_related("plan__village").defer(
        *without_boundaries("plan__village"))
    if asset.county_id:  # the plans of the asset's county (its village's)
        items = items.filter(plan__county=asset.county_id)
    for item in items if staff else items.filter(plan__status__in=PUBLIC_PLAN_STEPS):
        plan = item.plan
        first_step = plan.history.order_by("history_date").first()
        add(first_step.history_date if first_step else None, "income",
            _("In the income distribution plan of %(village)s for %(year)s") % {"village": plan.village.name,
                                                                               "year": plan.year},
            _("%(purpose)s %(amount)s ten-thousand yuan (%(status)s)") % {
                "purpose": PlanPurpose(item.purpose).label, "amount": format_wan(item.amount),
                "status": PlanStatus(plan.status).label},
            link=f"/villages/{plan.village.code}/plans/{plan.year}/" if staff else "")

    verifications = asset.verifications.of(asset).select_related("verifier").order_by("observed_at")  # verification app
    for v in verifications if staff else [v for v in verifications if v.counts]:
        add(v.observed_at, "verification", (_("On-site verification: %(finding)s") if v.counts else _("On-site verification: %(finding)s (not counted)"))
            % {"finding": v.get_finding_display()},
            v.get_review_display(),
            staff and _("Verifier: %(user)s") % {"user": v.verifier}, staff and v.note)

    plan_ids = {i.plan_id for i in items}
    notices = PublicityNotice.objects.of(asset).filter(
        Q(area_id__in=[asset.village_id, asset.township_id], stage__in=LEDGER_STAGES) | Q(disposal__asset=asset)
        | Q(plan_id__in=plan_ids)).order_by("starts_on", "pk")
    for notice in notices:
        if notice.stage in LEDGER_STAGES and asset.code not in {r.get("code") for r in notice.snapshot.get("assets", [])}:
            continue
        add(notice.starts_on, "publicity", (_("Re-posted notice: %(title)s") if notice.reposts_id else _("Notice: %(title)s")) % {"title": notice.title},
            _("%(scope)s, %(start)s to %(end)s") % {"scope": PublicityScope(notice.scope).label,
                                                     "start": notice.starts_on, "end": notice.ends_on},
            link=f"/notices/{notice.token}/")

    disposal = Disposal.objects.filter(asset=asset).of(asset).first()
    if disposal is not None:
        previous = None
        for h in disposal.history.order_by("history_date", "history_id"):
            if h.status == previous:
                continue
            previous = h.status
            reason = h.reason and DisposalReason(h.reason).label
            if h.status == DisposalStatus.REQUESTED and staff:
                add(h.history_date, "disposal", _("Disposal requested"), reason and _("Reason: %(reason)s") % {"reason": reason}, h.request_note)
            elif h.status == DisposalStatus.ASSESSED:
                add(h.assessed_on or h.history_date, "disposal", _("Asset assessment"),
                    h.assessed_value is not None and _("Assessed value %(amount)s ten-thousand yuan") % {
                        "amount": format_wan(h.assessed_value)}, h.assessor,
                    record=disposal, file_kind=Attachment.Kind.ASSESSMENT)
            elif h.status == DisposalStatus.APPROVED:
                add(h.approved_on or h.history_date, "disposal", _("Disposal approved"), h.approval_authority,
                    h.approval_reference and _("Approval reference: %(reference)s") % {"reference": h.approval_reference},
                    record=disposal,
                    file_kind=Attachment.Kind.APPROVAL)
            elif h.status == DisposalStatus.REJECTED and staff:
                add(h.history_date, "disposal", _("Disposal request rejected"), h.rejection)
            elif h.status == DisposalStatus.EXECUTED:
                add(h.executed_on or h.history_date, "disposal",
                    _("Disposal executed: %(method)s") % {"method": DisposalMethod(h.method).label if h.method else "—"},
                    reason and _("Reason: %(reason)s") % {"reason": reason},
                    h.approval_reference and _("Approval reference: %(reference)s") % {"reference": h.approval_reference},
                    _("Proceeds %(amount)s ten-thousand yuan") % {"amount": format_wan(h.proceeds)},
                    h.new_project and _("Used for: %(project)s") % {"project": h.new_project})
    events.sort(key=lambda e: (e.date, SAME_DAY_ORDER.index(e.kind)))  # stable: a workflow's steps keep their order
    return events
