"""The admin only translates: querysets decide what a user sees, services decide what a save does."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.gis.forms import GeometryField
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletAdminWidget, LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from geo_assets import services
from geo_assets.access import scope_for
from geo_assets.models import SRID, AdminArea, Asset, Department, Disposal, FundingLine, Membership, OwnerShare
from geo_assets.taxonomy import AreaLevel

# simple-history's history table translates its column names as msgids: give ours (and its "Changes") a label.
HISTORY_COLUMN_LABELS = (_("status_label"), _("Changes"))

# Django 5.2 answers an empty `?_to_field=` on any change or delete page with a 500 (get_field("")): treat it as
# absent, for every registered admin (ours and Django's own).
_get_object = admin.ModelAdmin.get_object
admin.ModelAdmin.get_object = lambda self, request, object_id, from_field=None: _get_object(
    self, request, object_id, from_field or None)

admin.site.site_header = _("Poverty-alleviation asset register")
admin.site.site_title = _("Asset register")
admin.site.index_title = _("Register administration")


def _register_staff(user) -> bool:
    """The admin is for staff with a role in the register; a staff account without one sees nothing there."""
    return user.is_active and user.is_staff and scope_for(user).sees_personal_data


class ChoiceLabelHistoryHelper(HistoricalRecordContextHelper):
    """Show choice fields in the history's change list by their labels (在用 → 闲置), not their codes."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.choices and not isinstance(value, list | tuple):
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)


class NoDeleteAdminMixin:
    """Roles, not Django's per-model permissions, decide access (geo_assets.access); nothing is deleted."""

    def get_historical_record_context_helper(self, request, historical_record):
        return ChoiceLabelHistoryHelper(self.model, historical_record)

    def has_module_permission(self, request):
        return _register_staff(request.user)

    def _require_in_queryset(self, request, object_id) -> None:
        # simple-history serves the history rows of objects outside get_queryset(): refuse those.
        if not self.get_queryset(request).filter(pk=object_id if str(object_id).isdigit() else None).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._require_in_queryset(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history's version page saves whatever is posted to it, past the services and their rules, even
        # with reverting switched off: here it only shows the old version, read-only, to those who may see it.
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        self._require_in_queryset(request, object_id)
        request._history_read_only = True
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if getattr(request, "_history_read_only", False):
            names = [f.name for f in self.model._meta.fields if f.editable] + list(self.form.declared_fields)
            return tuple(dict.fromkeys([*readonly, *names]))
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


def _edits_shared(user) -> bool:
    """Reference data every county shares (departments, accounts' roles): a county administrator changes it while
    the register holds one county; with several, a system administrator (superuser)."""
    if not scope_for(user).is_county_admin:
        return False
    return user.is_superuser or AdminArea.objects.filter(level=AreaLevel.COUNTY).count() <= 1


class CountyAdminOnlyMixin:
    """Reference data: readable by staff, changed by county administrators only (of their county's rows)."""

    def has_change_permission(self, request, obj=None):
        return _edits_shared(request.user)

    def has_add_permission(self, request):
        return _edits_shared(request.user)


class AreaChangeList(ChangeList):
    """The areas' list shows codes and names: a page of villages read ~3.5 MB of boundaries it never drew."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer("geom", "geom_web")


@admin.register(AdminArea)
class AdminAreaAdmin(NoDeleteAdminMixin, CountyAdminOnlyMixin, LeafletGeoAdminMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)
    readonly_fields = ()

    def get_queryset(self, request):
        return super().get_queryset(request).with_parent()

    def get_changelist(self, request, **kwargs):
        return AreaChangeList

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_change_permission(self, request, obj=None):  # the areas of one's own counties
        return scope_for(request.user).is_county_admin and (
            obj is None or scope_for(request.user).reaches_area(obj.code))

    def has_add_permission(self, request):
        return scope_for(request.user).is_county_admin

    def save_model(self, request, obj, form, change):
        services.area_save(actor=request.user, area=obj, reason=str(_("edited in the admin")))


@admin.register(Department)
class DepartmentAdmin(NoDeleteAdminMixin, CountyAdminOnlyMixin, SimpleHistoryAdmin):
    list_display = ("name",)

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)


class GenericMapWidget(LeafletAdminWidget):
    """One map for an asset: the drawing toolbar offers a point, a line or a polygon."""

    template_name = "geo_assets/map_widget.html"
    geom_type = "GEOMETRY"


class AssetAdminForm(forms.ModelForm):
    """Runs the register's rules (services.asset_check) so errors show on the form, nothing saved.
    The three geometry columns are edited as one map field; services.geometry_split puts it in its column."""

    actor = None
    geometry = GeometryField(label=_("location on the map"), srid=SRID, widget=GenericMapWidget,
                             help_text=_("Draw a point, a line or a polygon; the village is found from it."))

    class Meta:
        model = Asset
        fields = (
            "name", "category", "asset_type", "status", "is_published", "village",
            "year_built", "project_name", "implementing_unit", "department", "quantity", "unit", "owner_kind",
            "registration_status", "registration_date", "custodian_unit", "custodian_person", "custodian_phone",
            "custody_method", "custody_funding", "operator", "note",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "geometry" in self.fields:
            self.initial.setdefault("geometry", self.instance.geometry)
        if "village" in self.fields:
            self.fields["village"].required = False
            self.fields["village"].help_text = _("Leave empty: the village containing the location is used.")
        if "category" in self.fields:
            self.fields["category"].required = False  # follows from the type (services)
        for name in ("village", "department"):
            widget = self.fields[name].widget if name in self.fields else None
            if hasattr(widget, "can_add_related"):  # reference data is changed elsewhere, by county administrators
                widget.can_add_related = widget.can_change_related = widget.can_view_related = False

    def _post_clean(self):
        if "geometry" in self.cleaned_data:
            try:
                for name, value in services.geometry_split(self.cleaned_data["geometry"]).items():
                    setattr(self.instance, name, value)
            except ValidationError as error:
                self.add_error("geometry", error.messages)
                return
            if "geometry" in self.changed_data and "village" not in self.changed_data:
                self.instance.village = None  # re-derive the village from the new geometry
        super()._post_clean()
        # The register's rules run even when a field is already refused: every fault is shown at once.
        self.instance.township = None
        try:
            services.asset_check(actor=self.actor, asset=self.instance)
        except PermissionDenied as error:
            self.add_error(None, str(error))
        except ValidationError as error:
            self._update_errors(error if hasattr(error, "error_dict") else ValidationError({None: error.messages}))

    def _update_errors(self, errors):
        """The rules speak of point/line/polygon (or fields not on this form): show those on the map or on top."""
        if hasattr(errors, "error_dict"):
            moved = {}
            for key, value in errors.error_dict.items():
                key = "geometry" if key in (*services.GEOMETRY_FIELDS, "geometry") else key
                moved.setdefault(key if key in self.fields or key is None else None, []).extend(value)
            # a fault the model's own validation already reported is not listed twice
            moved = {key: [m for m in ValidationError(value).messages
                           if m not in self._errors.get(key if key is not None else NON_FIELD_ERRORS, [])]
                     for key, value in moved.items()}
            errors = ValidationError({key: value for key, value in moved.items() if value})
            if not errors.error_dict:
                return
        super()._update_errors(errors)


class OwnerFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        shares = [services.Share(r["owner_name"], r["owner_kind"], Decimal(r["share"])) for r in rows
                  if r.get("share") is not None and r.get("owner_name")]
        if shares or self.instance.pk:
            try:
                services.owner_shares_validate(asset=self.instance, shares=shares)
            except ValidationError as error:
                raise ValidationError(error.messages) from error


def _asset_editable(request, asset) -> bool:
    if not (_register_staff(request.user) and scope_for(request.user).edits_anything):
        return False
    return asset is None or asset.pk is None or Asset.objects.editable_by(request.user).filter(pk=asset.pk).exists()


class AssetChildInline(admin.TabularInline):
    """Funding and owners: each role edits them on the assets it may edit (obj is the asset)."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_change_permission(self, request, obj=None):
        return _asset_editable(request, obj)

    def has_add_permission(self, request, obj=None):
        return _asset_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class FundingInline(AssetChildInline):
    model = FundingLine


class OwnerInline(AssetChildInline):
    model = OwnerShare
    formset = OwnerFormSet


@admin.register(Asset)
class AssetAdmin(NoDeleteAdminMixin, LeafletGeoAdminMixin, SimpleHistoryAdmin):
    form = AssetAdminForm
    list_display = ("code", "name", "category", "asset_type", "township", "village", "status", "total_investment")
    list_filter = ("category", "asset_type", "status", "registration_status", "township")
    search_fields = ("code", "name", "village__name", "project_name")
    list_select_related = ("township", "village")
    readonly_fields = ("code", "township", "total_investment", "created_at", "updated_at", "last_verified_at")
    inlines = [FundingInline, OwnerInline]
    history_list_display = ["status_label", "village"]
    fieldsets = (
        (None, {"fields": ("code", "name", "category", "asset_type", "status", "is_published")}),
        (_("Location"), {"fields": ("geometry", "village", "township")}),
        (_("Project"), {"fields": ("year_built", "project_name", "implementing_unit", "department",
                                   "quantity", "unit", "total_investment")}),
        (_("Ownership"), {"fields": ("owner_kind", "registration_status", "registration_date")}),
        (_("Custody"), {"fields": ("custodian_unit", "custodian_person", "custodian_phone", "custody_method",
                                   "custody_funding", "operator")}),
        (None, {"fields": ("note", "last_verified_at", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).with_areas()

    @admin.display(description=_("status"))
    def status_label(self, record):
        return record.get_status_display()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "village":  # only the villages the role may enter assets in
            kwargs["queryset"] = AdminArea.objects.within_scope_of(request.user).villages().order_by("code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["context_areas"] = services.asset_context_areas(actor=request.user, asset=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_change_permission(self, request, obj=None):
        return _asset_editable(request, obj)

    def has_add_permission(self, request):
        return self.has_change_permission(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        services.asset_save(actor=request.user, asset=obj, reason=str(_("edited in the admin") if change
                                                                         else _("entered in the admin")))

    def save_formset(self, request, form, formset, change):
        rows = [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        reason = str(_("edited in the admin"))
        if formset.model is FundingLine:
            services.asset_funding_set(actor=request.user, asset=form.instance, reason=reason,
                                       funding=[(row["source"], Decimal(row["amount"])) for row in rows])
        elif formset.model is OwnerShare:
            services.asset_owners_set(actor=request.user, asset=form.instance, reason=reason, owners=[
                services.Share(row["owner_name"], row["owner_kind"], Decimal(row["share"])) for row in rows])
        # the services saved the rows; Django's change message reads what the formset would have saved
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(Disposal)
class DisposalAdmin(NoDeleteAdminMixin, SimpleHistoryAdmin):
    list_display = ("asset", "method", "approval_reference", "approved_on", "proceeds")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(asset__in=Asset.objects.visible_to(request.user))

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_add_permission(self, request):
        return False  # recorded through services.asset_dispose

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(NoDeleteAdminMixin, CountyAdminOnlyMixin, SimpleHistoryAdmin):
    list_display = ("user", "role", "county", "area", "department", "current")
    list_filter = ("role",)
    raw_id_fields = ("user", "area", "county")

    def has_view_permission(self, request, obj=None):
        return scope_for(request.user).is_county_admin

    def get_queryset(self, request):  # the roles of one's own counties
        counties = scope_for(request.user).counties_q()
        queryset = super().get_queryset(request)
        return queryset if counties is None else queryset.filter(counties)


class AccountAdmin(UserAdmin):
    """Accounts are deactivated, never deleted: the register's history names who changed what."""

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
