"""Rules of an asset's life after registration (work plan 二(四)–(八), 三). Every step: who may take it, in which
order, with which fields and documents; refusals say in Chinese what is missing. Pages, API and demo call these."""

import datetime
import hashlib
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from geo_assets import services
from geo_assets.access import scope_for
from geo_assets.models import (
    AdminArea,
    Asset,
    Attachment,
    CustodianChange,
    Department,
    Disposal,
    DistributionItem,
    DistributionPlan,
    HandoverLetter,
    IncomeRecord,
    MaintenanceEntry,
    Objection,
    OperationContract,
    OwnershipRegistration,
    PublicityNotice,
    PublicWelfarePost,
)
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import (
    PLAN_ORDER,
    TYPES_REQUIRING_NAMED_SHARES,
    AreaLevel,
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

Upload = tuple[str, bytes]  # (file name, content)
CONTRACT_WARNING_DAYS = 90


# ---------------------------------------------------------------- who may act


def _refuse(message: str):
    raise PermissionDenied(message)


def _require_asset_editor(actor, asset: Asset) -> None:
    if not Asset.objects.editable_by(actor).filter(pk=asset.pk).exists():
        _refuse("您无权办理这项资产的事项（不在您的辖区或行业范围内）。")


def _require_department_or_county(actor, asset: Asset, what: str) -> None:
    scope = scope_for(actor)
    if scope.is_county_admin or (scope.role == Role.DEPARTMENT and asset.asset_type in scope.asset_types):
        return
    _refuse(f"{what}须由资产的县级主管行业部门或县级管理员办理。")


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


def _require_area(actor, area: AdminArea, what: str) -> None:
    if not covers_area(actor, area):
        _refuse(f"{what}须由{area.name}所在的村、乡镇或县级管理员办理。")


def _stamp(obj, actor, reason: str):
    obj._history_user = actor
    obj._change_reason = reason
    return obj


def _save(obj, actor, reason: str, exclude=()):
    obj.full_clean(exclude=list(exclude))
    _stamp(obj, actor, reason).save()
    return obj


def _missing(errors: dict) -> None:
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)


# ---------------------------------------------------------------- attachments

ATTACHMENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic",
                    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
ATTACHMENT_EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png", "heic": "heic", "docx": "docx", "xlsx": "xlsx"}
# Office documents that carry code: by the name the uploader gave, and by what is inside the package (a VBA
# project, Excel 4.0 macro sheets, ActiveX controls, or a macro-enabled content type).
MACRO_SUFFIXES = (".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".xlsb", ".pptm", ".potm", ".ppam", ".ppsm")
MACRO_PARTS = ("vbaproject.bin", "vbaprojectsignature", "vbadata.xml", "/macrosheets/", "/activex/")
MACRO_CONTENT_TYPES = (b"macroenabled", b"vbaproject", b"ms-office.vba", b"macrosheet", b"ms-office.activex")
CONTENT_TYPES_MAX = 1024 * 1024  # [Content_Types].xml is a few KB; a larger one is not read (zip bomb)


def _office_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                return None
            lowered = ["/" + n.lower() for n in names]
            if any(part in n for n in lowered for part in MACRO_PARTS):
                return "macro"
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > CONTENT_TYPES_MAX:
                return None
            types = archive.read(info).lower()
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError, EOFError):
        return None
    if any(marker in types for marker in MACRO_CONTENT_TYPES):
        return "macro"
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    return None


def attachment_kind_of(data: bytes) -> str | None:
    """The file's real type from its content (the name can lie): PDF, JPEG, PNG, HEIC, DOCX or XLSX; "macro" for
    an Office document that carries macros or controls (refused)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "heic"
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    return None


def attachment_name(name: str, kind: str) -> str:
    """The uploader's name with the detected type's extension (never the uploader's own: x.html holding a PDF is
    kept and served as x.pdf)."""
    base = name.replace("/", "_").replace("\\", "_").strip()
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    stem = stem.strip(" .")[:100] or "附件"
    return f"{stem}.{ATTACHMENT_EXTENSIONS[kind]}"


def attachment_add(*, actor, record, kind: str, upload: Upload) -> Attachment:
    name, data = upload
    limit = settings.ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise ValidationError({"attachment": f"附件“{name}”太大（{len(data) / 1024**2:.1f} MB），上限 "
                                             f"{limit / 1024**2:.0f} MB。"})
    if not data:
        raise ValidationError({"attachment": f"附件“{name}”是空文件。"})
    real = attachment_kind_of(data)
    if real == "macro" or name.lower().rstrip(" .").endswith(MACRO_SUFFIXES):
        raise ValidationError({"attachment": f"附件“{name}”含有宏或控件（启用宏的 Office 文档），出于安全不予接收："
                                             "请另存为不含宏的 .docx / .xlsx 或 PDF 后再上传。"})
    if real is None:
        raise ValidationError({"attachment": f"附件“{name}”的类型不受支持：只接受 PDF、JPEG、PNG、HEIC、DOCX、XLSX。"})
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk, kind=kind,
        original_name=attachment_name(name, real), mime=ATTACHMENT_TYPES[real], size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=actor, uploaded_at=timezone.now())
    attachment.file.save(f"{hashlib.sha256(data).hexdigest()[:16]}.{ATTACHMENT_EXTENSIONS[real]}",
                         ContentFile(data), save=False)
    attachment.full_clean(exclude=["content_type", "uploaded_by"])
    attachment.save()
    return attachment


def attachments_of(record, kind: str | None = None):
    qs = Attachment.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)
    return qs.filter(kind=kind) if kind else qs


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


# ---------------------------------------------------------------- ownership registration (确权登记)


def _shares_snapshot(asset: Asset) -> list[dict]:
    return [{"owner": o.owner_name, "kind": o.owner_kind, "share": str(o.share)}
            for o in asset.owners.filter(share__gt=0).order_by("-share", "owner_name")]


@transaction.atomic
def ownership_submit(*, actor, asset: Asset) -> OwnershipRegistration:
    """The area proposes the asset's owner(s) for confirmation."""
    _require_asset_editor(actor, asset)
    if asset.registration_status == RegistrationStatus.REGISTERED and asset.registrations.filter(
            step=RegistrationStep.CONFIRMED).exists():
        raise ValidationError({"registration": "该资产已确权登记。"})
    if asset.registrations.filter(step=RegistrationStep.SUBMITTED).exists():
        raise ValidationError({"registration": "已提交确权，等待主管部门确认。"})
    snapshot = _shares_snapshot(asset)
    if asset.asset_type in TYPES_REQUIRING_NAMED_SHARES:
        total = sum((Decimal(s["share"]) for s in snapshot), Decimal("0"))
        if not snapshot or total != 100:
            raise ValidationError({"owners": f"股权、债权类资产须列明全部产权主体及占股比例且合计 100%（当前合计 {total}%）。"})
    if not asset.owner_kind:
        raise ValidationError({"owner_kind": "请先填写产权归属。"})
    return _save(OwnershipRegistration(asset=asset, shares_snapshot=snapshot, submitted_by=actor,
                                       submitted_at=timezone.now()), actor, "提交确权",
                 exclude=["submitted_by", "shares_snapshot"])  # empty when the default owner applies


@transaction.atomic
def ownership_decide(*, actor, registration: OwnershipRegistration, confirm: bool, comment: str = "") -> Asset:
    """The responsible department confirms (or returns) the registration; confirmed, the asset is registered.
    The signed handover and custody letter must be on file first."""
    registration = OwnershipRegistration.objects.select_for_update().get(pk=registration.pk)
    asset = registration.asset
    _require_department_or_county(actor, asset, "确权审核")
    if registration.step != RegistrationStep.SUBMITTED:
        raise ValidationError({"registration": "这份确权申请已处理过。"})
    if confirm:
        if registration.shares_snapshot != _shares_snapshot(asset):
            raise ValidationError({"owners": "提交后产权份额已改动：请退回重新提交。"})
        letter = asset.handover_letters.first()
        if letter is None or not attachments_of(letter, Attachment.Kind.HANDOVER).exists():
            raise ValidationError({"handover": "缺少已签署的资产移交和管护责任书（扫描件）。"})
    elif not comment.strip():
        raise ValidationError({"comment": "退回时请写明理由。"})
    registration.step = RegistrationStep.CONFIRMED if confirm else RegistrationStep.RETURNED
    registration.decided_by, registration.decided_at, registration.comment = actor, timezone.now(), comment.strip()
    _stamp(registration, actor, "确权确认" if confirm else "确权退回").save()
    if confirm:
        services.asset_update(actor=actor, asset=asset, changes={
            "registration_status": RegistrationStatus.REGISTERED, "registration_date": timezone.localdate()},
            reason="确权登记确认")
    return Asset.objects.get(pk=asset.pk)


@transaction.atomic
def handover_record(*, actor, asset: Asset, signed_on: datetime.date, handed_over_by: str, received_by: str,
                    custodian: str, scan: Upload | None) -> HandoverLetter:
    _require_asset_editor(actor, asset)
    _missing({"scan": "请上传已签署的责任书扫描件（PDF 或照片）。" if not scan else "",
              "signed_on": "签署日期不能晚于今天。" if signed_on > timezone.localdate() else ""})
    letter = _save(HandoverLetter(asset=asset, signed_on=signed_on, handed_over_by=handed_over_by,
                                  received_by=received_by, custodian=custodian, recorded_by=actor),
                   actor, "资产移交和管护责任书", exclude=["recorded_by"])
    attachment_add(actor=actor, record=letter, kind=Attachment.Kind.HANDOVER, upload=scan)
    return letter


# ---------------------------------------------------------------- custody (管护)


def maintenance_record(*, actor, asset: Asset, done_on: datetime.date, kind: str, cost: Decimal, done_by: str,
                       description: str, photos: Sequence[Upload] = ()) -> MaintenanceEntry:
    _require_asset_editor(actor, asset)
    _missing({"done_on": "日期不能晚于今天。" if done_on > timezone.localdate() else "",
              "kind": "" if kind in MaintenanceKind.values else "请选择管护类型（日常/维修/更新）。"})
    with transaction.atomic():
        entry = _save(MaintenanceEntry(asset=asset, done_on=done_on, kind=kind, cost=cost, done_by=done_by,
                                       description=description, recorded_by=actor), actor, "管护记录",
                      exclude=["recorded_by"])
        for photo in photos:
            attachment_add(actor=actor, record=entry, kind=Attachment.Kind.OTHER, upload=photo)
    return entry


@transaction.atomic
def custodian_change(*, actor, asset: Asset, effective_on: datetime.date, unit: str, person: str = "",
                     phone: str = "") -> CustodianChange:
    _require_asset_editor(actor, asset)
    if not unit.strip():
        raise ValidationError({"unit": "请填写新的管护单位。"})
    change = _save(CustodianChange(asset=asset, effective_on=effective_on, previous_unit=asset.custodian_unit,
                                   previous_person=asset.custodian_person, unit=unit.strip(), person=person.strip(),
                                   recorded_by=actor), actor, "管护主体变更", exclude=["recorded_by"])
    services.asset_update(actor=actor, asset=asset, reason="管护主体变更", changes={
        "custodian_unit": unit.strip(), "custodian_person": person.strip(), "custodian_phone": phone.strip()})
    return change


def welfare_post_record(*, actor, asset: Asset, holder: str, from_poor_household: bool, starts_on: datetime.date,
                        monthly_pay: Decimal, ends_on: datetime.date | None = None) -> PublicWelfarePost:
    _require_asset_editor(actor, asset)
    if ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": "结束日期不能早于开始日期。"})
    return _save(PublicWelfarePost(asset=asset, holder=holder, from_poor_household=from_poor_household,
                                   starts_on=starts_on, ends_on=ends_on, monthly_pay=monthly_pay, recorded_by=actor),
                 actor, "公益岗位", exclude=["recorded_by"])


# ---------------------------------------------------------------- operation (运营)


@transaction.atomic
def contract_record(*, actor, asset: Asset, operator: str, number: str, starts_on: datetime.date,
                    ends_on: datetime.date, yearly_due: Decimal, mechanism: str, risk_clauses: str = "",
                    renews: OperationContract | None = None, scan: Upload | None = None) -> OperationContract:
    """An operating asset's contract with its operator (经营主体), or the renewal of its current one."""
    _require_asset_editor(actor, asset)
    _missing({
        "asset": "" if asset.category == Category.OPERATING else "只有经营性资产签订经营协议。",
        "ends_on": "" if ends_on > starts_on else "合同结束日期应晚于开始日期。",
        "mechanism": "" if mechanism.strip() else "请写明带贫减贫机制。",
        "renews": "续签的合同须是本资产的合同。" if renews is not None and renews.asset_id != asset.pk else "",
    })
    contract = _save(OperationContract(asset=asset, operator=operator, number=number, starts_on=starts_on,
                                       ends_on=ends_on, yearly_due=yearly_due, mechanism=mechanism.strip(),
                                       risk_clauses=risk_clauses, renews=renews, recorded_by=actor),
                     actor, "续签经营合同" if renews else "经营合同", exclude=["recorded_by"])
    if scan:
        attachment_add(actor=actor, record=contract, kind=Attachment.Kind.CONTRACT, upload=scan)
    if asset.operator != operator:
        services.asset_update(actor=actor, asset=asset, changes={"operator": operator}, reason="经营合同")
    return contract


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
            warnings.append(Warning("red", "contract_expired", f"{contract.asset.name}：经营合同 {contract.number} 已于"
                                    f" {contract.ends_on} 到期，未续签也未回收。", contract.asset))
        elif contract.ends_on <= today + datetime.timedelta(days=CONTRACT_WARNING_DAYS):
            warnings.append(Warning("yellow", "contract_ending", f"{contract.asset.name}：经营合同 {contract.number} 将于"
                                    f" {contract.ends_on} 到期。", contract.asset))
    return warnings


def income_record(*, actor, asset: Asset, year: int, amount: Decimal, received_on: datetime.date,
                  note: str = "") -> IncomeRecord:
    _require_asset_editor(actor, asset)
    _missing({"year": "收益年度不能晚于今年。" if year > timezone.localdate().year else "",
              "received_on": "到账日期不能晚于今天。" if received_on > timezone.localdate() else ""})
    return _save(IncomeRecord(asset=asset, year=year, amount=amount, received_on=received_on, note=note,
                              recorded_by=actor), actor, "收益到账", exclude=["recorded_by"])


# ---------------------------------------------------------------- income distribution plan (收益分配)


@dataclass(frozen=True)
class PlanLine:
    purpose: str
    amount: Decimal
    recipient: str = ""
    asset: Asset | None = None


@transaction.atomic
def plan_draft(*, actor, village: AdminArea, year: int, items: Sequence[PlanLine]) -> DistributionPlan:
    """The village drafts how a year's income is shared; the items add up to the plan's total."""
    _require_area(actor, village, "收益分配方案")
    if village.level != AreaLevel.VILLAGE:
        raise ValidationError({"village": "收益分配方案按村编制。"})
    if DistributionPlan.objects.filter(village=village, year=year).exists():
        raise ValidationError({"year": f"{village.name}已有 {year} 年度的收益分配方案。"})
    _missing({"items": "" if items else "请列出分配项目。",
              "purpose": "" if all(i.purpose in PlanPurpose.values for i in items) else "分配用途无效。"})
    total = sum((Decimal(i.amount) for i in items), Decimal("0"))
    plan = _save(DistributionPlan(village=village, year=year, total=total, created_by=actor), actor, "拟定方案",
                 exclude=["created_by"])
    for line in items:
        _save(DistributionItem(plan=plan, purpose=line.purpose, amount=line.amount, recipient=line.recipient,
                               asset=line.asset), actor, "拟定方案", exclude=["plan"])
    return plan


def plan_warnings(plan: DistributionPlan) -> list[Warning]:
    """一分了之: everything handed out as cash; and equity owners' shares that do not match the ownership shares."""
    warnings = []
    items = list(plan.items.all())
    cash = sum((i.amount for i in items if i.purpose == PlanPurpose.CASH), Decimal("0"))
    if plan.total and cash >= plan.total:
        warnings.append(Warning("red", "all_cash", "方案把全部收益直接发给农户（“一分了之”），应优先用于村集体经济、"
                                                   "公益事业和无劳动能力人口。"))
    elif plan.total and cash * 2 > plan.total:
        warnings.append(Warning("yellow", "mostly_cash", "方案过半收益直接发放现金，请说明理由。"))
    for item in items:
        if item.purpose != PlanPurpose.EQUITY_OWNERS or item.asset is None:
            continue
        income = IncomeRecord.objects.filter(asset=item.asset, year=plan.year).aggregate(s=Sum("amount"))["s"]
        owner = item.asset.owners.filter(owner_name=item.recipient, share__gt=0).first()
        if owner is None:
            warnings.append(Warning("red", "equity_owner_unknown", f"{item.recipient} 不是 {item.asset.name} 的产权主体。",
                                    item.asset))
        elif income is not None and (income * owner.share / 100 - item.amount).copy_abs() > Decimal("0.0001"):
            warnings.append(Warning("red", "equity_share_mismatch",
                                    f"{item.recipient} 应分 {income * owner.share / 100:.4f} 万元（占股 {owner.share}%），"
                                    f"方案为 {item.amount} 万元。", item.asset))
    return warnings


def _plan_step(plan: DistributionPlan, expected: str) -> DistributionPlan:
    plan = DistributionPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != expected:
        done, wanted = PlanStatus(plan.status).label, PlanStatus(expected).label
        raise ValidationError({"status": f"方案当前处于“{done}”，这一步须在“{wanted}”之后办理。"})
    return plan


@transaction.atomic
def plan_decide(*, actor, plan: DistributionPlan, meeting_on: datetime.date, attendance: int,
                minutes: Upload | None) -> DistributionPlan:
    """The village meeting decided it (民主决策): date, attendance and the minutes."""
    plan = _plan_step(plan, PlanStatus.DRAFTED)
    _require_area(actor, plan.village, "村民会议决议")
    _missing({"minutes": "" if minutes else "请上传村民会议记录。",
              "attendance": "" if attendance and attendance > 0 else "请填写参会人数。",
              "meeting_on": "会议日期不能晚于今天。" if meeting_on > timezone.localdate() else ""})
    plan.status, plan.meeting_on, plan.attendance = PlanStatus.DECIDED, meeting_on, attendance
    _stamp(plan, actor, "村民会议决议").save()
    attachment_add(actor=actor, record=plan, kind=Attachment.Kind.MINUTES, upload=minutes)
    return plan


@transaction.atomic
def plan_review(*, actor, plan: DistributionPlan) -> DistributionPlan:
    """The township reviews it (乡镇人民政府审核); a plan that hands everything out as cash is sent back."""
    plan = _plan_step(plan, PlanStatus.DECIDED)
    scope = scope_for(actor)
    if not (scope.is_county_admin or (scope.role == Role.TOWNSHIP and plan.village.parent_id == scope.area_id)):
        _refuse("收益分配方案须由所在乡镇审核。")
    red = [w.message for w in plan_warnings(plan) if w.level == "red"]
    if red:
        raise ValidationError({"items": red})
    plan.status = PlanStatus.REVIEWED
    _stamp(plan, actor, "乡镇审核").save()
    return plan


@transaction.atomic
def plan_file(*, actor, plan: DistributionPlan, department: Department) -> DistributionPlan:
    """Filed with the responsible department (报行业部门备案)."""
    plan = _plan_step(plan, PlanStatus.REVIEWED)
    scope = scope_for(actor)
    if not (scope.is_county_admin or (scope.role == Role.DEPARTMENT and department.asset_types
                                      and set(department.asset_types) == set(scope.asset_types))):
        _refuse("备案须由所报的行业部门或县级管理员办理。")
    plan.status, plan.department = PlanStatus.FILED, department
    _stamp(plan, actor, "行业部门备案").save()
    return plan


@transaction.atomic
def plan_pay(*, actor, plan: DistributionPlan, paid_on: datetime.date) -> DistributionPlan:
    """Paid out: only after the plan's publicity period ended with every objection answered."""
    plan = _plan_step(plan, PlanStatus.PUBLICISED)
    _require_area(actor, plan.village, "收益兑付")
    notice = plan.notices.order_by("-starts_on").first()
    if notice is None or notice.ends_on >= paid_on:
        raise ValidationError({"paid_on": "公示期结束后才能兑付。"})
    if notice.objections.filter(answered_at__isnull=True).exists():
        raise ValidationError({"objections": "公示期内的异议尚未答复。"})
    plan.status, plan.paid_on = PlanStatus.PAID, paid_on
    _stamp(plan, actor, "兑付").save()
    return plan


# ---------------------------------------------------------------- disposal (处置)


@transaction.atomic
def disposal_request(*, actor, asset: Asset, reason: str, note: str = "") -> Disposal:
    _require_asset_editor(actor, asset)
    if asset.status == AssetStatus.DISPOSED:
        raise ValidationError({"status": "该资产已处置。"})
    _missing({"reason": "" if reason in DisposalReason.values else "请选择处置原因（运行不良、无法使用、达到使用年限、合同到期）。"})
    disposal = Disposal.objects.filter(asset=asset).first()
    if disposal is not None and disposal.status != DisposalStatus.REJECTED:
        raise ValidationError({"status": "该资产已有进行中的处置申请。"})
    disposal = disposal or Disposal(asset=asset)
    disposal.status, disposal.reason, disposal.request_note, disposal.recorded_by = (
        DisposalStatus.REQUESTED, reason, note, actor)
    disposal.rejection = ""
    return _save(disposal, actor, "处置申请", exclude=["asset", "recorded_by"])


def _disposal_step(disposal: Disposal, expected: str) -> Disposal:
    disposal = Disposal.objects.select_for_update().select_related("asset").get(pk=disposal.pk)
    if disposal.status != expected:
        raise ValidationError({"status": f"处置当前处于“{DisposalStatus(disposal.status).label}”，这一步须在"
                                         f"“{DisposalStatus(expected).label}”之后办理。"})
    return disposal


@transaction.atomic
def disposal_assess(*, actor, disposal: Disposal, value: Decimal, assessor: str, assessed_on: datetime.date,
                    report: Upload | None) -> Disposal:
    disposal = _disposal_step(disposal, DisposalStatus.REQUESTED)
    _require_department_or_county(actor, disposal.asset, "资产评估")
    _missing({"report": "" if report else "请上传评估报告。", "assessor": "" if assessor.strip() else "请填写评估机构或评估人。"})
    disposal.status, disposal.assessed_value, disposal.assessor, disposal.assessed_on = (
        DisposalStatus.ASSESSED, value, assessor.strip(), assessed_on)
    _save(disposal, actor, "资产评估", exclude=["asset", "recorded_by"])
    attachment_add(actor=actor, record=disposal, kind=Attachment.Kind.ASSESSMENT, upload=report)
    return disposal


@transaction.atomic
def disposal_approve(*, actor, disposal: Disposal, authority: str, reference: str, approved_on: datetime.date,
                     document: Upload | None) -> Disposal:
    """履行报批手续: the county office records the approval with its document."""
    disposal = _disposal_step(disposal, DisposalStatus.ASSESSED)
    if not scope_for(actor).is_county_admin:
        _refuse("处置审批须由县级管理员（领导小组办公室）登记。")
    _missing({"document": "" if document else "请上传批复文件。", "reference": "" if reference.strip() else "请填写批复文号。",
              "authority": "" if authority.strip() else "请填写审批机关。"})
    disposal.status, disposal.approval_authority, disposal.approval_reference, disposal.approved_on = (
        DisposalStatus.APPROVED, authority.strip(), reference.strip(), approved_on)
    _save(disposal, actor, f"处置审批：{reference}", exclude=["asset", "recorded_by"])
    attachment_add(actor=actor, record=disposal, kind=Attachment.Kind.APPROVAL, upload=document)
    return disposal


@transaction.atomic
def disposal_reject(*, actor, disposal: Disposal, reason: str) -> Disposal:
    disposal = Disposal.objects.select_for_update().select_related("asset").get(pk=disposal.pk)
    if disposal.status not in (DisposalStatus.REQUESTED, DisposalStatus.ASSESSED):
        raise ValidationError({"status": "只有未批准的处置申请可以驳回。"})
    _require_department_or_county(actor, disposal.asset, "驳回处置申请")
    if not reason.strip():
        raise ValidationError({"rejection": "驳回时请写明理由。"})
    disposal.status, disposal.rejection = DisposalStatus.REJECTED, reason.strip()
    return _save(disposal, actor, "处置驳回", exclude=["asset", "recorded_by"])


@transaction.atomic
def disposal_execute(*, actor, disposal: Disposal, method: str, executed_on: datetime.date,
                     proceeds: Decimal = Decimal("0"), new_project: str = "") -> Disposal:
    """Carried out (拍卖、转让、报废、回收、续签); only now does the asset become 已处置. Proceeds fund a new project."""
    disposal = _disposal_step(disposal, DisposalStatus.APPROVED)
    _require_asset_editor(actor, disposal.asset)
    _missing({"method": "" if method in DisposalMethod.values else "请选择处置方式。",
              "new_project": "处置收入须统筹用于新的扶贫项目：请填写项目。" if proceeds and not new_project.strip() else "",
              "executed_on": "执行日期不能早于批复日期。" if executed_on < disposal.approved_on else ""})
    disposal.status, disposal.method, disposal.executed_on, disposal.proceeds, disposal.new_project = (
        DisposalStatus.EXECUTED, method, executed_on, proceeds, new_project.strip())
    _save(disposal, actor, "处置执行", exclude=["asset", "recorded_by"])
    if method == DisposalMethod.RENEWAL:
        return disposal  # a renewed contract keeps the asset in the register
    asset = disposal.asset
    asset.status = AssetStatus.DISPOSED
    _stamp(asset, actor, f"已处置：{disposal.approval_reference}")
    asset.full_clean(exclude=["location", "geom_web"])
    asset.save()
    return disposal


# ---------------------------------------------------------------- publicity (公示)


def _snapshot(stage: str, area: AdminArea, *, plan=None, disposal=None) -> dict:
    """Exactly what is posted, frozen: public fields only (names of individuals masked, no phone numbers)."""
    from geo_assets.access import PUBLIC_SCOPE

    public = Redactor(PUBLIC_SCOPE)
    if stage == PublicityStage.INCOME_PLAN:
        return {"village": area.name, "year": plan.year, "total": str(plan.total), "items": [
            {"purpose": str(PlanPurpose(i.purpose).label), "amount": str(i.amount),
             # households without labour capacity are named persons; other recipients are groups or bodies
             "recipient": public.person(i.recipient) if i.purpose == PlanPurpose.NO_LABOUR else i.recipient} for i in plan.items.all()]}
    if stage == PublicityStage.DISPOSAL:
        return {"asset": disposal.asset.code, "name": public.asset_name(disposal.asset),
                "reason": str(DisposalReason(disposal.reason).label) if disposal.reason else "",
                "assessed_value": str(disposal.assessed_value), "approval": disposal.approval_reference,
                "method": str(DisposalMethod(disposal.method).label) if disposal.method else "",
                "proceeds": str(disposal.proceeds), "new_project": disposal.new_project}
    assets = Asset.objects.in_area(area).exclude(status=AssetStatus.DISPOSED).order_by("code").prefetch_related("owners")
    rows = []
    for asset in assets:
        row = {"code": asset.code, "name": public.asset_name(asset), "type": str(asset.get_asset_type_display()),
               "investment": str(asset.total_investment), "status": str(asset.get_status_display())}
        if stage == PublicityStage.OWNERSHIP:
            row["owner_kind"] = str(asset.get_owner_kind_display())
            row["registration"] = str(asset.get_registration_status_display())
            row["owners"] = [{"owner": public.owner_name(o.owner_name, o.owner_kind), "share": str(o.share)}
                             for o in asset.owners.all() if o.share > 0]
        rows.append(row)
    return {"area": area.name, "assets": rows}


@transaction.atomic
def notice_post(*, actor, stage: str, scope: str, area: AdminArea, starts_on: datetime.date, ends_on: datetime.date,
                title: str = "", plan: DistributionPlan | None = None, disposal: Disposal | None = None,
                reposts: PublicityNotice | None = None) -> PublicityNotice:
    """Post a list for a period of at least PUBLICITY_MIN_DAYS, freezing what is posted."""
    _require_area(actor, area, "公示")
    minimum = settings.PUBLICITY_MIN_DAYS
    _missing({
        "stage": "" if stage in PublicityStage.values else "公示环节无效。",
        "scope": "" if scope in PublicityScope.values else "公示范围无效。",
        "ends_on": "" if (ends_on - starts_on).days + 1 >= minimum else f"公示期不少于 {minimum} 天。",
        "plan": "" if stage != PublicityStage.INCOME_PLAN or plan is not None else "请指定收益分配方案。",
        "disposal": "" if stage != PublicityStage.DISPOSAL or disposal is not None else "请指定处置事项。",
    })
    if plan is not None and reposts is None:
        plan = _plan_step(plan, PlanStatus.FILED)
    if disposal is not None:
        disposal = Disposal.objects.select_related("asset").get(pk=disposal.pk)
    if disposal is not None and disposal.status != DisposalStatus.EXECUTED:
        raise ValidationError({"disposal": "处置执行后公开处置结果。"})
    if reposts is not None and reposts.objections.filter(answered_at__isnull=True).exists():
        raise ValidationError({"objections": "上一次公示的异议尚未全部核实答复，不能再次公示。"})
    title = title or f"{area.name}{PublicityStage(stage).label}公示"
    notice = _save(PublicityNotice(stage=stage, scope=scope, area=area, title=title, starts_on=starts_on,
                                   ends_on=ends_on, snapshot=_snapshot(stage, area, plan=plan, disposal=disposal),
                                   plan=plan, disposal=disposal, reposts=reposts, posted_by=actor,
                                   posted_at=timezone.now()), actor, "公示", exclude=["posted_by"])
    if plan is not None and plan.status == PlanStatus.FILED:
        plan.status = PlanStatus.PUBLICISED
        _stamp(plan, actor, "公示").save()
    return notice


def objection_record(*, actor, notice: PublicityNotice, raised_by: str, text: str, raised_on: datetime.date,
                     contact: str = "") -> Objection:
    _require_area(actor, notice.area, "异议登记")
    _missing({"text": "" if text.strip() else "请写明异议内容。",
              "raised_on": "" if notice.starts_on <= raised_on <= notice.ends_on else "异议须在公示期内提出。"})
    return _save(Objection(notice=notice, raised_by=raised_by, contact=contact, text=text.strip(), raised_on=raised_on,
                           recorded_by=actor), actor, "异议登记", exclude=["recorded_by"])


def objection_answer(*, actor, objection: Objection, check_result: str, answer: str) -> Objection:
    _require_area(actor, objection.notice.area, "异议答复")
    _missing({"check_result": "" if check_result.strip() else "请写明核实情况。",
              "answer": "" if answer.strip() else "请写明答复。"})
    objection.check_result, objection.answer = check_result.strip(), answer.strip()
    objection.answered_by, objection.answered_at = actor, timezone.now()
    return _save(objection, actor, "异议答复")


def notices_public() -> Iterable[PublicityNotice]:
    return PublicityNotice.objects.select_related("area").order_by("-starts_on")


# ---------------------------------------------------------------- annual cycle (年度清查、收益清算)


def annual_review(*, village: AdminArea, year: int) -> dict:
    """At the start of a year: what is missing for last year's operation and income in a village."""
    assets = Asset.objects.in_area(village).exclude(status=AssetStatus.DISPOSED)
    operating = assets.filter(category=Category.OPERATING)
    with_income = set(IncomeRecord.objects.filter(asset__in=operating, year=year).values_list("asset_id", flat=True))
    plan = DistributionPlan.objects.filter(village=village, year=year).first()
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    unverified = assets.filter(Q(last_verified_at__isnull=True) | Q(last_verified_at__date__lt=start))
    return {
        "village": village.name, "year": year,
        "no_income": [a for a in operating.order_by("code") if a.pk not in with_income],
        "plan": plan, "plan_missing": plan is None and bool(with_income),
        "plan_unfinished": plan is not None and plan.status != PlanStatus.PAID,
        "contracts": contract_warnings(assets=assets, today=end),
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
        todo["disposals_to_approve"] = list(Disposal.objects.filter(status=DisposalStatus.ASSESSED)
                                            .select_related("asset"))
    todo["disposals_to_execute"] = list(Disposal.objects.filter(status=DisposalStatus.APPROVED, asset__in=editable)
                                        .select_related("asset"))
    plans = DistributionPlan.objects.select_related("village")
    if scope.role == Role.VILLAGE:
        todo["plans_to_decide"] = list(plans.filter(village_id=scope.area_id, status=PlanStatus.DRAFTED))
        todo["plans_to_publicise"] = list(plans.filter(village_id=scope.area_id, status=PlanStatus.FILED))
        todo["plans_to_pay"] = list(plans.filter(village_id=scope.area_id, status=PlanStatus.PUBLICISED))
    if scope.role == Role.TOWNSHIP or scope.is_county_admin:
        filt = {} if scope.is_county_admin else {"village__parent_id": scope.area_id}
        todo["plans_to_review"] = list(plans.filter(status=PlanStatus.DECIDED, **filt))
    if scope.role == Role.DEPARTMENT or scope.is_county_admin:
        todo["plans_to_file"] = list(plans.filter(status=PlanStatus.REVIEWED))
    open_objections = Objection.objects.filter(answered_at__isnull=True).select_related("notice", "notice__area")
    todo["objections_to_answer"] = [o for o in open_objections if covers_area(user, o.notice.area)]
    todo["contracts"] = contract_warnings(assets=editable)
    return {k: v for k, v in todo.items() if v}
