"""An asset's life after registration (work plan 二(四)–(八)): ownership confirmation, handover letter, custody,
operation contracts, income and its distribution plan, publicity with objections, and attachments.
Imported by geo_assets.models (the package's __init__); rules and pages in the lifecycle app (lifecycle/)."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.gis.db import models
from django.core.validators import MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_assets.models.register import CountyBound, NoDeleteModel, RegisterQuerySet
from geo_assets.taxonomy import (
    MaintenanceKind,
    PlanPurpose,
    PlanStatus,
    PublicityScope,
    PublicityStage,
    RegistrationStep,
)

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 4, "validators": [MinValueValidator(0)]}


def attachment_path(instance, filename: str) -> str:
    return f"attachments/{instance.uploaded_at:%Y/%m}/{uuid.uuid4().hex}/{filename}"


class Attachment(NoDeleteModel):
    """A document behind a step (minutes, approval, signed letter, notice photo), type- and size-checked on upload.
    Served to staff who see the record; to the public only once `is_public` (posted with a notice)."""

    class Kind(models.TextChoices):
        MINUTES = "minutes", _("meeting minutes")
        APPROVAL = "approval", _("approval document")
        ASSESSMENT = "assessment", _("assessment report")
        HANDOVER = "handover", _("signed handover letter")
        CONTRACT = "contract", _("contract")
        NOTICE_PHOTO = "notice_photo", _("photo of the posted notice")
        OTHER = "other", _("other")

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path)
    original_name = models.CharField(_("file name"), max_length=255)
    mime = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    is_public = models.BooleanField(_("published"), default=False)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["content_type", "object_id"], name="attachment_record")]

    def __str__(self):
        return self.original_name


class OwnershipRegistration(CountyBound, NoDeleteModel):
    """确权登记 as a step: proposed by the area, confirmed by the responsible department (equity and debt: its
    shares reviewed, 界定结果由县级主管行业部门审核并确定归属)."""

    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, related_name="registrations")
    step = models.CharField(_("step"), max_length=20, choices=RegistrationStep.choices,
                            default=RegistrationStep.SUBMITTED)
    shares_snapshot = models.JSONField(_("owners and shares as submitted"), default=list)
    submitted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("ownership registration")
        verbose_name_plural = _("ownership registrations")
        ordering = ["-submitted_at"]


class HandoverLetter(CountyBound, NoDeleteModel):
    """资产移交和管护责任书: who hands the asset over to whom, who answers for its custody; with the signed scan."""

    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, related_name="handover_letters")
    signed_on = models.DateField(_("signed on"))
    handed_over_by = models.CharField(_("handed over by"), max_length=200)
    received_by = models.CharField(_("received by"), max_length=200)
    custodian = models.CharField(_("responsible for custody"), max_length=200)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("handover and custody letter")
        verbose_name_plural = _("handover and custody letters")
        ordering = ["-signed_on"]


class MaintenanceEntry(CountyBound, NoDeleteModel):
    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, related_name="maintenance")
    done_on = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=MaintenanceKind.choices)
    cost = models.DecimalField(_("cost (10k yuan)"), default=Decimal("0"), **MONEY)
    done_by = models.CharField(_("done by"), max_length=200)
    description = models.TextField(_("what was done"))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("maintenance entry")
        verbose_name_plural = _("maintenance log")
        ordering = ["-done_on"]


class CustodianChange(CountyBound, NoDeleteModel):
    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, related_name="custodian_changes")
    effective_on = models.DateField(_("effective on"))
    previous_unit = models.CharField(_("previous custodian unit"), max_length=200, blank=True)
    previous_person = models.CharField(_("previous responsible person"), max_length=50, blank=True)
    unit = models.CharField(_("custodian unit"), max_length=200)
    person = models.CharField(_("responsible person"), max_length=50, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("custodian change")
        verbose_name_plural = _("custodian changes")
        ordering = ["-effective_on"]


class PublicWelfarePost(CountyBound, NoDeleteModel):
    """公益岗位: a custody job held by a worker from a poor household (优先吸纳贫困家庭劳动力)."""

    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, related_name="welfare_posts")
    holder = models.CharField(_("post holder"), max_length=50)
    from_poor_household = models.BooleanField(_("from a poor household"), default=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    monthly_pay = models.DecimalField(_("monthly pay (yuan)"), max_digits=10, decimal_places=2,
                                      validators=[MinValueValidator(0)])
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("public-welfare post")
        verbose_name_plural = _("public-welfare posts")
        ordering = ["-starts_on"]


class OperationContract(CountyBound, NoDeleteModel):
    """经营协议: the operator of an operating asset and what it owes (work plan 二(六))."""

    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, related_name="contracts")
    operator = models.CharField(_("operator"), max_length=200)
    number = models.CharField(_("contract number"), max_length=100)
    starts_on = models.DateField(_("start"))
    ends_on = models.DateField(_("end"))
    yearly_due = models.DecimalField(_("rent or income due per year (10k yuan)"), **MONEY)
    mechanism = models.TextField(_("poverty-reduction mechanism"))
    risk_clauses = models.TextField(_("risk clauses"), blank=True)
    renews = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewed_by",
                                  verbose_name=_("renews contract"))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("operation contract")
        verbose_name_plural = _("operation contracts")
        ordering = ["-starts_on"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gt=models.F("starts_on")),
                                              name="contract_ends_after_start")]


class IncomeRecord(CountyBound, NoDeleteModel):
    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, related_name="income")
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("income (10k yuan)"), **MONEY)
    received_on = models.DateField(_("received on"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("income record")
        verbose_name_plural = _("income records")
        ordering = ["-year", "-received_on"]


class DistributionPlan(CountyBound, NoDeleteModel):
    """收益分配方案 of a village for a year, through its steps: drafted → decided by the village meeting →
    reviewed by the township → filed with the department → publicised → paid (work plan 二(七))."""

    village = models.ForeignKey("geo_assets.AdminArea", on_delete=models.PROTECT, related_name="distribution_plans")
    year = models.PositiveSmallIntegerField(_("income year"))
    status = models.CharField(_("step"), max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFTED)
    total = models.DecimalField(_("income to distribute (10k yuan)"), **MONEY)
    meeting_on = models.DateField(_("village meeting"), null=True, blank=True)
    attendance = models.PositiveIntegerField(_("attendance"), null=True, blank=True)
    department = models.ForeignKey("geo_assets.Department", on_delete=models.PROTECT, null=True, blank=True,
                                   verbose_name=_("filed with"))
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    drafted_on = models.DateField(_("drafted on"), null=True, blank=True)
    other_source = models.CharField(_("other source of the amount beyond the recorded income"), max_length=200,
                                    blank=True)
    returned_reason = models.TextField(_("reason it was sent back"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("income distribution plan")
        verbose_name_plural = _("income distribution plans")
        ordering = ["-year", "village__code"]
        constraints = [models.UniqueConstraint(fields=["village", "year"], name="plan_one_per_village_year")]

    def __str__(self):
        return f"{self.village.name} {self.year}"


class CurrentItems(models.Manager.from_queryset(RegisterQuerySet)):
    """A returned plan redrafted keeps its earlier items (nothing is deleted), withdrawn."""

    def get_queryset(self):
        return super().get_queryset().filter(withdrawn=False)


class DistributionItem(NoDeleteModel):
    plan = models.ForeignKey(DistributionPlan, on_delete=models.PROTECT, related_name="items")
    purpose = models.CharField(_("purpose"), max_length=20, choices=PlanPurpose.choices)
    amount = models.DecimalField(_("amount (10k yuan)"), **MONEY)
    recipient = models.CharField(_("recipient"), max_length=200, blank=True)
    asset = models.ForeignKey("geo_assets.Asset", on_delete=models.PROTECT, null=True, blank=True,
                              verbose_name=_("from asset"), related_name="+")
    withdrawn = models.BooleanField(_("replaced by a redraft"), default=False)
    history = HistoricalRecords()
    objects = CurrentItems()  # the plan's items (plan.items too); all_objects keeps the withdrawn ones
    all_objects = models.Manager()

    class Meta:
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")


class PublicityNotice(CountyBound, NoDeleteModel):
    """公示: what was posted (a frozen snapshot), where, from when to when; objections are answered before the list
    is re-posted (a new notice that `reposts` this one)."""

    stage = models.CharField(_("stage"), max_length=20, choices=PublicityStage.choices)
    scope = models.CharField(_("where"), max_length=20, choices=PublicityScope.choices)
    area = models.ForeignKey("geo_assets.AdminArea", on_delete=models.PROTECT, related_name="notices")
    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    snapshot = models.JSONField(_("what was posted"))
    plan = models.ForeignKey(DistributionPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="notices")
    disposal = models.ForeignKey("geo_assets.Disposal", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="notices")
    reposts = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="reposted_by", verbose_name=_("re-posts"))
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    posted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField(_("posted at"))
    from_paper = models.BooleanField(_("recorded afterwards from a paper notice"), default=False)
    paper_reason = models.TextField(_("why it was recorded afterwards"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("publicity notice")
        verbose_name_plural = _("publicity notices")
        ordering = ["-starts_on"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                              name="notice_ends_after_start")]

    def __str__(self):
        return self.title


class Objection(NoDeleteModel):
    notice = models.ForeignKey(PublicityNotice, on_delete=models.PROTECT, related_name="objections")
    raised_by = models.CharField(_("raised by"), max_length=50)
    contact = models.CharField(_("contact"), max_length=50, blank=True)
    raised_on = models.DateField(_("raised on"))
    text = models.TextField(_("objection"))
    check_result = models.TextField(_("what the check found"), blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["raised_on"]
