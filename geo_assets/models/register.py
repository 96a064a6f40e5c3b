"""The register: administrative areas, assets and what belongs to them. Rules live in services.py."""

from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.db.models.functions import Transform
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models import F, Func, Q
from django.db.models.functions import Coalesce, Upper
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_assets.errors import DeletionForbidden
from geo_assets.querysets import AdminAreaQuerySet, AssetQuerySet, RegisterQuerySet
from geo_assets.taxonomy import (
    COUNTY_ROLES,
    OVERSIGHT_ROLES,
    TOP_LEVELS,
    AreaLevel,
    AssetStatus,
    AssetType,
    Category,
    CustodyMethod,
    DisposalMethod,
    DisposalReason,
    DisposalStatus,
    FundingSourceKind,
    OwnerKind,
    RegistrationStatus,
    Role,
    county_code_of,
)

SRID = settings.STORAGE_SRID
GEOMETRY_COLUMNS = ("point", "line", "polygon")
WEB_SRID = 3857


class NoDeleteModel(models.Model):
    objects = RegisterQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise DeletionForbidden(_("Records of the asset register cannot be deleted."))


class CountyBound(models.Model):
    """A record that belongs to one county, by the county's code (the natural key to partition or distribute the
    register by county: docs/scaling.md). Written by the database on every write, from the record's asset or area
    (migration 0016), whoever writes."""

    county = models.ForeignKey(
        "geo_assets.AdminArea", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+",
        to_field="code", db_column="county_code", null=True, blank=True, editable=False,
    )

    class Meta:
        abstract = True


class AdminArea(NoDeleteModel):
    code = models.CharField(
        _("statistical code"), max_length=12, unique=True,
        validators=[RegexValidator(r"^\d{12}$", _("The code must have exactly 12 digits."))],
    )
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=AreaLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent area"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    geom = models.MultiPolygonField(_("boundary"), srid=SRID, spatial_index=False)
    geom_web = models.GeneratedField(
        expression=Transform("geom", WEB_SRID), output_field=models.MultiPolygonField(srid=WEB_SRID, spatial_index=False), db_persist=True
    )
    history = HistoricalRecords(excluded_fields=["geom_web"])
    objects = AdminAreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("administrative area")
        verbose_name_plural = _("administrative areas")
        ordering = ["code"]
        indexes = [
            GistIndex(fields=["geom"], name="adminarea_geom_gist"),
            GistIndex(fields=["geom_web"], name="adminarea_geom_web_gist"),
            models.Index(fields=["level", "parent"], name="adminarea_level_parent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="adminarea_geom_valid"),
            models.CheckConstraint(
                condition=Q(level__in=TOP_LEVELS) | Q(parent__isnull=False), name="adminarea_parent_required"
            ),
        ]

    def __str__(self):
        return gettext("%(name)s (%(code)s)") % {"name": self.name, "code": self.code}


# The cell of the grid AreaPiece is keyed by, in the storage SRID's degrees (the SQL function geo_assets_piece_cell of
# migration 0020 says the same; changing it is a migration that rebuilds the pieces).
PIECE_CELL = 0.02
# Within this distance of a piece's boundary (its cuts' rounded vertices), a point is placed on the whole area
# (validation._LOCATE); a piece is keyed in every cell its box widened by it overlaps (migration 0020 says 1e-9 too).
PIECE_MARGIN = 1e-9
PIECE_LEVELS = (AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE)


class AreaPiece(models.Model):
    """A piece of an area (ST_Subdivide, ≤ 128 vertices), once per grid cell its widened box overlaps: where a point
    lies is one b-tree probe on its cell and ST_Covers on a few small polygons (validation.villages_covering), not a
    GiST probe and ST_Covers on a village's ~2,000 vertices. Written only by the database (migration 0020): triggers on
    geo_assets_adminarea rewrite an area's pieces whenever it is created or its boundary or level changes, whoever
    writes. Counties, townships and villages only (PIECE_LEVELS)."""

    area = models.ForeignKey(AdminArea, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                             related_name="+")
    level = models.CharField(max_length=10, choices=AreaLevel.choices)
    cell_x = models.IntegerField(help_text="floor(x / PIECE_CELL) of a cell the piece's box overlaps")
    cell_y = models.IntegerField(help_text="floor(y / PIECE_CELL) of a cell the piece's box overlaps")
    geom = models.PolygonField(srid=SRID, spatial_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["level", "cell_x", "cell_y"], name="areapiece_level_cell"),
            models.Index(fields=["area"], name="areapiece_area"),
            GistIndex(fields=["geom"], name="areapiece_geom_gist"),
        ]
        constraints = [models.CheckConstraint(condition=Q(geom__isvalid=True), name="areapiece_geom_valid")]

    def __str__(self):
        return f"{self.area_id}@{self.cell_x},{self.cell_y}"


class Department(NoDeleteModel):
    name = models.CharField(_("name"), max_length=100, unique=True)
    asset_types = ArrayField(
        models.CharField(max_length=20, choices=AssetType.choices), verbose_name=_("asset types managed"), default=list,
        blank=True,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("line department")
        verbose_name_plural = _("line departments")
        ordering = ["name"]

    def __str__(self):
        return self.name


# An asset's code is part of its pages' addresses, its QR label and file names: letters (Chinese ones too), digits,
# "-", "_" and "." only. The importers check a new code with this same validator.
asset_code_validator = RegexValidator(
    r"^[\w.-]+\Z", _("An asset code holds only letters, digits, Chinese characters, “-”, “_” and “.” (no spaces, "
                     "slashes or quotes)."))


def asset_url(code: str) -> str:
    """An asset's page (maps.urls: `asset`), its code percent-encoded: a code stored before asset_code_validator
    may hold any character."""
    return f"/assets/{quote(code, safe='')}/"


def _asset_geometry():
    return Coalesce("point", "line", "polygon", output_field=models.GeometryField(srid=SRID))


class Asset(NoDeleteModel):
    code = models.CharField(_("asset code"), max_length=40, unique=True, blank=True,
                            validators=[asset_code_validator])
    name = models.CharField(_("asset name"), max_length=200)
    # What the public sees instead of `name` (no beneficiary's name): set by services.asset_save (privacy.py).
    public_name = models.CharField(_("public name"), max_length=200, blank=True, db_default="", editable=False)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    asset_type = models.CharField(_("asset type"), max_length=20, choices=AssetType.choices)
    status = models.CharField(_("status"), max_length=20, choices=AssetStatus.choices, default=AssetStatus.IN_USE)

    # Exactly one of the three concrete geometries; `location` and `geom_web` are derived by the database.
    point = models.PointField(_("point"), srid=SRID, null=True, blank=True, spatial_index=False)
    line = models.MultiLineStringField(_("line"), srid=SRID, null=True, blank=True, spatial_index=False)
    polygon = models.MultiPolygonField(_("polygon"), srid=SRID, null=True, blank=True, spatial_index=False)
    location = models.GeneratedField(
        expression=Func(_asset_geometry(), function="ST_PointOnSurface"),
        output_field=models.PointField(srid=SRID, spatial_index=False), db_persist=True,
    )
    geom_web = models.GeneratedField(
        expression=Transform(_asset_geometry(), WEB_SRID), output_field=models.GeometryField(srid=WEB_SRID, spatial_index=False),
        db_persist=True,
    )

    village = models.ForeignKey(
        AdminArea, verbose_name=_("village"), on_delete=models.PROTECT, related_name="village_assets",
        limit_choices_to={"level": AreaLevel.VILLAGE}, null=True, blank=True,
    )
    # no index of its own: asset_township_village (township, village) serves every township filter
    township = models.ForeignKey(
        AdminArea, verbose_name=_("township"), on_delete=models.PROTECT, related_name="township_assets",
        limit_choices_to={"level": AreaLevel.TOWNSHIP}, null=True, blank=True, db_index=False,
    )
    # The county the asset belongs to, by its national code: filled by the database from the township or village
    # (or, with neither, the county boundary covering the asset) on every write, whoever writes (migration 0014).
    county = models.ForeignKey(
        AdminArea, verbose_name=_("county"), on_delete=models.PROTECT, related_name="county_assets", to_field="code",
        db_column="county_code", null=True, blank=True, editable=False,
    )
    year_built = models.PositiveSmallIntegerField(_("year built"), null=True, blank=True)
    project_name = models.CharField(_("project name"), max_length=200, blank=True)
    implementing_unit = models.CharField(_("implementing unit"), max_length=200, blank=True)
    department = models.ForeignKey(
        Department, verbose_name=_("responsible department"), on_delete=models.PROTECT, null=True, blank=True
    )
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=3, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    unit = models.CharField(_("unit of measure"), max_length=20, blank=True)
    total_investment = models.DecimalField(
        _("total investment (10k yuan)"), max_digits=14, decimal_places=4, default=Decimal("0"),
        validators=[MinValueValidator(0)],
    )

    # Ownership (确权)
    owner_kind = models.CharField(_("owner kind"), max_length=20, choices=OwnerKind.choices, blank=True)
    registration_status = models.CharField(
        _("registration status"), max_length=20, choices=RegistrationStatus.choices,
        default=RegistrationStatus.UNREGISTERED,
    )
    registration_date = models.DateField(_("registration date"), null=True, blank=True)

    # Custody (管护)
    custodian_unit = models.CharField(_("custodian unit"), max_length=200, blank=True)
    custodian_person = models.CharField(_("responsible person"), max_length=50, blank=True)
    custodian_phone = models.CharField(
        _("contact phone"), max_length=20, blank=True,
        validators=[RegexValidator(r"^[0-9+\-() ]{5,20}$", _("Enter a valid phone number."))],
    )
    custody_method = models.CharField(_("custody method"), max_length=20, choices=CustodyMethod.choices, blank=True)
    custody_funding = models.DecimalField(
        _("yearly custody funding (10k yuan)"), max_digits=12, decimal_places=4, null=True, blank=True,
        validators=[MinValueValidator(0)],
    )

    operator = models.CharField(_("operator"), max_length=200, blank=True)
    is_published = models.BooleanField(_("published"), default=False)
    last_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # History rows are read by asset (`id`, indexed) and date; nothing filters them by the other columns that
    # simple-history would index (docs/performance.md, Import, session 8).
    history = HistoricalRecords(excluded_fields=["location", "geom_web", "updated_at"],
                                no_db_index=["code", "county", "department", "township", "village"])
    objects = AssetQuerySet.as_manager()

    class Meta:
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        ordering = ["code"]
        indexes = [
            GistIndex(fields=["location"], name="asset_location_gist"),
            GistIndex(fields=["geom_web"], name="asset_geom_web_gist"),
            # an asset has one of the three (asset_exactly_one_geometry): the other two are not indexed as NULLs. As
            # expressions: PostGIS's schema editor drops the condition of a one-field spatial index (Django ticket 36694)
            GistIndex(F("point"), name="asset_point_gist", condition=Q(point__isnull=False)),
            GistIndex(F("line"), name="asset_line_gist", condition=Q(line__isnull=False)),
            GistIndex(F("polygon"), name="asset_polygon_gist", condition=Q(polygon__isnull=False)),
            models.Index(fields=["township", "village"], name="asset_township_village"),
            models.Index(fields=["asset_type", "status"], name="asset_type_status"),
            # importers match rows without a code by name (then type, village, geometry)
            models.Index(fields=["name"], name="asset_name"),
            # the map's search (pg_trgm: any three characters of a name; layers.services.assets_searched): one index
            # a name, so that each has its statistics and the public's search never reads a beneficiary's name
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="asset_name_trgm"),
            GinIndex(OpClass(Upper("public_name"), name="gin_trgm_ops"), name="asset_public_name_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(point__isnull=False, line__isnull=True, polygon__isnull=True)
                    | Q(point__isnull=True, line__isnull=False, polygon__isnull=True)
                    | Q(point__isnull=True, line__isnull=True, polygon__isnull=False)
                ),
                name="asset_exactly_one_geometry",
                violation_error_message=_("An asset needs exactly one geometry: a point, a line or a polygon."),
            ),
            models.CheckConstraint(
                condition=Q(point__isvalid=True), name="asset_point_valid",
                violation_error_message=_("The point is not a valid geometry."),
            ),
            models.CheckConstraint(
                condition=Q(line__isvalid=True), name="asset_line_valid",
                violation_error_message=_("The line is not a valid geometry."),
            ),
            models.CheckConstraint(
                condition=Q(polygon__isvalid=True), name="asset_polygon_valid",
                violation_error_message=_("The polygon is not a valid geometry (self-intersection or similar)."),
            ),
            models.CheckConstraint(condition=Q(total_investment__gte=0), name="asset_investment_not_negative"),
            models.CheckConstraint(
                condition=Q(quantity__gte=0) | Q(quantity__isnull=True), name="asset_quantity_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        return asset_url(self.code)

    def owner_by_kind(self) -> str:
        """Who owns the asset when no share names an owner: the one its ownership kind says (work plan 二(四):
        the village's collective, the township, the line department, the beneficiary household); "" for a
        cooperative's or enterprise's shares, which must be named."""
        kind = self.owner_kind
        if kind == OwnerKind.VILLAGE_COLLECTIVE and self.village_id:
            return gettext("%(village)s collective") % {"village": self.village.name}
        if kind == OwnerKind.TOWNSHIP and self.township_id:
            return gettext("%(township)s government") % {"township": self.township.name}
        if kind == OwnerKind.STATE:
            return self.department.name if self.department_id else str(OwnerKind.STATE.label)
        if kind == OwnerKind.HOUSEHOLD:
            return str(OwnerKind.HOUSEHOLD.label)
        return ""

    @property
    def geometry(self):
        return self.point or self.line or self.polygon

    def validate_constraints(self, exclude=None):
        # Django cannot evaluate ST_IsValid on a NULL column in Python-side constraint checks, so the
        # geometry constraints are checked here with GEOS (same rules, clearer messages); the database
        # still enforces them.
        # The non-negative checks on amounts are also the fields' validators: no extra query for them here.
        super().validate_constraints(exclude=set(exclude or ()) | set(GEOMETRY_COLUMNS) | {"total_investment", "quantity"})
        present = [name for name in GEOMETRY_COLUMNS if getattr(self, name) is not None]
        if len(present) != 1:
            raise ValidationError(
                {"point": _("An asset needs exactly one geometry: a point, a line or a polygon.")}
            )
        geom = getattr(self, present[0])
        if geom.empty:
            raise ValidationError({present[0]: _("The geometry is empty.")})
        if not geom.valid:
            raise ValidationError({present[0]: _("The geometry is not valid: %(reason)s") % {"reason": geom.valid_reason}})


class FundingLine(NoDeleteModel):
    # indexed by its unique (asset, …) constraint, which leads with the asset
    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="funding",
                              db_index=False)
    source = models.CharField(_("funding source"), max_length=20, choices=FundingSourceKind.choices)
    amount = models.DecimalField(
        _("amount (10k yuan)"), max_digits=14, decimal_places=4, validators=[MinValueValidator(0)]
    )
    history = HistoricalRecords(no_db_index=["asset"])  # history rows are read by line (`id`), not by asset

    class Meta:
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")
        constraints = [
            models.UniqueConstraint(fields=["asset", "source"], name="funding_one_line_per_source"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="funding_amount_not_negative"),
        ]

    def __str__(self):
        return f"{self.get_source_display()} {self.amount}"

    def validate_constraints(self, exclude=None):
        super().validate_constraints(exclude=set(exclude or ()) | {"amount"})  # amount >= 0: the field's validator


class OwnerShare(NoDeleteModel):
    # indexed by its unique (asset, …) constraint, which leads with the asset
    asset = models.ForeignKey(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="owners",
                              db_index=False)
    owner_name = models.CharField(_("owner"), max_length=200)
    owner_kind = models.CharField(_("owner kind"), max_length=20, choices=OwnerKind.choices)
    share = models.DecimalField(
        _("share (%)"), max_digits=6, decimal_places=3, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    history = HistoricalRecords(no_db_index=["asset"])  # history rows are read by share (`id`), not by asset

    class Meta:
        verbose_name = _("owner share")
        verbose_name_plural = _("owner shares")
        constraints = [
            models.UniqueConstraint(fields=["asset", "owner_name"], name="ownershare_unique_owner"),
            models.CheckConstraint(condition=Q(share__gte=0, share__lte=100), name="ownershare_share_range"),
        ]

    def __str__(self):
        return f"{self.owner_name} {self.share}%"

    def validate_constraints(self, exclude=None):
        super().validate_constraints(exclude=set(exclude or ()) | {"share"})  # 0..100: the field's validators


class Disposal(CountyBound, NoDeleteModel):
    """处置 as a workflow: request with reason → assessment → approval → execution (work plan 二(八)). Only an
    executed disposal moves the asset to 已处置; proceeds fund a new poverty-alleviation project."""

    asset = models.OneToOneField(Asset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="disposal")
    status = models.CharField(_("step"), max_length=20, choices=DisposalStatus.choices,
                              default=DisposalStatus.REQUESTED)
    reason = models.CharField(_("reason"), max_length=20, choices=DisposalReason.choices, blank=True)
    request_note = models.TextField(_("request"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("requested by"))
    recorded_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    assessed_value = models.DecimalField(_("assessed value (10k yuan)"), max_digits=14, decimal_places=4, null=True,
                                         blank=True, validators=[MinValueValidator(0)])
    assessor = models.CharField(_("assessor"), max_length=200, blank=True)
    assessed_on = models.DateField(_("assessed on"), null=True, blank=True)
    approval_authority = models.CharField(_("approved by (authority)"), max_length=200, blank=True)
    approval_reference = models.CharField(_("approval document"), max_length=200, blank=True)
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    method = models.CharField(_("disposal method"), max_length=20, choices=DisposalMethod.choices, blank=True)
    executed_on = models.DateField(_("executed on"), null=True, blank=True)
    proceeds = models.DecimalField(
        _("proceeds (10k yuan)"), max_digits=14, decimal_places=4, default=Decimal("0"),
        validators=[MinValueValidator(0)],
    )
    new_project = models.CharField(_("new project funded by the proceeds"), max_length=200, blank=True)
    rejection = models.TextField(_("reason for rejection"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("disposal")
        verbose_name_plural = _("disposals")


class Membership(NoDeleteModel):
    """A user's role and the area or sector it is scoped to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(AdminArea, verbose_name=_("area"), on_delete=models.PROTECT, null=True, blank=True)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, null=True, blank=True
    )
    # The county of a county body (COUNTY_ROLES), by its code: derived from the area, else the only county.
    county = models.ForeignKey(
        AdminArea, verbose_name=_("county"), on_delete=models.PROTECT, related_name="county_memberships",
        to_field="code", db_column="county_code", null=True, blank=True,
    )
    # The membership a user acts in now (chosen in the header): exactly one per user.
    current = models.BooleanField(_("current role"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["user_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(current=True), name="membership_one_current"),
            models.UniqueConstraint(fields=["user", "role", "area", "department"], nulls_distinct=False,
                                    name="membership_unique"),
            models.CheckConstraint(
                condition=~Q(role__in=[Role.TOWNSHIP, Role.VILLAGE]) | Q(area__isnull=False),
                name="membership_area_required", violation_error_message=_("Township and village roles need an area."),
            ),
            models.CheckConstraint(
                condition=~Q(role__in=sorted(OVERSIGHT_ROLES)) | Q(area__isnull=False),
                name="membership_oversight_area", violation_error_message=_("Oversight roles need an area."),
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.DEPARTMENT) | Q(department__isnull=False),
                name="membership_department_required",
                violation_error_message=_("The department role needs a department."),
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.label}"

    @property
    def label(self) -> str:
        """The role with its area or department, as the header's role switcher shows it."""
        where = self.department.name if self.department_id else (self.area.name if self.area_id else "")
        county = self.county.name if self.county_id and self.area_id != self.county_id and self.county else ""
        parts = [str(self.get_role_display()), county, where]
        return " · ".join(p for p in parts if p)

    def clean(self):
        super().clean()
        if self.county_id is None and self.role in COUNTY_ROLES:
            self.county_id = membership_county(self.area)
            if self.county_id is None and AdminArea.objects.filter(level=AreaLevel.COUNTY).exists():
                raise ValidationError({"county": _("The register holds several counties: say which county the "
                                                   "role belongs to (its 12-digit code).")})
        if self.county_id and self.area_id and self.role in COUNTY_ROLES and \
                county_code_of(self.area.code) != self.county_id:
            raise ValidationError({"area": _("The area lies outside the role's county.")})

    def save(self, *args, **kwargs):
        if self.county_id is None and self.role in COUNTY_ROLES:
            self.county_id = membership_county(self.area)
        super().save(*args, **kwargs)


def membership_county(area: "AdminArea | None") -> str | None:
    """The county code of a county body's membership: the area's county; with no area (a county administrator,
    inspector, finance bureau or department) the only county of the register, None when there are several."""
    if area is not None:
        return county_code_of(area.code)
    codes = list(AdminArea.objects.filter(level=AreaLevel.COUNTY).values_list("code", flat=True)[:2])
    return codes[0] if len(codes) == 1 else None
