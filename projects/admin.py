"""The project ledgers in the admin, hardened like the register's (geo_assets/admin.py): roles, not Django's
permissions, decide access (projects.access, projects.rules); every list, change and history page is scoped by
Project.objects.visible_to; every save goes through projects.services, so the rules and bounds apply and the form
shows their refusals; nothing is deleted; history version pages are read-only."""

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from geo_assets.access import scope_for
from geo_assets.admin import NoDeleteAdminMixin, _register_staff
from geo_assets.models import Asset, Department
from geo_assets.querysets import without_boundaries
from geo_assets.taxonomy import Role
from projects import access, rules, services
from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset


class ServiceCheckedForm(forms.ModelForm):
    """Runs the service's own check (no write) after the model's validation, so that a refusal or an out-of-bounds
    value shows on the form and nothing is saved. Messages the model's validation already gave are not repeated."""

    actor = None

    def service_check(self) -> None:
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            self.service_check()
        except PermissionDenied as error:
            self.add_error(None, str(error))
        except ValidationError as error:
            found = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            for name, messages in found.items():
                key = name if name in self.fields else None
                shown = self._errors.get(key if key is not None else NON_FIELD_ERRORS, []) if self._errors else []
                fresh = [m for m in messages if m not in shown]
                if fresh:
                    self.add_error(key, fresh)


def _no_related_buttons(form, *names):
    for name in names:
        widget = form.fields[name].widget if name in form.fields else None
        if hasattr(widget, "can_add_related"):  # reference data is changed elsewhere, by county administrators
            widget.can_add_related = widget.can_change_related = widget.can_view_related = False


class ProjectAdminForm(ServiceCheckedForm):
    class Meta:
        model = Project
        fields = ("code", "name", "year", "kind", "status", "implementing_unit", "department", "township",
                  "villages", "township_seat", "approval_document", "started_on", "completed_on", "accepted_on",
                  "acceptance_document", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _no_related_buttons(self, "department", "township")

    def service_check(self):
        services.project_check(actor=self.actor, project=self.instance, villages=self.cleaned_data.get("villages"))


class FundLineInline(admin.TabularInline):
    """A project's fund lines, read here; they are recorded and corrected on the project page or under 资金台账
    (FundLineAdmin), where the finance bureau keeps them too."""

    model = FundLine
    extra = 0
    fields = ("source", "document_number", "year", "allocated", "disbursed", "note")
    readonly_fields = fields
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(NoDeleteAdminMixin, SimpleHistoryAdmin):
    form = ProjectAdminForm
    list_display = ("code", "name", "year", "kind", "department", "township", "status")
    list_filter = ("year", "kind", "status", "department")
    search_fields = ("code", "name", "implementing_unit")
    list_select_related = ("department", "township")
    filter_horizontal = ("villages",)
    inlines = [FundLineInline]

    def get_queryset(self, request):
        return (super().get_queryset(request).visible_to(request.user).select_related("township")
                .defer(*without_boundaries("township")))

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_change_permission(self, request, obj=None):
        if not _register_staff(request.user):
            return False
        if obj is None:
            return access.creates_projects(request.user)
        return rules.may_edit_project(request.user, obj) is None

    def has_add_permission(self, request):
        return _register_staff(request.user) and rules.may_edit_project(request.user, None) is None

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if getattr(request, "_history_read_only", False):
            return (*readonly, "villages")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = scope_for(request.user)
        if db_field.name == "department" and scope.role == Role.DEPARTMENT:  # a department enters its own projects
            kwargs["queryset"] = Department.objects.filter(pk=scope.department_id)
            kwargs["initial"] = scope.department_id
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        services.project_save(actor=request.user, project=obj, villages=form.cleaned_data.get("villages"),
                              reason=str(_("edited in the admin") if change else _("entered in the admin")))

    def save_related(self, request, form, formsets, change):
        # the villages were saved by services.project_save; the fund lines are read-only here. Django's change
        # message reads what the formsets would have saved: nothing.
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class FundLineAdminForm(ServiceCheckedForm):
    class Meta:
        model = FundLine
        fields = ("project", "source", "document_number", "year", "allocated", "disbursed", "note")

    def service_check(self):
        services.fund_line_check(actor=self.actor, line=self.instance)


@admin.register(FundLine)
class FundLineAdmin(NoDeleteAdminMixin, SimpleHistoryAdmin):
    form = FundLineAdminForm
    list_display = ("project", "source", "document_number", "year", "allocated", "disbursed")
    list_filter = ("year", "source")
    search_fields = ("project__code", "project__name", "document_number")
    list_select_related = ("project",)
    autocomplete_fields = ("project",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(project__in=Project.objects.visible_to(request.user).values("pk"))

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_change_permission(self, request, obj=None):
        if not _register_staff(request.user):
            return False
        if obj is None:
            return access.keeps_funds(request.user)
        return rules.may_edit_funds(request.user, obj.project) is None

    def has_add_permission(self, request):
        return _register_staff(request.user) and access.keeps_funds(request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return (*readonly, "project") if obj is not None and obj.pk else readonly  # a line stays with its project

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "project":
            kwargs["queryset"] = Project.objects.visible_to(request.user).funds_editable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        services.fund_line_save(actor=request.user, line=obj,
                                reason=str(_("edited in the admin") if change else _("entered in the admin")))


class ProjectAssetAdminForm(ServiceCheckedForm):
    class Meta:
        model = ProjectAsset
        fields = ("project", "asset", "amount")

    def service_check(self):
        link = self.instance
        services.project_asset_link_check(actor=self.actor, project=link.project, asset=link.asset,
                                          amount=link.amount)


@admin.register(ProjectAsset)
class ProjectAssetAdmin(NoDeleteAdminMixin, SimpleHistoryAdmin):
    form = ProjectAssetAdminForm
    list_display = ("project", "asset_code", "amount", "origin", "linked_at")
    list_filter = ("origin",)
    search_fields = ("project__code", "asset__code")
    list_select_related = ("project", "asset")
    autocomplete_fields = ("project", "asset")

    @admin.display(description=_("asset code"), ordering="asset__code")
    def asset_code(self, link):
        return link.asset.code

    def get_queryset(self, request):
        return (super().get_queryset(request)
                .filter(project__in=Project.objects.visible_to(request.user).values("pk"))
                .filter(asset__in=Asset.objects.visible_to(request.user).values("pk")))

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_change_permission(self, request, obj=None):
        if not _register_staff(request.user):
            return False
        if obj is None:
            return access.edits_assets(request.user)
        editable = Asset.objects.editable_by(request.user).filter(pk=obj.asset_id).exists()
        return rules.may_link(request.user, obj.project, obj.asset, asset_editable=editable) is None

    def has_add_permission(self, request):
        return _register_staff(request.user) and access.edits_assets(request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return (*readonly, "project", "asset") if obj is not None and obj.pk else readonly  # never moved

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "project":
            kwargs["queryset"] = Project.objects.visible_to(request.user)
        elif db_field.name == "asset":
            kwargs["queryset"] = Asset.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        linked = services.project_asset_link(actor=request.user, project=obj.project, asset=obj.asset,
                                             amount=obj.amount, origin=obj.origin,
                                             reason=str(_("edited in the admin") if change
                                                        else _("entered in the admin")))
        obj.pk = linked.pk


class LedgerPolicyAdminForm(ServiceCheckedForm):
    class Meta:
        model = LedgerPolicy
        fields = ("tolerance_percent", "tolerance_amount", "first_year")

    def service_check(self):
        if not scope_for(self.actor).is_county_admin:
            raise PermissionDenied(_("Only a county administrator sets the reconciliation tolerance."))


@admin.register(LedgerPolicy)
class LedgerPolicyAdmin(NoDeleteAdminMixin, SimpleHistoryAdmin):
    form = LedgerPolicyAdminForm
    list_display = ("__str__", "tolerance_percent", "tolerance_amount", "first_year")

    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_change_permission(self, request, obj=None):
        return _register_staff(request.user) and scope_for(request.user).is_county_admin

    def has_add_permission(self, request):
        return self.has_change_permission(request) and not LedgerPolicy.objects.exists()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        saved = services.policy_save(actor=request.user, policy=obj, reason=str(_("edited in the admin")))
        obj.pk = saved.pk
