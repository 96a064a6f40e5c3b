"""Campaigns and verifications in the admin, read-only for everybody: verifications are evidence, and campaigns
are created, sampled and assigned through the office pages and services. Scoped like the asset admin."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from simple_history.admin import SimpleHistoryAdmin

from geo_assets.admin import NoDeleteAdminMixin, _register_staff
from geo_assets.querysets import without_boundaries
from verification import selectors
from verification.models import Campaign, Verification
from verification.taxonomy import Flag


class ReadOnlyAdminMixin(NoDeleteAdminMixin):
    def has_view_permission(self, request, obj=None):
        return _register_staff(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FlagFilter(admin.SimpleListFilter):
    title = _("flags")
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return [("any", _("has flags")), ("none", _("no flags")), *Flag.choices]

    def queryset(self, request, queryset):
        if self.value() == "any":
            return queryset.exclude(flags=[])
        if self.value() == "none":
            return queryset.filter(flags=[])
        if self.value() in Flag.values:
            return queryset.filter(flags__contains=[self.value()])
        return queryset


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("name", "kind", "year", "area", "sample_share", "due_on", "is_open")
    list_filter = ("kind", "year", "is_open")
    search_fields = ("name",)
    list_select_related = ("area",)
    exclude = ("created_by",)
    readonly_fields = ("item_count",)

    def get_queryset(self, request):
        return (super().get_queryset(request).filter(pk__in=selectors.campaigns_visible_to(request.user).values("pk"))
                .select_related("area").defer(*without_boundaries("area")))

    @admin.display(description=_("campaign assets"))
    def item_count(self, campaign):
        return campaign.items.count()


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("asset", "finding", "observed_at", "verifier", "distance_m", "flag_labels", "review")
    list_filter = ("review", FlagFilter, "finding", ("campaign", admin.RelatedOnlyFieldListFilter))
    search_fields = ("asset__code",)
    list_select_related = ("asset", "verifier")
    date_hierarchy = "observed_at"
    exclude = ("asset", "verifier", "reviewed_by", "campaign", "position")
    readonly_fields = ("asset_code", "verifier_name", "position_text", "photo_links", "reviewer_name")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=selectors.verifications_visible_to(request.user)
                                                    .values("pk"))

    @admin.display(description=_("asset"))
    def asset_code(self, record):
        return record.asset.code

    @admin.display(description=_("verifier"))
    def verifier_name(self, record):
        return record.verifier.get_username()

    @admin.display(description=_("reviewed by"))
    def reviewer_name(self, record):
        return record.reviewed_by.get_username() if record.reviewed_by else "—"

    @admin.display(description=_("GPS position"))
    def position_text(self, record):
        return f"{record.position.x:.6f}, {record.position.y:.6f}"

    @admin.display(description=_("flags"))
    def flag_labels(self, record):
        return pgettext("list separator", ", ").join(str(Flag(f).label) for f in record.flags if f in Flag.values) or "—"

    @admin.display(description=_("photos"))
    def photo_links(self, record):
        return format_html_join(
            " ", '<a href="/field/photos/{0}/photo.jpg"><img src="/field/photos/{0}/thumb.jpg" alt="" height="90"></a>'
            ' <a href="/field/photos/{0}/original">{1}</a>', ((p.pk, _("original")) for p in record.photos.all()),
        ) or format_html("—")
