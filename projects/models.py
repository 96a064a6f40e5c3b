"""项目库 (projects), 资金台账 (fund lines) and which assets each project formed. Records are never deleted."""

from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_assets.models import AdminArea, Asset, Department, NoDeleteModel
from geo_assets.taxonomy import AreaLevel, FundingSourceKind
from projects.querysets import ProjectQuerySet
from projects.taxonomy import LinkOrigin, ProjectKind, ProjectStatus

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 4, "validators": [MinValueValidator(0)]}
YEAR = [MinValueValidator(1990), MaxValueValidator(2100)]


class Project(NoDeleteModel):
    code = models.CharField(
        _("project code"), max_length=40, unique=True,
        help_text=_("The code of the national poverty-alleviation information system where there is one."),
    )
    name = models.CharField(_("project name"), max_length=200)
    year = models.PositiveSmallIntegerField(_("year"), validators=YEAR)
    kind = models.CharField(_("project kind"), max_length=20, choices=ProjectKind.choices)
    implementing_unit = models.CharField(_("implementing unit"), max_length=200, blank=True)
    department = models.ForeignKey(Department, verbose_name=_("lead department"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="projects")
    township = models.ForeignKey(AdminArea, verbose_name=_("township"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="township_projects",
                                 limit_choices_to={"level": AreaLevel.TOWNSHIP})
    # The county the project belongs to, by its code: the township's (filled by the database, migration 0002),
    # else the county of the body that entered it (projects.services.project_save, the importer).
    county = models.ForeignKey(AdminArea, verbose_name=_("county"), on_delete=models.PROTECT, null=True, blank=True,
                               related_name="county_projects", to_field="code", db_column="county_code",
                               editable=False)
    villages = models.ManyToManyField(AdminArea, verbose_name=_("villages served"), blank=True,
                                      related_name="village_projects", limit_choices_to={"level": AreaLevel.VILLAGE})
    township_seat = models.BooleanField(_("serves the township seat"), default=False)
    approval_document = models.CharField(_("approval document"), max_length=200, blank=True)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    acceptance_document = models.CharField(_("acceptance document"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ProjectStatus.choices,
                              default=ProjectStatus.UNDER_WAY)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], m2m_fields=[villages])
    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["-year", "code"]
        indexes = [models.Index(fields=["year", "department"], name="project_year_department"),
                   models.Index(fields=["township", "year"], name="project_township_year")]
        constraints = [
            models.CheckConstraint(condition=Q(completed_on__isnull=True) | Q(started_on__isnull=True)
                                   | Q(completed_on__gte=models.F("started_on")), name="project_completed_after_start",
                                   violation_error_message=_("A project cannot be completed before it started.")),
            models.CheckConstraint(condition=Q(accepted_on__isnull=True) | Q(completed_on__isnull=True)
                                   | Q(accepted_on__gte=models.F("completed_on")), name="project_accepted_after_completion",
                                   violation_error_message=_("A project cannot be accepted before it was completed.")),
        ]

    def __str__(self):
        return gettext("%(code)s %(name)s") % {"code": self.code, "name": self.name}


class FundLine(NoDeleteModel):
    """One allocation to a project: source and level, document (文号), year, allocated and disbursed."""

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="funds")
    source = models.CharField(_("funding source"), max_length=20, choices=FundingSourceKind.choices)
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    year = models.PositiveSmallIntegerField(_("year allocated"), validators=YEAR)
    allocated = models.DecimalField(_("allocated (10k yuan)"), **MONEY)
    disbursed = models.DecimalField(_("disbursed (10k yuan)"), default=Decimal("0"), **MONEY)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("fund line")
        verbose_name_plural = _("fund lines")
        ordering = ["project", "year", "source", "document_number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "source", "document_number"], condition=~Q(document_number=""),
                                    name="fundline_one_per_document",
                                    violation_error_message=_("This project already has a line of this source "
                                                              "under this document number.")),
            models.UniqueConstraint(fields=["project", "source", "year"], condition=Q(document_number=""),
                                    name="fundline_one_undocumented_per_year",
                                    violation_error_message=_("This project already has a line of this source "
                                                              "without a document number for this year.")),
            models.CheckConstraint(condition=Q(allocated__gte=0) & Q(disbursed__gte=0), name="fundline_not_negative"),
            models.CheckConstraint(condition=Q(disbursed__lte=models.F("allocated")),
                                   name="fundline_disbursed_within_allocation",
                                   violation_error_message=_("More cannot be disbursed than was allocated.")),
        ]

    def __str__(self):
        return f"{self.get_source_display()} {self.document_number} {self.allocated}"

    def validate_constraints(self, exclude=None):
        super().validate_constraints(exclude=set(exclude or ()) | {"allocated", "disbursed"})
        if self.disbursed is not None and self.allocated is not None and self.disbursed > self.allocated:
            from django.core.exceptions import ValidationError

            raise ValidationError({"disbursed": _("More cannot be disbursed than was allocated.")})


class ProjectAsset(NoDeleteModel):
    """An asset formed by a project; `amount` is what the project contributed when stated (else apportioned)."""

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="links")
    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="project_links")
    amount = models.DecimalField(_("amount contributed (10k yuan)"), null=True, blank=True, **MONEY)
    origin = models.CharField(_("linked from"), max_length=20, choices=LinkOrigin.choices, default=LinkOrigin.MANUAL)
    linked_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("asset formed by a project")
        verbose_name_plural = _("assets formed by projects")
        constraints = [
            models.UniqueConstraint(fields=["project", "asset"], name="projectasset_unique",
                                    violation_error_message=_("The asset is already linked to this project.")),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0),
                                   name="projectasset_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["asset"], name="projectasset_asset")]

    def __str__(self):
        return f"{self.project.code} → {self.asset.code}"


class LedgerPolicy(NoDeleteModel):
    """The county's reconciliation settings (one row): above the tolerance a project counts as partly formed."""

    tolerance_percent = models.DecimalField(
        _("tolerance (percent of the disbursement)"), max_digits=5, decimal_places=2, default=Decimal("5"),
        validators=[MinValueValidator(0), MaxValueValidator(100)])
    tolerance_amount = models.DecimalField(
        _("tolerance (10k yuan)"), max_digits=10, decimal_places=4, default=Decimal("0.5"),
        validators=[MinValueValidator(0)])
    first_year = models.PositiveSmallIntegerField(
        _("funds in scope from the year"), default=2024, validators=YEAR,
        help_text=_("Earlier projects are traced where possible (追溯)."))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reconciliation settings")
        verbose_name_plural = _("reconciliation settings")

    def __str__(self):
        return gettext("Reconciliation settings")
