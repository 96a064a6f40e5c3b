"""On-site verification of the register: campaigns, verifications with their GPS fix and photos. Rules: services.py."""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_assets.models import SRID, AdminArea, Asset, CountyBound, NoDeleteModel
from geo_assets.taxonomy import AssetType
from verification.taxonomy import CampaignKind, Finding, Flag, Review


class Campaign(NoDeleteModel):
    """An annual inventory of a whole scope, or a spot check of a reproducible stratified sample."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CampaignKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    area = models.ForeignKey(AdminArea, verbose_name=_("area"), on_delete=models.PROTECT, null=True, blank=True,
                             help_text=_("Empty: the whole county."))
    # The county whose assets the campaign draws (verification.services.campaign_create), by its code.
    county = models.ForeignKey(AdminArea, verbose_name=_("county"), on_delete=models.PROTECT, null=True, blank=True,
                               related_name="county_campaigns", to_field="code", db_column="county_code",
                               editable=False)
    asset_types = ArrayField(models.CharField(max_length=20, choices=AssetType.choices), default=list, blank=True,
                             verbose_name=_("asset types (empty: all)"))
    sample_share = models.DecimalField(_("share sampled per township (%)"), max_digits=5, decimal_places=2,
                                       default=100, validators=[MinValueValidator(0), MaxValueValidator(100)])
    top_value_count = models.PositiveSmallIntegerField(_("highest-value assets always included per township"),
                                                       default=0)
    seed = models.PositiveIntegerField(_("random seed"), default=0)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    is_open = models.BooleanField(_("open"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("verification campaign")
        verbose_name_plural = _("verification campaigns")
        ordering = ["-year", "-created_at"]

    def __str__(self):
        return self.name


class CampaignItem(NoDeleteModel):
    """One asset to verify in a campaign, and who is assigned to it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="campaign_items")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="verification_tasks", verbose_name=_("assigned to"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("campaign asset")
        verbose_name_plural = _("campaign assets")
        constraints = [models.UniqueConstraint(fields=["campaign", "asset"], name="campaignitem_unique_asset")]


class Verification(CountyBound, NoDeleteModel):
    client_id = models.UUIDField(_("client id"), unique=True, default=uuid.uuid4,
                                 help_text=_("Generated on the phone: sending twice records once."))
    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="verifications")
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="verifications")
    verifier = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("verifier"), on_delete=models.PROTECT,
                                 related_name="verifications")
    finding = models.CharField(_("finding"), max_length=20, choices=Finding.choices)
    position = models.PointField(_("GPS position"), srid=SRID, spatial_index=False)
    accuracy_m = models.FloatField(_("GPS accuracy (m)"), validators=[MinValueValidator(0)])
    observed_at = models.DateTimeField(_("observed at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)
    distance_m = models.FloatField(_("distance to the asset (m)"), null=True)
    flags = ArrayField(models.CharField(max_length=20, choices=Flag.choices), default=list, blank=True,
                       verbose_name=_("flags"))
    review = models.CharField(_("review"), max_length=20, choices=Review.choices, default=Review.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        ordering = ["-observed_at"]
        indexes = [
            GistIndex(fields=["position"], name="verification_position_gist"),
            models.Index(fields=["asset", "-observed_at"], name="verification_asset_time"),
            models.Index(fields=["review"], name="verification_review"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(position__isvalid=True), name="verification_position_valid"),
            models.CheckConstraint(condition=Q(accuracy_m__gte=0), name="verification_accuracy_not_negative"),
        ]

    def __str__(self):
        return f"{self.asset.code} {self.get_finding_display()} {self.observed_at:%Y-%m-%d}"

    @property
    def counts(self) -> bool:
        """Does it confirm the asset for the register (last_verified_at)?"""
        return self.review in (Review.ACCEPTED, Review.APPROVED)


def photo_path(instance, filename: str) -> str:
    return f"verification/{instance.verification.asset.code}/{instance.verification.client_id}/{filename}"


class Photo(NoDeleteModel):
    """A photo kept as received (evidence, with its EXIF) plus a thumbnail and a public copy without EXIF."""

    verification = models.ForeignKey(Verification, on_delete=models.PROTECT, related_name="photos")
    original = models.FileField(_("original"), upload_to=photo_path)
    public = models.FileField(_("copy without EXIF"), upload_to=photo_path)
    thumbnail = models.FileField(_("thumbnail"), upload_to=photo_path)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    phash = models.CharField(_("perceptual hash"), max_length=16, db_index=True)
    exif_position = models.PointField(srid=SRID, null=True, blank=True, spatial_index=False)
    exif_taken_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("verification photo")
        verbose_name_plural = _("verification photos")
        ordering = ["created_at"]
        indexes = [GistIndex(F("exif_position"), name="photo_exif_position_gist",  # F: see geo_assets' Asset
                             condition=Q(exif_position__isnull=False))]
        constraints = [
            models.CheckConstraint(condition=Q(exif_position__isvalid=True), name="photo_exif_position_valid"),
        ]


class LabelSheet(models.Model):
    """A large sheet of QR labels made by the background worker (verification.labels): its assets (codes, in print
    order), progress and, once done, the PDF. Only the account that asked for it may fetch it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("being made")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    name = models.CharField(max_length=100)  # of the PDF file
    codes = ArrayField(models.CharField(max_length=40), default=list)
    base_url = models.CharField(max_length=300)  # what the QR codes point at: the site as the user reached it
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="labels/", blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("label sheet")
        verbose_name_plural = _("label sheets")
