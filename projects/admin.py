from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset


class FundLineInline(admin.TabularInline):
    model = FundLine
    extra = 0
    fields = ("source", "document_number", "year", "allocated", "disbursed", "note")
    can_delete = False


@admin.register(Project)
class ProjectAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "year", "kind", "department", "township", "status")
    list_filter = ("year", "kind", "status", "department")
    search_fields = ("code", "name", "implementing_unit")
    filter_horizontal = ("villages",)
    inlines = [FundLineInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProjectAsset)
class ProjectAssetAdmin(SimpleHistoryAdmin):
    list_display = ("project", "asset", "amount", "origin", "linked_at")
    raw_id_fields = ("project", "asset")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerPolicy)
class LedgerPolicyAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "tolerance_percent", "tolerance_amount", "first_year")

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return not LedgerPolicy.objects.exists()
