"""Writes of an asset's life after registration (work plan 二(四)–(八), 三): ownership registration, handover
letters, custody, public-welfare posts, operation contracts, income, distribution plans, disposal, publicity and
objections, attachments. Keyword-only `<thing>_<action>` functions: each checks its step's rule (lifecycle.rules),
validates (full_clean) and writes in one transaction; refusals say what is missing, in the user's language.
What is stored stays in the register's language (Chinese): history change reasons, a notice's default title, a
returned plan's reason. Pages, demo and tests call these."""

import contextlib
import datetime
import functools
import hashlib
import io
import zipfile
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from geo_assets import services
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
    TYPES_REQUIRING_NAMED_SHARES,
    AreaLevel,
    AssetStatus,
    DisposalMethod,
    DisposalReason,
    DisposalStatus,
    MaintenanceKind,
    PlanPurpose,
    PlanStatus,
    PublicityScope,
    PublicityStage,
    RegistrationStatus,
    RegistrationStep,
)
from geo_assets.validation import amount_check, date_check
from lifecycle.rules import (
    departments_filing_for,
    enforce,
    may_contract,
    may_custodian_change,
    may_disposal_approve,
    may_disposal_assess,
    may_disposal_execute,
    may_disposal_reject,
    may_disposal_request,
    may_handover,
    may_income,
    may_maintenance,
    may_notice_post,
    may_objection,
    may_ownership_decide,
    may_ownership_submit,
    may_plan_decide,
    may_plan_draft,
    may_plan_file,
    may_plan_pay,
    may_plan_publicise,
    may_plan_redraft,
    may_plan_return,
    may_plan_review,
    may_welfare_post,
    objections_open,
    plan_departments,
)
from lifecycle.selectors import attachments_of, plan_income_warnings, plan_warnings

Upload = tuple[str, bytes]  # (file name, content)
CONTRACT_MAX_YEARS = 30  # the furthest a contract's term may reach from today
POST_MAX_YEARS = 10  # a public-welfare post's planned end
NOTICE_LEAD_DAYS = 30  # a notice may be announced this far ahead of its first day
NOTICE_MAX_DAYS = 90  # and run at most this long
YEAR = 366


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


def _live_asset(actor, asset: Asset, rule) -> Asset:
    """The asset's row, locked for the step, after the step's rule let it through."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    enforce(rule(actor, asset))
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
    stem = stem.strip(" .")[:100] or _("Attachment")
    return f"{stem}.{ATTACHMENT_EXTENSIONS[kind]}"


_files_written: ContextVar[list | None] = ContextVar("lifecycle_files_written", default=None)


def atomic_with_files(service):
    """transaction.atomic for a service that stores files (attachment_add): when it fails, its rows roll back and
    the files it wrote are removed, so that no file stays without its row (a second upload refused after the first
    was stored, a check after the files). The outermost such service removes them."""
    atomic = transaction.atomic(service)

    @functools.wraps(service)
    def run(*args, **kwargs):
        if _files_written.get() is not None:
            return atomic(*args, **kwargs)
        token = _files_written.set([])
        try:
            return atomic(*args, **kwargs)
        except BaseException:
            for storage, name in _files_written.get():
                with contextlib.suppress(OSError):
                    storage.delete(name)
                    folder = name.rpartition("/")[0]  # each upload's own folder (geo_assets.models: attachment_path)
                    if folder and storage.listdir(folder) == ([], []):
                        storage.delete(folder)
            raise
        finally:
            _files_written.reset(token)

    return run


@atomic_with_files
def attachment_add(*, actor, record, kind: str, upload: Upload) -> Attachment:
    name, data = upload
    limit = settings.ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise ValidationError({"attachment": _('The attachment "%(name)s" is too large (%(size).1f MB); the limit is '
                                               '%(limit).0f MB.') % {"name": name, "size": len(data) / 1024**2,
                                                                      "limit": limit / 1024**2}})
    if not data:
        raise ValidationError({"attachment": _('The attachment "%(name)s" is an empty file.') % {"name": name}})
    real = attachment_kind_of(data)
    if real == "macro" or name.lower().rstrip(" .").endswith(MACRO_SUFFIXES):
        raise ValidationError({"attachment": _('The attachment "%(name)s" carries macros or controls (a macro-enabled '
                                               'Office document) and is refused for safety: save it as a .docx / .xlsx '
                                               'without macros or as PDF and upload it again.') % {"name": name}})
    if real is None:
        raise ValidationError({"attachment": _('The type of the attachment "%(name)s" is not supported: only PDF, '
                                               'JPEG, PNG, HEIC, DOCX and XLSX are accepted.') % {"name": name}})
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk, kind=kind,
        original_name=attachment_name(name, real), mime=ATTACHMENT_TYPES[real], size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=actor, uploaded_at=timezone.now())
    attachment.file.save(f"{hashlib.sha256(data).hexdigest()[:16]}.{ATTACHMENT_EXTENSIONS[real]}",
                         ContentFile(data), save=False)
    _files_written.get().append((attachment.file.storage, attachment.file.name))
    attachment.full_clean(exclude=["content_type", "uploaded_by"])
    attachment.save()
    return attachment


# ---------------------------------------------------------------- ownership registration (确权登记)


def _shares_snapshot(asset: Asset) -> list[dict]:
    return [{"owner": o.owner_name, "kind": o.owner_kind, "share": str(o.share)}
            for o in asset.owners.filter(share__gt=0).order_by("-share", "owner_name")]


@transaction.atomic
def ownership_submit(*, actor, asset: Asset, owner_kind: str | None = None,
                     owners: Sequence[tuple[str, str, Decimal]] | None = None, source: str = "") -> OwnershipRegistration:
    """The area proposes the asset's owner(s) for confirmation. With `owner_kind` (and `owners`: (name, kind, share
    %) rows), the ownership is first written onto the asset (the register's rules: shares adding up to 100 %) —
    what the page submits when it started from the proposal of the project that formed the asset; `source` says
    where it came from (that proposal's reason) and is kept in the records' history."""
    asset = _live_asset(actor, asset, may_ownership_submit)
    if owner_kind is not None:
        shares = [services.Share(name, kind, Decimal(share)) for name, kind, share in (owners or ())]
        stated = sorted((s.owner_name, s.owner_kind, s.share) for s in shares)
        recorded = sorted((s["owner"], s["kind"], Decimal(s["share"])) for s in _shares_snapshot(asset))
        if owner_kind != asset.owner_kind or stated != recorded:
            services.asset_update(actor=actor, asset=asset, changes={"owner_kind": owner_kind}, owners=shares,
                                  reason=_("Ownership as submitted for registration: %(source)s")
                                  % {"source": source} if source else _("Ownership as submitted for registration"))
            asset = Asset.objects.get(pk=asset.pk)
    snapshot = _shares_snapshot(asset)
    if asset.asset_type in TYPES_REQUIRING_NAMED_SHARES:
        total = sum((Decimal(s["share"]) for s in snapshot), Decimal("0"))
        if not snapshot or total != 100:
            raise ValidationError({"owners": _("Equity and debt assets must list every owner and share, adding up "
                                                 "to 100%% (now %(total)s%%).") % {"total": total}})
    if not asset.owner_kind:
        raise ValidationError({"owner_kind": _("Fill in the ownership first.")})
    reason = (_("Ownership submitted (from %(source)s)") % {"source": source}) if source else _("Ownership submitted")
    return _save(OwnershipRegistration(asset=asset, shares_snapshot=snapshot, submitted_by=actor,
                                       submitted_at=timezone.now()), actor, reason,
                 exclude=["submitted_by", "shares_snapshot"])  # empty when the default owner applies


@transaction.atomic
def ownership_decide(*, actor, registration: OwnershipRegistration, confirm: bool, comment: str = "") -> Asset:
    """The responsible department confirms (or returns) the registration; confirmed, the asset is registered.
    The signed handover and custody letter must be on file first."""
    registration = OwnershipRegistration.objects.select_for_update().get(pk=registration.pk)
    asset = _live_asset(actor, registration.asset, may_ownership_decide)
    if registration.step != RegistrationStep.SUBMITTED:
        raise ValidationError({"registration": _("This ownership registration has already been decided.")})
    if confirm:
        if registration.shares_snapshot != _shares_snapshot(asset):
            raise ValidationError({"owners": _("The ownership shares changed after submission: return it to be submitted again.")})
        letter = asset.handover_letters.of(asset).first()
        if letter is None or not attachments_of(letter, Attachment.Kind.HANDOVER).exists():
            raise ValidationError({"handover": _("The signed handover and custody letter (its scan) is missing.")})
    elif not comment.strip():
        raise ValidationError({"comment": _("Give the reason when returning it.")})
    registration.step = RegistrationStep.CONFIRMED if confirm else RegistrationStep.RETURNED
    registration.decided_by, registration.decided_at, registration.comment = actor, timezone.now(), comment.strip()
    _stamp(registration, actor, _("Ownership confirmed") if confirm else _("Ownership returned")).save()
    if confirm:
        services.asset_update(actor=actor, asset=asset, changes={
            "registration_status": RegistrationStatus.REGISTERED, "registration_date": timezone.localdate()},
            reason=_("Ownership registration confirmed"))
    return Asset.objects.get(pk=asset.pk)


@atomic_with_files
def handover_record(*, actor, asset: Asset, signed_on: datetime.date, handed_over_by: str, received_by: str,
                    custodian: str, scan: Upload | None) -> HandoverLetter:
    asset = _live_asset(actor, asset, may_handover)
    _valid(missing={"scan": _("Upload the scan of the signed letter (PDF or photo).") if not scan else ""},
           dates=[("signed_on", signed_on, 0)])
    letter = _save(HandoverLetter(asset=asset, signed_on=signed_on, handed_over_by=handed_over_by,
                                  received_by=received_by, custodian=custodian, recorded_by=actor),
                   actor, _("Handover and custody letter"), exclude=["recorded_by"])
    attachment_add(actor=actor, record=letter, kind=Attachment.Kind.HANDOVER, upload=scan)
    return letter


# ---------------------------------------------------------------- custody (管护)


@atomic_with_files
def maintenance_record(*, actor, asset: Asset, done_on: datetime.date, kind: str, cost: Decimal, done_by: str,
                       description: str, photos: Sequence[Upload] = ()) -> MaintenanceEntry:
    asset = _live_asset(actor, asset, may_maintenance)
    _valid(missing={"kind": "" if kind in MaintenanceKind.values else _("Choose the kind of custody work (routine, repair or renewal).")},
           dates=[("done_on", done_on, 0)], amounts=[("cost", cost, True)])
    entry = _save(MaintenanceEntry(asset=asset, done_on=done_on, kind=kind, cost=cost, done_by=done_by,
                                   description=description, recorded_by=actor), actor, _("Maintenance record"),
                  exclude=["recorded_by"])
    for photo in photos:
        attachment_add(actor=actor, record=entry, kind=Attachment.Kind.OTHER, upload=photo)
    return entry


@transaction.atomic
def custodian_change(*, actor, asset: Asset, effective_on: datetime.date, unit: str, person: str = "",
                     phone: str = "") -> CustodianChange:
    asset = _live_asset(actor, asset, may_custodian_change)
    _valid(missing={"unit": "" if unit.strip() else _("Fill in the new custodian unit.")}, dates=[("effective_on", effective_on, 0)])
    change = _save(CustodianChange(asset=asset, effective_on=effective_on, previous_unit=asset.custodian_unit,
                                   previous_person=asset.custodian_person, unit=unit.strip(), person=person.strip(),
                                   recorded_by=actor), actor, _("Custodian changed"), exclude=["recorded_by"])
    services.asset_update(actor=actor, asset=asset, reason=_("Custodian changed"), changes={
        "custodian_unit": unit.strip(), "custodian_person": person.strip(), "custodian_phone": phone.strip()})
    return change


@transaction.atomic
def welfare_post_record(*, actor, asset: Asset, holder: str, from_poor_household: bool, starts_on: datetime.date,
                        monthly_pay: Decimal, ends_on: datetime.date | None = None) -> PublicWelfarePost:
    """monthly_pay is in yuan; the one amount bound (in 万元) caps it all the same."""
    asset = _live_asset(actor, asset, may_welfare_post)
    _valid(missing={"ends_on": _("The end date cannot be before the start date.") if ends_on and starts_on and ends_on < starts_on else ""},
           dates=[("starts_on", starts_on, YEAR), ("ends_on", ends_on, POST_MAX_YEARS * YEAR)],
           amounts=[("monthly_pay", monthly_pay, True)])
    return _save(PublicWelfarePost(asset=asset, holder=holder, from_poor_household=from_poor_household,
                                   starts_on=starts_on, ends_on=ends_on, monthly_pay=monthly_pay, recorded_by=actor),
                 actor, _("Public-welfare post"), exclude=["recorded_by"])


# ---------------------------------------------------------------- operation (运营)


@atomic_with_files
def contract_record(*, actor, asset: Asset, operator: str, number: str, starts_on: datetime.date,
                    ends_on: datetime.date, yearly_due: Decimal, mechanism: str, risk_clauses: str = "",
                    renews: OperationContract | None = None, scan: Upload | None = None) -> OperationContract:
    """An operating asset's contract with its operator (经营主体), or the renewal of its current one."""
    asset = _live_asset(actor, asset, may_contract)
    _valid(missing={
        "ends_on": "" if not (starts_on and ends_on) or ends_on > starts_on else _("The contract's end date must be after its start date."),
        "mechanism": "" if mechanism.strip() else _("Describe the poverty-reduction mechanism."),
        "renews": _("The renewed contract must be this asset's.") if renews is not None and renews.asset_id != asset.pk else "",
    }, dates=[("starts_on", starts_on, YEAR), ("ends_on", ends_on, CONTRACT_MAX_YEARS * YEAR)],
        amounts=[("yearly_due", yearly_due, True)])
    contract = _save(OperationContract(asset=asset, operator=operator, number=number, starts_on=starts_on,
                                       ends_on=ends_on, yearly_due=yearly_due, mechanism=mechanism.strip(),
                                       risk_clauses=risk_clauses, renews=renews, recorded_by=actor),
                     actor, _("Operation contract renewed") if renews else _("Operation contract"), exclude=["recorded_by"])
    if scan:
        attachment_add(actor=actor, record=contract, kind=Attachment.Kind.CONTRACT, upload=scan)
    if asset.operator != operator:
        services.asset_update(actor=actor, asset=asset, changes={"operator": operator}, reason=_("Operation contract"))
    return contract


@transaction.atomic
def income_record(*, actor, asset: Asset, year: int, amount: Decimal, received_on: datetime.date,
                  note: str = "") -> IncomeRecord:
    asset = _live_asset(actor, asset, may_income)
    first, this = settings.BOUNDS_EARLIEST_DATE.year, timezone.localdate().year
    _valid(missing={"year": "" if first <= year <= this else _(
        "The income year must lie between %(first)s and this year (%(this)s).") % {"first": first, "this": this}},
           dates=[("received_on", received_on, 0)], amounts=[("amount", amount, False)])
    return _save(IncomeRecord(asset=asset, year=year, amount=amount, received_on=received_on, note=note,
                              recorded_by=actor), actor, _("Income received"), exclude=["recorded_by"])


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
    enforce(may_plan_draft(actor, village))
    if village.level != AreaLevel.VILLAGE:
        raise ValidationError({"village": _("Income distribution plans are drawn up per village.")})
    if DistributionPlan.objects.filter(village=village, year=year).exists():
        raise ValidationError({"year": _("%(village)s already has an income distribution plan for %(year)s.")
                               % {"village": village.name, "year": year}})
    drafted_on = drafted_on or timezone.localdate()
    _plan_lines_check(year, items, drafted_on)
    total = sum((Decimal(i.amount) for i in items), Decimal("0"))
    plan = DistributionPlan(village=village, year=year, total=total, created_by=actor, drafted_on=drafted_on,
                            other_source=other_source.strip())
    _plan_income_check(plan)
    _save(plan, actor, _("Plan drafted"), exclude=["created_by"])
    for line in items:
        _save(DistributionItem(plan=plan, purpose=line.purpose, amount=line.amount, recipient=line.recipient,
                               asset=line.asset), actor, _("Plan drafted"), exclude=["plan"])
    return plan


def _plan_lines_check(year: int, items: Sequence[PlanLine], drafted_on: datetime.date) -> None:
    first, this = settings.BOUNDS_EARLIEST_DATE.year, timezone.localdate().year
    _valid(missing={"items": "" if items else _("List the items of the distribution."),
                    "purpose": "" if all(i.purpose in PlanPurpose.values for i in items) else _("Invalid purpose of distribution."),
                    "year": "" if first <= year <= this else _(
                        "The income year must lie between %(first)s and this year (%(this)s).")
                    % {"first": first, "this": this},
                    "drafted_on": "" if drafted_on >= datetime.date(min(max(year, 1), 9999), 1, 1)
                    else _("The drafting date cannot be before the income year (%(year)s) begins.") % {"year": year}},
           dates=[("drafted_on", drafted_on, 0)],
           amounts=[("items", line.amount, False) for line in items])


@transaction.atomic
def plan_redraft(*, actor, plan: DistributionPlan, items: Sequence[PlanLine], other_source: str = "") -> DistributionPlan:
    """A plan sent back is drafted again: its items are replaced (the earlier ones stay on record, withdrawn), and it
    goes to the village meeting again."""
    plan = DistributionPlan.objects.select_for_update().get(pk=plan.pk)
    enforce(may_plan_redraft(actor, plan))
    today = timezone.localdate()
    _plan_lines_check(plan.year, items, today)
    plan.total = sum((Decimal(i.amount) for i in items), Decimal("0"))
    plan.other_source, plan.drafted_on, plan.meeting_on, plan.attendance = other_source.strip(), today, None, None
    _plan_income_check(plan)
    for item in DistributionItem.objects.filter(plan=plan):
        item.withdrawn = True
        _stamp(item, actor, _("Plan redrafted")).save()
    _save(plan, actor, _("Plan redrafted"), exclude=["created_by"])
    for line in items:
        _save(DistributionItem(plan=plan, purpose=line.purpose, amount=line.amount, recipient=line.recipient,
                               asset=line.asset), actor, _("Plan redrafted"), exclude=["plan"])
    return plan


def _plan_income_check(plan: DistributionPlan) -> None:
    red = [w.message for w in plan_income_warnings(plan) if w.level == "red"]
    if red:
        raise ValidationError({"other_source": red})


def _plan_step(plan: DistributionPlan, rule) -> DistributionPlan:
    plan = DistributionPlan.objects.select_for_update().select_related("village").get(pk=plan.pk)
    enforce(rule(plan))
    return plan


def _drafted_on(plan: DistributionPlan) -> datetime.date:
    if plan.drafted_on:
        return plan.drafted_on
    first = plan.history.order_by("history_date").first()
    return timezone.localdate(first.history_date) if first else timezone.localdate()


@atomic_with_files
def plan_decide(*, actor, plan: DistributionPlan, meeting_on: datetime.date, attendance: int,
                minutes: Upload | None) -> DistributionPlan:
    """The village meeting decided it (民主决策): date, attendance and the minutes; the plan still within the
    year's income."""
    plan = _plan_step(plan, lambda p: may_plan_decide(actor, p))
    drafted = _drafted_on(plan)
    _valid(missing={"minutes": "" if minutes else _("Upload the minutes of the village meeting."),
                    "attendance": "" if attendance and attendance > 0 else _("Fill in the attendance.")
                    if attendance is None else _("The attendance must be at least 1."),
                    "meeting_on": _("The village meeting cannot be before the plan was drafted (%(drafted)s).")
                    % {"drafted": drafted} if meeting_on and meeting_on < drafted
                    else ""},
           dates=[("meeting_on", meeting_on, 0)])
    _plan_income_check(plan)
    plan.status, plan.meeting_on, plan.attendance = PlanStatus.DECIDED, meeting_on, attendance
    _stamp(plan, actor, _("Village meeting decision")).save()
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
    _stamp(plan, actor, _("Township review")).save()
    return plan


@transaction.atomic
def plan_return(*, actor, plan: DistributionPlan, reason: str) -> DistributionPlan:
    """The township (at review) or the department (at filing) sends the plan back to drafting, with its reason;
    the village redrafts it or takes it to the village meeting again."""
    plan = _plan_step(plan, lambda p: may_plan_return(actor, p))
    _valid(missing={"reason": "" if reason.strip() else _("Give the reason when returning it.")})
    who = _("Returned by the township") if plan.status == PlanStatus.DECIDED else _("Returned by the department")
    plan.status, plan.returned_reason = PlanStatus.DRAFTED, _("%(who)s: %(reason)s") % {"who": who, "reason": reason.strip()}
    _stamp(plan, actor, plan.returned_reason[:100]).save()
    return plan


@transaction.atomic
def plan_file(*, actor, plan: DistributionPlan, department: Department) -> DistributionPlan:
    """Filed with the responsible department (报行业部门备案): one the plan belongs to (plan_departments)."""
    plan = _plan_step(plan, lambda p: may_plan_file(actor, p))
    if not departments_filing_for(actor, plan).filter(pk=department.pk).exists():
        names = _(", ").join(d.name for d in plan_departments(plan)) or _("none")
        raise ValidationError({"department": _("The departments of this plan's assets are: %(names)s; file it with "
                                               "one of them (a department files only its own).") % {"names": names}})
    plan.status, plan.department = PlanStatus.FILED, department
    _stamp(plan, actor, _("Filed with the department")).save()
    return plan


@transaction.atomic
def plan_pay(*, actor, plan: DistributionPlan, paid_on: datetime.date) -> DistributionPlan:
    """Paid out: only after the plan's publicity period has run in real time (today after its last day, the payment
    dated after it), every objection answered."""
    plan = _plan_step(plan, lambda p: may_plan_pay(actor, p))
    notice = plan.notices.order_by("-ends_on", "-pk").first()
    _valid(missing={"paid_on": _("The payment date must be after the publicity period ends (%(ends)s).")
                    % {"ends": notice.ends_on}
                    if paid_on and paid_on <= notice.ends_on else ""}, dates=[("paid_on", paid_on, 0)])
    plan.status, plan.paid_on = PlanStatus.PAID, paid_on
    _stamp(plan, actor, _("Paid out")).save()
    return plan


# ---------------------------------------------------------------- disposal (处置)


@transaction.atomic
def disposal_request(*, actor, asset: Asset, reason: str, note: str = "") -> Disposal:
    asset = _live_asset(actor, asset, may_disposal_request)
    _missing({"reason": "" if reason in DisposalReason.values else _("Choose the reason for disposal (running badly, unusable, end of service life, contract ended).")})
    disposal = Disposal.objects.filter(asset=asset).first()
    disposal = disposal or Disposal(asset=asset)
    disposal.status, disposal.reason, disposal.request_note, disposal.recorded_by = (
        DisposalStatus.REQUESTED, reason, note, actor)
    disposal.rejection = ""
    return _save(disposal, actor, _("Disposal applied for"), exclude=["asset", "recorded_by"])


def _disposal_step(actor, disposal: Disposal, rule) -> Disposal:
    disposal = Disposal.objects.select_for_update().select_related("asset").get(pk=disposal.pk)
    enforce(rule(actor, disposal.asset))
    return disposal


@atomic_with_files
def disposal_assess(*, actor, disposal: Disposal, value: Decimal, assessor: str, assessed_on: datetime.date,
                    report: Upload | None) -> Disposal:
    disposal = _disposal_step(actor, disposal, may_disposal_assess)
    requested = timezone.localdate(disposal.recorded_at) if disposal.recorded_at else None
    _valid(missing={"report": "" if report else _("Upload the assessment report."),
                    "assessor": "" if assessor.strip() else _("Fill in the assessing body or assessor."),
                    "assessed_on": _("The assessment date cannot be before the disposal request (%(requested)s).")
                    % {"requested": requested}
                    if assessed_on and requested and assessed_on < requested else ""},
           dates=[("assessed_on", assessed_on, 0)], amounts=[("value", value, True)])
    disposal.status, disposal.assessed_value, disposal.assessor, disposal.assessed_on = (
        DisposalStatus.ASSESSED, value, assessor.strip(), assessed_on)
    _save(disposal, actor, _("Asset valued"), exclude=["asset", "recorded_by"])
    attachment_add(actor=actor, record=disposal, kind=Attachment.Kind.ASSESSMENT, upload=report)
    return disposal


@atomic_with_files
def disposal_approve(*, actor, disposal: Disposal, authority: str, reference: str, approved_on: datetime.date,
                     document: Upload | None) -> Disposal:
    """履行报批手续: the county office records the approval with its document."""
    disposal = _disposal_step(actor, disposal, may_disposal_approve)
    _valid(missing={"document": "" if document else _("Upload the approval document."),
                    "reference": "" if reference.strip() else _("Fill in the approval's reference number."),
                    "authority": "" if authority.strip() else _("Fill in the approving authority."),
                    "approved_on": _("The approval date cannot be before the assessment date (%(assessed)s).")
                    % {"assessed": disposal.assessed_on}
                    if approved_on and disposal.assessed_on and approved_on < disposal.assessed_on else ""},
           dates=[("approved_on", approved_on, 0)])
    disposal.status, disposal.approval_authority, disposal.approval_reference, disposal.approved_on = (
        DisposalStatus.APPROVED, authority.strip(), reference.strip(), approved_on)
    _save(disposal, actor, _("Disposal approved: %(reference)s") % {"reference": reference}, exclude=["asset", "recorded_by"])
    attachment_add(actor=actor, record=disposal, kind=Attachment.Kind.APPROVAL, upload=document)
    return disposal


@transaction.atomic
def disposal_reject(*, actor, disposal: Disposal, reason: str) -> Disposal:
    disposal = _disposal_step(actor, disposal, may_disposal_reject)
    if not reason.strip():
        raise ValidationError({"rejection": _("Give the reason when rejecting it.")})
    disposal.status, disposal.rejection = DisposalStatus.REJECTED, reason.strip()
    return _save(disposal, actor, _("Disposal rejected"), exclude=["asset", "recorded_by"])


@transaction.atomic
def disposal_execute(*, actor, disposal: Disposal, method: str, executed_on: datetime.date,
                     proceeds: Decimal = Decimal("0"), new_project: str = "") -> Disposal:
    """Carried out (拍卖、转让、报废、回收、续签); only now does the asset become 已处置. Proceeds fund a new project."""
    disposal = _disposal_step(actor, disposal, may_disposal_execute)
    _valid(missing={"method": "" if method in DisposalMethod.values else _("Choose the method of disposal."),
                    "new_project": _("Disposal proceeds must fund a new poverty-alleviation project: fill in the project.") if proceeds and not new_project.strip()
                    else "",
                    "executed_on": _("The execution date cannot be before the approval date.") if executed_on and disposal.approved_on
                    and executed_on < disposal.approved_on else ""},
           dates=[("executed_on", executed_on, 0)], amounts=[("proceeds", proceeds, True)])
    disposal.status, disposal.method, disposal.executed_on, disposal.proceeds, disposal.new_project = (
        DisposalStatus.EXECUTED, method, executed_on, proceeds, new_project.strip())
    _save(disposal, actor, _("Disposal carried out"), exclude=["asset", "recorded_by"])
    if method == DisposalMethod.RENEWAL:
        return disposal  # a renewed contract keeps the asset in the register
    asset = disposal.asset
    asset.status = AssetStatus.DISPOSED
    _stamp(asset, actor, _("Disposed: %(reference)s") % {"reference": disposal.approval_reference})
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


@atomic_with_files
def notice_record_paper(*, actor, stage: str, scope: str, area: AdminArea, starts_on: datetime.date,
                        ends_on: datetime.date, photo: Upload | None, reason: str, title: str = "",
                        plan: DistributionPlan | None = None, disposal: Disposal | None = None,
                        reposts: PublicityNotice | None = None) -> PublicityNotice:
    """A paper notice already posted on the board, entered afterwards (its period may lie in the past): a separate,
    audited step with the photo (or scan) of the posted paper and why it is entered late; marked as such."""
    kind = attachment_kind_of(photo[1]) if photo else None
    _valid(missing={"photo": "" if kind in ("jpeg", "png", "heic", "pdf")
                    else _("Upload a photo or scan of the posted paper notice (JPEG, PNG, HEIC or PDF)."),
                    "reason": "" if reason.strip() else _("Give the reason for entering it late (when and where it was posted, why it was not entered that day).")})
    notice = _notice_create(actor=actor, stage=stage, scope=scope, area=area, starts_on=starts_on, ends_on=ends_on,
                            title=title, plan=plan, disposal=disposal, reposts=reposts, paper_reason=reason.strip())
    attachment_add(actor=actor, record=notice, kind=Attachment.Kind.NOTICE_PHOTO, upload=photo)
    return notice


@transaction.atomic
def _notice_create(*, actor, stage, scope, area, starts_on, ends_on, title, plan, disposal, reposts,
                   paper_reason: str = "") -> PublicityNotice:
    enforce(may_notice_post(actor, area))
    minimum, today = settings.PUBLICITY_MIN_DAYS, timezone.localdate()
    days = (ends_on - starts_on).days + 1 if starts_on and ends_on else None
    if paper_reason:  # already posted: the period began on or before today
        dates = [("starts_on", starts_on, 0), ("ends_on", ends_on, NOTICE_MAX_DAYS)]
        early = ""
    else:
        dates = [("starts_on", starts_on, NOTICE_LEAD_DAYS), ("ends_on", ends_on, NOTICE_LEAD_DAYS + NOTICE_MAX_DAYS)]
        early = (_('The publicity period cannot begin before the day it is posted (%(today)s); a paper notice already '
                   'posted is entered with "Enter a paper notice", with its photo and the reason.') % {"today": today}
                 if starts_on and starts_on < today else "")
    _valid(missing={
        "stage": "" if stage in PublicityStage.values else _("Invalid publicity stage."),
        "scope": "" if scope in PublicityScope.values else _("Invalid publicity scope."),
        "starts_on": early,
        "ends_on": "" if days is None or minimum <= days <= NOTICE_MAX_DAYS
        else _("The publicity period lasts at least %(min)s days and at most %(max)s days.")
        % {"min": minimum, "max": NOTICE_MAX_DAYS},
        "plan": "" if stage != PublicityStage.INCOME_PLAN or plan is not None else _("Name the income distribution plan."),
        "disposal": "" if stage != PublicityStage.DISPOSAL or disposal is not None else _("Name the disposal."),
    }, dates=dates)
    if plan is not None and reposts is None:
        plan = _plan_step(plan, lambda p: may_plan_publicise(actor, p))
    if plan is not None and plan.meeting_on and starts_on < plan.meeting_on:
        raise ValidationError({"starts_on": _("The plan's notice cannot begin before the village meeting "
                                              "(%(meeting)s).") % {"meeting": plan.meeting_on}})
    if disposal is not None:
        disposal = Disposal.objects.select_related("asset").get(pk=disposal.pk)
    if disposal is not None and disposal.status != DisposalStatus.EXECUTED:
        raise ValidationError({"disposal": _("A disposal's result is made public after it is executed.")})
    if disposal is not None and disposal.executed_on and starts_on < disposal.executed_on:
        raise ValidationError({"starts_on": _("The notice of a disposal's result cannot begin before its execution "
                                              "(%(executed)s).") % {"executed": disposal.executed_on}})
    if reposts is not None and reposts.objections.filter(answered_at__isnull=True).exists():
        raise ValidationError({"objections": objections_open()})
    title = title or _("%(area)s%(stage)s notice") % {"area": area.name, "stage": PublicityStage(stage).label}
    notice = _save(PublicityNotice(stage=stage, scope=scope, area=area, title=title, starts_on=starts_on,
                                   ends_on=ends_on, snapshot=_snapshot(stage, area, plan=plan, disposal=disposal),
                                   plan=plan, disposal=disposal, reposts=reposts, posted_by=actor,
                                   posted_at=timezone.now(), from_paper=bool(paper_reason), paper_reason=paper_reason),
                   actor, (_("Paper notice entered: %(reason)s") % {"reason": paper_reason})[:100] if paper_reason else _("Notice posted"), exclude=["posted_by"])
    if plan is not None and plan.status == PlanStatus.FILED:
        plan.status = PlanStatus.PUBLICISED
        _stamp(plan, actor, _("Notice posted")).save()
    return notice


def objection_record(*, actor, notice: PublicityNotice, raised_by: str, text: str, raised_on: datetime.date,
                     contact: str = "") -> Objection:
    enforce(may_objection(actor, notice))
    _valid(missing={"text": "" if text.strip() else _("Write what the objection is."),
                    "raised_on": "" if raised_on and notice.starts_on <= raised_on <= notice.ends_on
                    else _("An objection must be raised within the publicity period.")},
           dates=[("raised_on", raised_on, 0)])
    return _save(Objection(notice=notice, raised_by=raised_by, contact=contact, text=text.strip(), raised_on=raised_on,
                           recorded_by=actor), actor, _("Objection recorded"), exclude=["recorded_by"])


def objection_answer(*, actor, objection: Objection, check_result: str, answer: str) -> Objection:
    enforce(may_objection(actor, objection.notice))
    _missing({"check_result": "" if check_result.strip() else _("Write what the check found."),
              "answer": "" if answer.strip() else _("Write the answer.")})
    objection.check_result, objection.answer = check_result.strip(), answer.strip()
    objection.answered_by, objection.answered_at = actor, timezone.now()
    return _save(objection, actor, _("Objection answered"))
