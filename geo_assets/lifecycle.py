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
from django.db.models import Sum
from django.utils import timezone

from geo_assets import services
from geo_assets.access import scope_for
from geo_assets.amounts import format_wan
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
from geo_assets.validation import amount_check, date_check

Upload = tuple[str, bytes]  # (file name, content)
CONTRACT_WARNING_DAYS = 90
CONTRACT_MAX_YEARS = 30  # the furthest a contract's term may reach from today
POST_MAX_YEARS = 10  # a public-welfare post's planned end
NOTICE_LEAD_DAYS = 30  # a notice may be announced this far ahead of its first day
NOTICE_MAX_DAYS = 90  # and run at most this long
YEAR = 366


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


def _require_area(actor, area: AdminArea, what: str) -> None:
    _enforce(_area_refusal(actor, area, what))


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


def _valid(*, missing: dict | None = None, dates=(), amounts=()) -> None:
    """Every refusal of a step's values at once (issue 21 item 20), through the register's one set of bounds
    (geo_assets.validation): `missing` {field: message or ""}, `dates` (field, value, days it may lie ahead of
    today), `amounts` (field, value, zero allowed)."""
    errors: dict[str, list] = {}
    for name, message in (missing or {}).items():
        if message:
            errors.setdefault(name, []).append(message)
    checks = [(date_check, value, {"field": name, "future_days": ahead}) for name, value, ahead in dates]
    checks += [(amount_check, value, {"field": name, "allow_zero": zero}) for name, value, zero in amounts]
    for check, value, kwargs in checks:
        try:
            check(value, **kwargs)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


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


def _enforce(refusal: "Refusal | None") -> None:
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


def _live_asset(actor, asset: Asset, rule) -> Asset:
    """The asset's row, locked for the step, after the step's rule let it through."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    _enforce(rule(actor, asset))
    return asset


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
    asset = _live_asset(actor, asset, may_ownership_submit)
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
    asset = _live_asset(actor, registration.asset, may_ownership_decide)
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
    asset = _live_asset(actor, asset, may_handover)
    _valid(missing={"scan": "请上传已签署的责任书扫描件（PDF 或照片）。" if not scan else ""},
           dates=[("signed_on", signed_on, 0)])
    letter = _save(HandoverLetter(asset=asset, signed_on=signed_on, handed_over_by=handed_over_by,
                                  received_by=received_by, custodian=custodian, recorded_by=actor),
                   actor, "资产移交和管护责任书", exclude=["recorded_by"])
    attachment_add(actor=actor, record=letter, kind=Attachment.Kind.HANDOVER, upload=scan)
    return letter


# ---------------------------------------------------------------- custody (管护)


@transaction.atomic
def maintenance_record(*, actor, asset: Asset, done_on: datetime.date, kind: str, cost: Decimal, done_by: str,
                       description: str, photos: Sequence[Upload] = ()) -> MaintenanceEntry:
    asset = _live_asset(actor, asset, may_maintenance)
    _valid(missing={"kind": "" if kind in MaintenanceKind.values else "请选择管护类型（日常/维修/更新）。"},
           dates=[("done_on", done_on, 0)], amounts=[("cost", cost, True)])
    entry = _save(MaintenanceEntry(asset=asset, done_on=done_on, kind=kind, cost=cost, done_by=done_by,
                                   description=description, recorded_by=actor), actor, "管护记录",
                  exclude=["recorded_by"])
    for photo in photos:
        attachment_add(actor=actor, record=entry, kind=Attachment.Kind.OTHER, upload=photo)
    return entry


@transaction.atomic
def custodian_change(*, actor, asset: Asset, effective_on: datetime.date, unit: str, person: str = "",
                     phone: str = "") -> CustodianChange:
    asset = _live_asset(actor, asset, may_custodian_change)
    _valid(missing={"unit": "" if unit.strip() else "请填写新的管护单位。"}, dates=[("effective_on", effective_on, 0)])
    change = _save(CustodianChange(asset=asset, effective_on=effective_on, previous_unit=asset.custodian_unit,
                                   previous_person=asset.custodian_person, unit=unit.strip(), person=person.strip(),
                                   recorded_by=actor), actor, "管护主体变更", exclude=["recorded_by"])
    services.asset_update(actor=actor, asset=asset, reason="管护主体变更", changes={
        "custodian_unit": unit.strip(), "custodian_person": person.strip(), "custodian_phone": phone.strip()})
    return change


@transaction.atomic
def welfare_post_record(*, actor, asset: Asset, holder: str, from_poor_household: bool, starts_on: datetime.date,
                        monthly_pay: Decimal, ends_on: datetime.date | None = None) -> PublicWelfarePost:
    """monthly_pay is in yuan; the one amount bound (in 万元) caps it all the same."""
    asset = _live_asset(actor, asset, may_welfare_post)
    _valid(missing={"ends_on": "结束日期不能早于开始日期。" if ends_on and starts_on and ends_on < starts_on else ""},
           dates=[("starts_on", starts_on, YEAR), ("ends_on", ends_on, POST_MAX_YEARS * YEAR)],
           amounts=[("monthly_pay", monthly_pay, True)])
    return _save(PublicWelfarePost(asset=asset, holder=holder, from_poor_household=from_poor_household,
                                   starts_on=starts_on, ends_on=ends_on, monthly_pay=monthly_pay, recorded_by=actor),
                 actor, "公益岗位", exclude=["recorded_by"])


# ---------------------------------------------------------------- operation (运营)


@transaction.atomic
def contract_record(*, actor, asset: Asset, operator: str, number: str, starts_on: datetime.date,
                    ends_on: datetime.date, yearly_due: Decimal, mechanism: str, risk_clauses: str = "",
                    renews: OperationContract | None = None, scan: Upload | None = None) -> OperationContract:
    """An operating asset's contract with its operator (经营主体), or the renewal of its current one."""
    asset = _live_asset(actor, asset, may_contract)
    _valid(missing={
        "ends_on": "" if not (starts_on and ends_on) or ends_on > starts_on else "合同结束日期应晚于开始日期。",
        "mechanism": "" if mechanism.strip() else "请写明带贫减贫机制。",
        "renews": "续签的合同须是本资产的合同。" if renews is not None and renews.asset_id != asset.pk else "",
    }, dates=[("starts_on", starts_on, YEAR), ("ends_on", ends_on, CONTRACT_MAX_YEARS * YEAR)],
        amounts=[("yearly_due", yearly_due, True)])
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


@transaction.atomic
def income_record(*, actor, asset: Asset, year: int, amount: Decimal, received_on: datetime.date,
                  note: str = "") -> IncomeRecord:
    asset = _live_asset(actor, asset, may_income)
    first, this = settings.BOUNDS_EARLIEST_DATE.year, timezone.localdate().year
    _valid(missing={"year": "" if first <= year <= this else f"收益年度须在 {first} 年至今年（{this} 年）之间。"},
           dates=[("received_on", received_on, 0)], amounts=[("amount", amount, False)])
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
def plan_draft(*, actor, village: AdminArea, year: int, items: Sequence[PlanLine], other_source: str = "",
               drafted_on: datetime.date | None = None) -> DistributionPlan:
    """The village drafts how a year's income is shared; the items add up to the plan's total, which may not exceed
    the village's recorded income of that year unless `other_source` names where the rest comes from. `drafted_on`
    (default today) is the day it was drafted, for a plan drafted on paper before it is entered."""
    _enforce(may_plan_draft(actor, village))
    if village.level != AreaLevel.VILLAGE:
        raise ValidationError({"village": "收益分配方案按村编制。"})
    if DistributionPlan.objects.filter(village=village, year=year).exists():
        raise ValidationError({"year": f"{village.name}已有 {year} 年度的收益分配方案。"})
    drafted_on = drafted_on or timezone.localdate()
    _plan_lines_check(year, items, drafted_on)
    total = sum((Decimal(i.amount) for i in items), Decimal("0"))
    plan = DistributionPlan(village=village, year=year, total=total, created_by=actor, drafted_on=drafted_on,
                            other_source=other_source.strip())
    _plan_income_check(plan)
    _save(plan, actor, "拟定方案", exclude=["created_by"])
    for line in items:
        _save(DistributionItem(plan=plan, purpose=line.purpose, amount=line.amount, recipient=line.recipient,
                               asset=line.asset), actor, "拟定方案", exclude=["plan"])
    return plan


def _plan_lines_check(year: int, items: Sequence[PlanLine], drafted_on: datetime.date) -> None:
    first, this = settings.BOUNDS_EARLIEST_DATE.year, timezone.localdate().year
    _valid(missing={"items": "" if items else "请列出分配项目。",
                    "purpose": "" if all(i.purpose in PlanPurpose.values for i in items) else "分配用途无效。",
                    "year": "" if first <= year <= this else f"收益年度须在 {first} 年至今年（{this} 年）之间。",
                    "drafted_on": "" if drafted_on >= datetime.date(min(max(year, 1), 9999), 1, 1)
                    else f"拟定日期不能早于收益年度（{year} 年）开始。"},
           dates=[("drafted_on", drafted_on, 0)],
           amounts=[("items", line.amount, False) for line in items])


@transaction.atomic
def plan_redraft(*, actor, plan: DistributionPlan, items: Sequence[PlanLine], other_source: str = "") -> DistributionPlan:
    """A plan sent back is drafted again: its items are replaced (the earlier ones stay on record, withdrawn), and it
    goes to the village meeting again."""
    plan = DistributionPlan.objects.select_for_update().get(pk=plan.pk)
    _enforce(may_plan_redraft(actor, plan))
    today = timezone.localdate()
    _plan_lines_check(plan.year, items, today)
    plan.total = sum((Decimal(i.amount) for i in items), Decimal("0"))
    plan.other_source, plan.drafted_on, plan.meeting_on, plan.attendance = other_source.strip(), today, None, None
    _plan_income_check(plan)
    for item in DistributionItem.objects.filter(plan=plan):
        item.withdrawn = True
        _stamp(item, actor, "重新拟定方案").save()
    _save(plan, actor, "重新拟定方案", exclude=["created_by"])
    for line in items:
        _save(DistributionItem(plan=plan, purpose=line.purpose, amount=line.amount, recipient=line.recipient,
                               asset=line.asset), actor, "重新拟定方案", exclude=["plan"])
    return plan


def village_income(village: AdminArea, year: int) -> Decimal | None:
    """The income recorded for the village's assets in a year (None: none recorded)."""
    return IncomeRecord.objects.filter(asset__in=Asset.objects.in_area(village), year=year).aggregate(
        s=Sum("amount"))["s"]


def plan_income_warnings(plan: DistributionPlan) -> list[Warning]:
    """The plan against the village's recorded income of its year: above it, red unless another source is named;
    below it, yellow (income left undistributed)."""
    income = village_income(plan.village, plan.year) or Decimal("0")
    total = plan.total or Decimal("0")
    if total > income and not plan.other_source:
        return [Warning("red", "above_income", f"方案分配 {format_wan(total)} 万元，超过本村 {plan.year} 年度记录的收益 "
                                               f"{format_wan(income)} 万元：请核对收益到账记录，或写明其他资金来源。")]
    if total > income:
        return [Warning("yellow", "other_source", f"方案分配 {format_wan(total)} 万元，比本村 {plan.year} 年度记录的收益多 "
                                                  f"{format_wan(total - income)} 万元，来源：{plan.other_source}。")]
    if total < income:
        return [Warning("yellow", "below_income", f"方案只分配 {format_wan(total)} 万元，本村 {plan.year} 年度记录的收益为 "
                                                  f"{format_wan(income)} 万元（{format_wan(income - total)} 万元未列入方案）。")]
    return []


def _plan_income_check(plan: DistributionPlan) -> None:
    red = [w.message for w in plan_income_warnings(plan) if w.level == "red"]
    if red:
        raise ValidationError({"other_source": red})


def plan_warnings(plan: DistributionPlan) -> list[Warning]:
    """The plan against the year's income (plan_income_warnings); 一分了之: everything handed out as cash; and equity
    owners' shares that do not match the ownership shares. Red warnings stop the township's review."""
    warnings = plan_income_warnings(plan)
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
                                    f"{item.recipient} 应分 {format_wan(income * owner.share / 100)} 万元（占股 {owner.share}%），"
                                    f"方案为 {item.amount} 万元。", item.asset))
    return warnings


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


def _plan_step(plan: DistributionPlan, rule) -> DistributionPlan:
    plan = DistributionPlan.objects.select_for_update().select_related("village").get(pk=plan.pk)
    _enforce(rule(plan))
    return plan


def _drafted_on(plan: DistributionPlan) -> datetime.date:
    if plan.drafted_on:
        return plan.drafted_on
    first = plan.history.order_by("history_date").first()
    return timezone.localdate(first.history_date) if first else timezone.localdate()


@transaction.atomic
def plan_decide(*, actor, plan: DistributionPlan, meeting_on: datetime.date, attendance: int,
                minutes: Upload | None) -> DistributionPlan:
    """The village meeting decided it (民主决策): date, attendance and the minutes; the plan still within the
    year's income."""
    plan = _plan_step(plan, lambda p: may_plan_decide(actor, p))
    drafted = _drafted_on(plan)
    _valid(missing={"minutes": "" if minutes else "请上传村民会议记录。",
                    "attendance": "" if attendance and attendance > 0 else "请填写参会人数。",
                    "meeting_on": f"村民会议不能早于方案拟定（{drafted}）。" if meeting_on and meeting_on < drafted
                    else ""},
           dates=[("meeting_on", meeting_on, 0)])
    _plan_income_check(plan)
    plan.status, plan.meeting_on, plan.attendance = PlanStatus.DECIDED, meeting_on, attendance
    _stamp(plan, actor, "村民会议决议").save()
    attachment_add(actor=actor, record=plan, kind=Attachment.Kind.MINUTES, upload=minutes)
    return plan


@transaction.atomic
def plan_review(*, actor, plan: DistributionPlan) -> DistributionPlan:
    """The township reviews it (乡镇人民政府审核); a plan with a red warning (above the income, all cash, equity
    shares wrong) is sent back (plan_return)."""
    plan = _plan_step(plan, lambda p: may_plan_review(actor, p))
    red = [w.message for w in plan_warnings(plan) if w.level == "red"]
    if red:
        raise ValidationError({"items": red})
    plan.status = PlanStatus.REVIEWED
    _stamp(plan, actor, "乡镇审核").save()
    return plan


@transaction.atomic
def plan_return(*, actor, plan: DistributionPlan, reason: str) -> DistributionPlan:
    """The township (at review) or the department (at filing) sends the plan back to drafting, with its reason;
    the village redrafts it or takes it to the village meeting again."""
    plan = _plan_step(plan, lambda p: may_plan_return(actor, p))
    _valid(missing={"reason": "" if reason.strip() else "退回时请写明理由。"})
    who = "乡镇审核退回" if plan.status == PlanStatus.DECIDED else "行业部门备案退回"
    plan.status, plan.returned_reason = PlanStatus.DRAFTED, f"{who}：{reason.strip()}"
    _stamp(plan, actor, plan.returned_reason[:100]).save()
    return plan


@transaction.atomic
def plan_file(*, actor, plan: DistributionPlan, department: Department) -> DistributionPlan:
    """Filed with the responsible department (报行业部门备案): one the plan belongs to (plan_departments)."""
    plan = _plan_step(plan, lambda p: may_plan_file(actor, p))
    if not departments_filing_for(actor, plan).filter(pk=department.pk).exists():
        names = "、".join(d.name for d in plan_departments(plan)) or "无"
        raise ValidationError({"department": f"这份方案所涉资产的主管部门是：{names}；请向其中之一备案（部门只办理本部门的）。"})
    plan.status, plan.department = PlanStatus.FILED, department
    _stamp(plan, actor, "行业部门备案").save()
    return plan


@transaction.atomic
def plan_pay(*, actor, plan: DistributionPlan, paid_on: datetime.date) -> DistributionPlan:
    """Paid out: only after the plan's publicity period has run in real time (today after its last day, the payment
    dated after it), every objection answered."""
    plan = _plan_step(plan, lambda p: may_plan_pay(actor, p))
    notice = plan.notices.order_by("-ends_on", "-pk").first()
    _valid(missing={"paid_on": f"兑付日期须在公示期结束（{notice.ends_on}）之后。"
                    if paid_on and paid_on <= notice.ends_on else ""}, dates=[("paid_on", paid_on, 0)])
    plan.status, plan.paid_on = PlanStatus.PAID, paid_on
    _stamp(plan, actor, "兑付").save()
    return plan


# ---------------------------------------------------------------- disposal (处置)


@transaction.atomic
def disposal_request(*, actor, asset: Asset, reason: str, note: str = "") -> Disposal:
    asset = _live_asset(actor, asset, may_disposal_request)
    _missing({"reason": "" if reason in DisposalReason.values else "请选择处置原因（运行不良、无法使用、达到使用年限、合同到期）。"})
    disposal = Disposal.objects.filter(asset=asset).first()
    disposal = disposal or Disposal(asset=asset)
    disposal.status, disposal.reason, disposal.request_note, disposal.recorded_by = (
        DisposalStatus.REQUESTED, reason, note, actor)
    disposal.rejection = ""
    return _save(disposal, actor, "处置申请", exclude=["asset", "recorded_by"])


def _disposal_step(actor, disposal: Disposal, rule) -> Disposal:
    disposal = Disposal.objects.select_for_update().select_related("asset").get(pk=disposal.pk)
    _enforce(rule(actor, disposal.asset))
    return disposal


@transaction.atomic
def disposal_assess(*, actor, disposal: Disposal, value: Decimal, assessor: str, assessed_on: datetime.date,
                    report: Upload | None) -> Disposal:
    disposal = _disposal_step(actor, disposal, may_disposal_assess)
    requested = timezone.localdate(disposal.recorded_at) if disposal.recorded_at else None
    _valid(missing={"report": "" if report else "请上传评估报告。",
                    "assessor": "" if assessor.strip() else "请填写评估机构或评估人。",
                    "assessed_on": f"评估日期不能早于处置申请（{requested}）。"
                    if assessed_on and requested and assessed_on < requested else ""},
           dates=[("assessed_on", assessed_on, 0)], amounts=[("value", value, True)])
    disposal.status, disposal.assessed_value, disposal.assessor, disposal.assessed_on = (
        DisposalStatus.ASSESSED, value, assessor.strip(), assessed_on)
    _save(disposal, actor, "资产评估", exclude=["asset", "recorded_by"])
    attachment_add(actor=actor, record=disposal, kind=Attachment.Kind.ASSESSMENT, upload=report)
    return disposal


@transaction.atomic
def disposal_approve(*, actor, disposal: Disposal, authority: str, reference: str, approved_on: datetime.date,
                     document: Upload | None) -> Disposal:
    """履行报批手续: the county office records the approval with its document."""
    disposal = _disposal_step(actor, disposal, may_disposal_approve)
    _valid(missing={"document": "" if document else "请上传批复文件。",
                    "reference": "" if reference.strip() else "请填写批复文号。",
                    "authority": "" if authority.strip() else "请填写审批机关。",
                    "approved_on": f"批复日期不能早于评估日期（{disposal.assessed_on}）。"
                    if approved_on and disposal.assessed_on and approved_on < disposal.assessed_on else ""},
           dates=[("approved_on", approved_on, 0)])
    disposal.status, disposal.approval_authority, disposal.approval_reference, disposal.approved_on = (
        DisposalStatus.APPROVED, authority.strip(), reference.strip(), approved_on)
    _save(disposal, actor, f"处置审批：{reference}", exclude=["asset", "recorded_by"])
    attachment_add(actor=actor, record=disposal, kind=Attachment.Kind.APPROVAL, upload=document)
    return disposal


@transaction.atomic
def disposal_reject(*, actor, disposal: Disposal, reason: str) -> Disposal:
    disposal = _disposal_step(actor, disposal, may_disposal_reject)
    if not reason.strip():
        raise ValidationError({"rejection": "驳回时请写明理由。"})
    disposal.status, disposal.rejection = DisposalStatus.REJECTED, reason.strip()
    return _save(disposal, actor, "处置驳回", exclude=["asset", "recorded_by"])


@transaction.atomic
def disposal_execute(*, actor, disposal: Disposal, method: str, executed_on: datetime.date,
                     proceeds: Decimal = Decimal("0"), new_project: str = "") -> Disposal:
    """Carried out (拍卖、转让、报废、回收、续签); only now does the asset become 已处置. Proceeds fund a new project."""
    disposal = _disposal_step(actor, disposal, may_disposal_execute)
    _valid(missing={"method": "" if method in DisposalMethod.values else "请选择处置方式。",
                    "new_project": "处置收入须统筹用于新的扶贫项目：请填写项目。" if proceeds and not new_project.strip()
                    else "",
                    "executed_on": "执行日期不能早于批复日期。" if executed_on and disposal.approved_on
                    and executed_on < disposal.approved_on else ""},
           dates=[("executed_on", executed_on, 0)], amounts=[("proceeds", proceeds, True)])
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
    """Exactly what is posted, frozen: public fields only, through the personal-data rule (privacy.public_snapshot:
    names of individuals masked, no ID or phone numbers, whatever the stage or the purpose)."""
    from geo_assets.access import PUBLIC_SCOPE
    from geo_assets.privacy import public_snapshot

    public = Redactor(PUBLIC_SCOPE)
    if stage == PublicityStage.INCOME_PLAN:
        return public_snapshot({"village": area.name, "year": plan.year, "total": str(plan.total), "items": [
            {"purpose": str(PlanPurpose(i.purpose).label), "amount": str(i.amount),
             # households without labour capacity are named persons; other recipients are groups, bodies or persons
             "recipient": public.person(i.recipient) if i.purpose == PlanPurpose.NO_LABOUR else i.recipient}
            for i in plan.items.all()]})
    if stage == PublicityStage.DISPOSAL:
        return public_snapshot({"asset": disposal.asset.code, "name": public.asset_name(disposal.asset),
                "reason": str(DisposalReason(disposal.reason).label) if disposal.reason else "",
                "assessed_value": str(disposal.assessed_value), "approval": disposal.approval_reference,
                "method": str(DisposalMethod(disposal.method).label) if disposal.method else "",
                "proceeds": str(disposal.proceeds), "new_project": disposal.new_project})
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
    return public_snapshot({"area": area.name, "assets": rows})


def notice_post(*, actor, stage: str, scope: str, area: AdminArea, starts_on: datetime.date, ends_on: datetime.date,
                title: str = "", plan: DistributionPlan | None = None, disposal: Disposal | None = None,
                reposts: PublicityNotice | None = None) -> PublicityNotice:
    """Post a list for a period of at least PUBLICITY_MIN_DAYS, freezing what is posted. The period starts no
    earlier than the day it is posted (county time): a paper notice already posted is entered with
    notice_record_paper."""
    return _notice_create(actor=actor, stage=stage, scope=scope, area=area, starts_on=starts_on, ends_on=ends_on,
                          title=title, plan=plan, disposal=disposal, reposts=reposts)


@transaction.atomic
def notice_record_paper(*, actor, stage: str, scope: str, area: AdminArea, starts_on: datetime.date,
                        ends_on: datetime.date, photo: Upload | None, reason: str, title: str = "",
                        plan: DistributionPlan | None = None, disposal: Disposal | None = None,
                        reposts: PublicityNotice | None = None) -> PublicityNotice:
    """A paper notice already posted on the board, entered afterwards (its period may lie in the past): a separate,
    audited step with the photo (or scan) of the posted paper and why it is entered late; marked as such."""
    kind = attachment_kind_of(photo[1]) if photo else None
    _valid(missing={"photo": "" if kind in ("jpeg", "png", "heic", "pdf")
                    else "请上传张贴的纸质公示的照片或扫描件（JPEG、PNG、HEIC 或 PDF）。",
                    "reason": "" if reason.strip() else "请写明补录的原因（何时在何处张贴，为何未在张贴当天登记）。"})
    notice = _notice_create(actor=actor, stage=stage, scope=scope, area=area, starts_on=starts_on, ends_on=ends_on,
                            title=title, plan=plan, disposal=disposal, reposts=reposts, paper_reason=reason.strip())
    attachment_add(actor=actor, record=notice, kind=Attachment.Kind.NOTICE_PHOTO, upload=photo)
    return notice


@transaction.atomic
def _notice_create(*, actor, stage, scope, area, starts_on, ends_on, title, plan, disposal, reposts,
                   paper_reason: str = "") -> PublicityNotice:
    _require_area(actor, area, "公示")
    minimum, today = settings.PUBLICITY_MIN_DAYS, timezone.localdate()
    days = (ends_on - starts_on).days + 1 if starts_on and ends_on else None
    if paper_reason:  # already posted: the period began on or before today
        dates = [("starts_on", starts_on, 0), ("ends_on", ends_on, NOTICE_MAX_DAYS)]
        early = ""
    else:
        dates = [("starts_on", starts_on, NOTICE_LEAD_DAYS), ("ends_on", ends_on, NOTICE_LEAD_DAYS + NOTICE_MAX_DAYS)]
        early = (f"公示期不能早于发布当天（{today}）开始；已经张贴的纸质公示请用“补录纸质公示”，附张贴照片并写明原因。"
                 if starts_on and starts_on < today else "")
    _valid(missing={
        "stage": "" if stage in PublicityStage.values else "公示环节无效。",
        "scope": "" if scope in PublicityScope.values else "公示范围无效。",
        "starts_on": early,
        "ends_on": "" if days is None or minimum <= days <= NOTICE_MAX_DAYS
        else f"公示期不少于 {minimum} 天，不超过 {NOTICE_MAX_DAYS} 天。",
        "plan": "" if stage != PublicityStage.INCOME_PLAN or plan is not None else "请指定收益分配方案。",
        "disposal": "" if stage != PublicityStage.DISPOSAL or disposal is not None else "请指定处置事项。",
    }, dates=dates)
    if plan is not None and reposts is None:
        plan = _plan_step(plan, lambda p: may_plan_publicise(actor, p))
    if plan is not None and plan.meeting_on and starts_on < plan.meeting_on:
        raise ValidationError({"starts_on": f"方案的公示不能早于村民会议（{plan.meeting_on}）。"})
    if disposal is not None:
        disposal = Disposal.objects.select_related("asset").get(pk=disposal.pk)
    if disposal is not None and disposal.status != DisposalStatus.EXECUTED:
        raise ValidationError({"disposal": "处置执行后公开处置结果。"})
    if disposal is not None and disposal.executed_on and starts_on < disposal.executed_on:
        raise ValidationError({"starts_on": f"处置结果的公示不能早于处置执行（{disposal.executed_on}）。"})
    if reposts is not None and reposts.objections.filter(answered_at__isnull=True).exists():
        raise ValidationError({"objections": "上一次公示的异议尚未全部核实答复，不能再次公示。"})
    title = title or f"{area.name}{PublicityStage(stage).label}公示"
    notice = _save(PublicityNotice(stage=stage, scope=scope, area=area, title=title, starts_on=starts_on,
                                   ends_on=ends_on, snapshot=_snapshot(stage, area, plan=plan, disposal=disposal),
                                   plan=plan, disposal=disposal, reposts=reposts, posted_by=actor,
                                   posted_at=timezone.now(), from_paper=bool(paper_reason), paper_reason=paper_reason),
                   actor, f"补录纸质公示：{paper_reason}"[:100] if paper_reason else "公示", exclude=["posted_by"])
    if plan is not None and plan.status == PlanStatus.FILED:
        plan.status = PlanStatus.PUBLICISED
        _stamp(plan, actor, "公示").save()
    return notice


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


def objection_record(*, actor, notice: PublicityNotice, raised_by: str, text: str, raised_on: datetime.date,
                     contact: str = "") -> Objection:
    _require_area(actor, notice.area, "异议登记")
    _valid(missing={"text": "" if text.strip() else "请写明异议内容。",
                    "raised_on": "" if raised_on and notice.starts_on <= raised_on <= notice.ends_on
                    else "异议须在公示期内提出。"},
           dates=[("raised_on", raised_on, 0)])
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
    unverified = assets.unverified(since=timezone.make_aware(datetime.datetime.combine(start, datetime.time())))
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
    if scope.role == Role.DEPARTMENT or scope.is_county_admin:  # a department: only the plans that belong to it
        todo["plans_to_file"] = [p for p in plans.filter(status=PlanStatus.REVIEWED) if may_plan_file(user, p) is None]
    open_objections = Objection.objects.filter(answered_at__isnull=True).select_related("notice", "notice__area")
    todo["objections_to_answer"] = [o for o in open_objections if covers_area(user, o.notice.area)]
    todo["contracts"] = contract_warnings(assets=editable)
    return {k: v for k, v in todo.items() if v}
