"""The admin only translates: querysets decide what a user sees, services decide what a save does."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from geo_assets import services
from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset, Department, Disposal, FundingLine, Membership, OwnerShare

# simple-history's history table translates its column names as msgids: give ours (and its "Changes") a label.
HISTORY_COLUMN_LABELS = (_("status_label"), _("Changes"))

admin.site.site_header = _("Poverty-alleviation asset register")
admin.site.site_title = _("Asset register")
admin.site.index_title = _("Register administration")


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
        return request.user.is_active and request.user.is_staff

    def _require_in_queryset(self, request, object_id) -> None:
        # simple-history serves the history rows of objects outside get_queryset(): refuse those.
        if not self.get_queryset(request).filter(pk=object_id if str(object_id).isdigit() else None).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._require_in_queryset(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_in_queryset(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class CountyAdminOnlyMixin:
    """Reference data: readable by staff, changed by county administrators only."""

    def has_change_permission(self, request, obj=None):
        return scope_for(request.user).is_county_admin

    def has_add_permission(self, request):
        return scope_for(request.user).is_county_admin


@admin.register(AdminArea)
class AdminAreaAdmin(NoDeleteAdminMixin, CountyAdminOnlyMixin, LeafletGeoAdminMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)
    readonly_fields = ()

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def save_model(self, request, obj, form, change):
        services.area_save(actor=request.user, area=obj, reason=str(_("edited in the admin")))


@admin.register(Department)
class DepartmentAdmin(NoDeleteAdminMixin, CountyAdminOnlyMixin, SimpleHistoryAdmin):
    list_display = ("name",)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


class AssetAdminForm(forms.ModelForm):
    """Runs the register's rules (services.asset_check) so errors show on the form, nothing saved."""

    actor = None

    class Meta:
        model = Asset
        fields = (
            "name", "category", "asset_type", "status", "is_published", "point", "line", "polygon", "village",
            "year_built", "project_name", "implementing_unit", "department", "quantity", "unit", "owner_kind",
            "registration_status", "registration_date", "custodian_unit", "custodian_person", "custodian_phone",
            "custody_method", "custody_funding", "operator", "note",
        )

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        if any(name in self.changed_data for name in services.GEOMETRY_FIELDS) and "village" not in self.changed_data:
            self.instance.village = None  # re-derive the village from the new geometry
        self.instance.township = None
        try:
            services.asset_check(actor=self.actor, asset=self.instance)
        except PermissionDenied as error:
            self.add_error(None, str(error))
        except ValidationError as error:
            self._update_errors(error if hasattr(error, "error_dict") else ValidationError({None: error.messages}))


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


class FundingInline(admin.TabularInline):
    model = FundingLine
    extra = 0
    can_delete = False


class OwnerInline(admin.TabularInline):
    model = OwnerShare
    formset = OwnerFormSet
    extra = 0
    can_delete = False


@admin.register(Asset)
class AssetAdmin(NoDeleteAdminMixin, LeafletGeoAdminMixin, SimpleHistoryAdmin):
    form = AssetAdminForm
    list_display = ("code", "name", "category", "asset_type", "township", "village", "status", "total_investment")
    list_filter = ("category", "asset_type", "status", "registration_status", "township")
    search_fields = ("code", "name", "village__name", "project_name")
    list_select_related = ("township", "village")
    readonly_fields = ("code", "township", "total_investment", "created_at", "updated_at", "last_verified_at")
    raw_id_fields = ("village",)
    inlines = [FundingInline, OwnerInline]
    history_list_display = ["status_label", "village"]
    fieldsets = (
        (None, {"fields": ("code", "name", "category", "asset_type", "status", "is_published")}),
        (_("Location"), {"fields": ("point", "line", "polygon", "village", "township")}),
        (_("Project"), {"fields": ("year_built", "project_name", "implementing_unit", "department",
                                   "quantity", "unit", "total_investment")}),
        (_("Ownership"), {"fields": ("owner_kind", "registration_status", "registration_date")}),
        (_("Custody"), {"fields": ("custodian_unit", "custodian_person", "custodian_phone", "custody_method",
                                   "custody_funding", "operator")}),
        (None, {"fields": ("note", "last_verified_at", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    @admin.display(description=_("status"))
    def status_label(self, record):
        return record.get_status_display()

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.geometry is None:
            return fieldsets
        # an existing asset shows only the map of the geometry it has
        keep = next(name for name in services.GEOMETRY_FIELDS if getattr(obj, name) is not None)
        return [(title, {**opts, "fields": tuple(f for f in opts["fields"]
                                                 if f not in services.GEOMETRY_FIELDS or f == keep)})
                for title, opts in fieldsets]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["context_areas"] = services.asset_context_areas(actor=request.user, asset=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_change_permission(self, request, obj=None):
        if not (request.user.is_active and request.user.is_staff):
            return False
        if not scope_for(request.user).edits_anything:
            return False
        return obj is None or Asset.objects.editable_by(request.user).filter(pk=obj.pk).exists()

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


@admin.register(Disposal)
class DisposalAdmin(NoDeleteAdminMixin, SimpleHistoryAdmin):
    list_display = ("asset", "method", "approval_reference", "approved_on", "proceeds")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(asset__in=Asset.objects.visible_to(request.user))

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False  # recorded through services.asset_dispose

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(NoDeleteAdminMixin, CountyAdminOnlyMixin, SimpleHistoryAdmin):
    list_display = ("user", "role", "area", "department")
    list_filter = ("role",)
    raw_id_fields = ("user", "area")

    def has_view_permission(self, request, obj=None):
        return scope_for(request.user).is_county_admin
