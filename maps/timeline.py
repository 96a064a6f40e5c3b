"""An asset's whole life on one timeline (issue 9): registration, ownership, custody, operation, income,
verifications, publicity and disposal — as the viewer may see it (geo_assets.privacy: the public gets no phone
numbers, masked names of individuals, no free text, no unpublished documents)."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from geo_assets.access import scope_for
from geo_assets.amounts import format_wan
from geo_assets.lifecycle import attachment_visible_to, attachments_of
from geo_assets.models import Attachment, Disposal, DistributionItem, PublicityNotice
from geo_assets.privacy import Redactor, mask_numbers
from geo_assets.taxonomy import (
    DisposalMethod,
    DisposalReason,
    DisposalStatus,
    MaintenanceKind,
    PlanPurpose,
    PlanStatus,
    PublicityScope,
    PublicityStage,
    RegistrationStep,
)

KINDS = {"registration": "登记", "ownership": "确权", "custody": "管护", "operation": "运营", "income": "收益",
         "verification": "核查", "publicity": "公示", "disposal": "处置"}
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
    return "；".join(str(p) for p in parts if p)


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
        return tuple((a.original_name, f"/attachments/{a.pk}/") for a in attachments_of(record, kind).order_by("pk")
                     if a.is_public or (staff and attachment_visible_to(user, a)))

    # Entered in the ledger: on the asset's registration date when it has one (a ledger imported today records
    # assets registered years ago), else on the day its first record was written — never "today" after a life
    # that began earlier.
    first = asset.history.order_by("history_date").first()
    if first is not None or asset.registration_date:
        entered = first and _day(first.history_date)
        when = min(d for d in (asset.registration_date, entered) if d)
        add(when, "registration", "登记入册", asset.project_name,
            staff and entered and entered != when and f"录入本系统：{entered:%Y-%m-%d}",
            staff and first and first.history_change_reason and f"来源：{first.history_change_reason}")

    registrations = list(asset.registrations.select_related("submitted_by", "decided_by").order_by("submitted_at"))
    for reg in registrations:
        owners = "、".join(f"{show.owner_name(s['owner'], s['kind'])} {s['share']}%" for s in reg.shares_snapshot)
        add(reg.submitted_at, "ownership", "提交确权登记", owners and f"产权主体：{owners}",
            staff and f"提交人：{reg.submitted_by}")
        if reg.decided_at:
            confirmed = reg.step == RegistrationStep.CONFIRMED
            add(reg.decided_at, "ownership", "确权登记确认" if confirmed else "确权登记退回",
                staff and reg.comment, staff and f"办理人：{reg.decided_by}")
    if asset.registration_date and not any(r.step == RegistrationStep.CONFIRMED for r in registrations):
        add(asset.registration_date, "ownership", "确权登记", f"产权归属：{asset.get_owner_kind_display() or '—'}")
    for letter in asset.handover_letters.order_by("signed_on", "pk"):
        add(letter.signed_on, "ownership", "签署资产移交和管护责任书",
            f"{letter.handed_over_by} 移交 {letter.received_by}", staff and f"管护责任方：{letter.custodian}",
            record=letter)

    for entry in asset.maintenance.order_by("done_on", "pk"):
        add(entry.done_on, "custody", f"管护记录：{MaintenanceKind(entry.kind).label}",
            entry.cost and f"费用 {format_wan(entry.cost)} 万元", staff and entry.done_by, staff and entry.description,
            record=entry)
    for change in asset.custodian_changes.order_by("effective_on", "pk"):
        add(change.effective_on, "custody", "管护主体变更", f"{change.previous_unit or '—'} → {change.unit}",
            change.person and f"责任人：{show.person(change.person)}")
    for post in asset.welfare_posts.order_by("starts_on", "pk"):
        add(post.starts_on, "custody", "设立公益岗位",
            f"{show.person(post.holder)}{'（脱贫家庭劳动力）' if post.from_poor_household else ''}",
            staff and f"月报酬 {post.monthly_pay} 元", post.ends_on and f"至 {post.ends_on}")

    today = timezone.localdate()
    for contract in asset.contracts.select_related("renews").order_by("starts_on", "pk"):
        add(contract.starts_on, "operation", "续签经营合同" if contract.renews_id else "签订经营合同",
            f"{contract.operator}，合同 {contract.number}，{contract.starts_on} 至 {contract.ends_on}",
            f"年租金或应交收益 {format_wan(contract.yearly_due)} 万元",
            f"带贫机制：{contract.mechanism if staff else mask_numbers(contract.mechanism)}",
            staff and contract.risk_clauses and f"风险条款：{contract.risk_clauses}", record=contract)
        if contract.ends_on < today and not hasattr(contract, "renewed_by"):
            add(contract.ends_on, "operation", "经营合同到期，未续签", f"合同 {contract.number}")

    for income in asset.income.order_by("received_on", "pk"):
        add(income.received_on, "income", f"{income.year} 年收益到账", f"{format_wan(income.amount)} 万元",
            staff and income.note)
    items = DistributionItem.objects.filter(asset=asset).select_related("plan__village")
    for item in items if staff else items.filter(plan__status__in=PUBLIC_PLAN_STEPS):
        plan = item.plan
        first_step = plan.history.order_by("history_date").first()
        add(first_step.history_date if first_step else None, "income",
            f"列入{plan.village.name} {plan.year} 年收益分配方案",
            f"{PlanPurpose(item.purpose).label} {format_wan(item.amount)} 万元（{PlanStatus(plan.status).label}）",
            link=f"/villages/{plan.village.code}/plans/{plan.year}/" if staff else "")

    verifications = asset.verifications.select_related("verifier").order_by("observed_at")  # verification app
    for v in verifications if staff else [v for v in verifications if v.counts]:
        add(v.observed_at, "verification", f"实地核查：{v.get_finding_display()}{'' if v.counts else '（不计入）'}",
            v.get_review_display(),
            staff and f"核查人：{v.verifier}", staff and v.note)

    plan_ids = {i.plan_id for i in items}
    notices = PublicityNotice.objects.filter(
        Q(area_id__in=[asset.village_id, asset.township_id], stage__in=LEDGER_STAGES) | Q(disposal__asset=asset)
        | Q(plan_id__in=plan_ids)).order_by("starts_on", "pk")
    for notice in notices:
        if notice.stage in LEDGER_STAGES and asset.code not in {r.get("code") for r in notice.snapshot.get("assets", [])}:
            continue
        add(notice.starts_on, "publicity", f"{'再次' if notice.reposts_id else ''}公示：{notice.title}",
            f"{PublicityScope(notice.scope).label}，{notice.starts_on} 至 {notice.ends_on}",
            link=f"/notices/{notice.token}/")

    disposal = Disposal.objects.filter(asset=asset).first()
    if disposal is not None:
        previous = None
        for h in disposal.history.order_by("history_date", "history_id"):
            if h.status == previous:
                continue
            previous = h.status
            reason = h.reason and DisposalReason(h.reason).label
            if h.status == DisposalStatus.REQUESTED and staff:
                add(h.history_date, "disposal", "申请处置", reason and f"原因：{reason}", h.request_note)
            elif h.status == DisposalStatus.ASSESSED:
                add(h.assessed_on or h.history_date, "disposal", "资产评估",
                    h.assessed_value is not None and f"评估价值 {format_wan(h.assessed_value)} 万元", h.assessor,
                    record=disposal, file_kind=Attachment.Kind.ASSESSMENT)
            elif h.status == DisposalStatus.APPROVED:
                add(h.approved_on or h.history_date, "disposal", "处置审批", h.approval_authority,
                    h.approval_reference and f"批复文号：{h.approval_reference}", record=disposal,
                    file_kind=Attachment.Kind.APPROVAL)
            elif h.status == DisposalStatus.REJECTED and staff:
                add(h.history_date, "disposal", "处置申请驳回", h.rejection)
            elif h.status == DisposalStatus.EXECUTED:
                add(h.executed_on or h.history_date, "disposal",
                    f"处置执行：{DisposalMethod(h.method).label if h.method else '—'}",
                    reason and f"原因：{reason}", h.approval_reference and f"批复文号：{h.approval_reference}",
                    f"处置收入 {format_wan(h.proceeds)} 万元", h.new_project and f"用于：{h.new_project}")
    events.sort(key=lambda e: (e.date, SAME_DAY_ORDER.index(e.kind)))  # stable: a workflow's steps keep their order
    return events
