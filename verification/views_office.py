"""The county office's pages of field verification: QR label sheets, campaigns with their progress, the review
queue and the problem list. Views only translate: rules in services.py, queries in selectors.py."""

import csv
import io
import json
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from geo_assets.access import scope_for
from geo_assets.guards import staff_required
from geo_assets.models import AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.querysets import without_boundaries
from geo_assets.taxonomy import AreaLevel, AssetStatus, AssetType, Role
from verification import labels as labels_mod
from verification import selectors, services
from verification.models import LabelSheet, Verification
from verification.taxonomy import DISTANCE_LIMIT_M, CampaignKind, Flag

REVIEW_PAGE = 50
REVIEWERS = (Role.COUNTY_ADMIN, Role.DEPARTMENT, Role.TOWNSHIP)  # as selectors.reviewable_by
SHAPE_METRES = 40  # enough for a county map coloured by village




def _county_admin(request) -> None:
    if not scope_for(request.user).is_county_admin:
        raise PermissionDenied(_("Only a county administrator may start or assign verification campaigns."))


# ---- QR labels (资产标识牌) -------------------------------------------------------------------------------------

def label_url(request, asset: Asset) -> str:
    """What the QR code encodes: the QR landing page, which shows the public card or the verification form."""
    return request.build_absolute_uri(reverse("verification:qr", args=[asset.code]))


@require_GET
@staff_required
def labels(request):
    """A4 sheets of asset labels as PDF for a village (?village=code) or a selection (?codes=a,b,c); without
    either, a form to choose."""
    village_code = request.GET.get("village", "").strip()
    codes = [c.strip() for c in request.GET.get("codes", "").replace("，", ",").split(",") if c.strip()]  # i18n: data
    cap = settings.LABELS_MAX
    if len(codes) > cap:
        return _labels_refused(request, _("At most %(cap)d labels can be printed at once; you gave %(count)d codes: "
                                          "print them in batches.") % {"cap": cap, "count": len(codes)})
    # labels only for assets the public can open by their QR code (/v/<code>/): the published ones
    assets = (Asset.objects.visible_to(request.user).exclude(status=AssetStatus.DISPOSED).filter(is_published=True)
              .with_areas())
    if village_code:
        village = get_object_or_404(AdminArea, code=village_code, level=AreaLevel.VILLAGE)
        assets, title = assets.in_area(village), _("%(village)s asset labels") % {"village": village.name}
    elif codes:
        assets, title = assets.filter(code__in=codes), _("Asset labels")
    else:
        villages = AdminArea.objects.villages().in_counties_of(request.user).with_parent().order_by("code")
        if not scope_for(request.user).reads_everything:
            villages = villages.filter(pk__in=Asset.objects.visible_to(request.user).values("village_id"))
        return render(request, "verification/office/labels_form.html", {
            "villages": villages, "section": "labels", "cap": cap, "background_from": settings.LABELS_BACKGROUND_FROM})
    assets = list(assets.order_by("code")[:cap + 1])
    if not assets:
        raise Http404(_("No assets to print labels for: labels are printed only for published assets (the public "
                        "cannot open an unpublished asset by its QR code); publish the assets first."))
    if len(assets) > cap:
        return _labels_refused(request, _("%(title)s: more than %(cap)d, and at most %(cap)d can be printed at once: "
                                          "print them in batches by asset code.") % {"title": title, "cap": cap})
    name = f"labels-{village_code or len(assets)}.pdf"
    if len(assets) >= settings.LABELS_BACKGROUND_FROM:  # made by the worker; the user waits on the sheet's page
        sheet = labels_mod.sheet_job_create(user=request.user, codes=[a.code for a in assets], title=title,
                                            base_url=request.build_absolute_uri("/"), name=name)
        return redirect("verification:label-sheet", pk=sheet.pk)
    pdf = labels_mod.sheet_pdf(labels_mod.label_rows(assets, lambda a: label_url(request, a)), title=title)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _labels_refused(request, message: str):
    return render(request, "verification/office/labels_refused.html", {"message": message, "section": "labels"},
                  status=400)


def _label_sheet(request, pk: int) -> LabelSheet:
    sheet = get_object_or_404(LabelSheet, pk=pk)
    if sheet.user_id != request.user.pk:
        raise Http404
    return sheet


@require_GET
@staff_required
def label_sheet(request, pk: int):
    """A sheet made in the background: its progress (the page looks again every few seconds), then the PDF."""
    sheet = _label_sheet(request, pk)
    if request.GET.get("format") == "json":
        return JsonResponse({"status": sheet.status, "done": sheet.done, "total": sheet.total,
                             "ready": sheet.status == LabelSheet.Status.DONE})
    return render(request, "verification/office/label_sheet.html", {
        "sheet": sheet, "section": "labels", "percent": round(100 * sheet.done / sheet.total) if sheet.total else 0,
        "waiting": sheet.status in (LabelSheet.Status.PENDING, LabelSheet.Status.RUNNING)})


@require_GET
@staff_required
def label_sheet_pdf(request, pk: int):
    sheet = _label_sheet(request, pk)
    if sheet.status != LabelSheet.Status.DONE or not sheet.file:
        raise Http404
    response = FileResponse(sheet.file.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{sheet.name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---- campaigns (核查任务) ---------------------------------------------------------------------------------------

CAMPAIGN_AREA_LEVELS = (AreaLevel.TOWNSHIP, AreaLevel.VILLAGE)


class AreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, area):
        return f"{area.parent.name} · {area.name}" if area.level == AreaLevel.VILLAGE else area.name


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Campaign name"), max_length=200)
    kind = forms.ChoiceField(label=capfirst(gettext_lazy("kind")), choices=CampaignKind.choices)
    year = forms.IntegerField(label=capfirst(gettext_lazy("year")), min_value=2000, max_value=2100)
    area = AreaChoiceField(label=gettext_lazy("Scope"), required=False, empty_label=gettext_lazy("Whole county"),
                           queryset=AdminArea.objects.filter(level__in=CAMPAIGN_AREA_LEVELS).with_parent()
                           .order_by("code"))
    asset_types = forms.MultipleChoiceField(label=gettext_lazy("Asset types (none chosen: all)"), required=False,
                                            choices=AssetType.choices, widget=forms.CheckboxSelectMultiple)
    sample_share = forms.DecimalField(label=capfirst(gettext_lazy("share sampled per township (%)")), min_value=0,
                                      max_value=100, decimal_places=2, initial=10,
                                      help_text=gettext_lazy("An annual inventory takes every asset: not used."))
    top_value_count = forms.IntegerField(label=capfirst(gettext_lazy("highest-value assets always included per township")),
                                         min_value=0, max_value=1000, initial=3)
    seed = forms.IntegerField(label=capfirst(gettext_lazy("random seed")), min_value=0, max_value=2**31 - 1, initial=1,
                              help_text=gettext_lazy("The same scope, share and seed draw the same assets, so the "
                                                     "sample can be checked."))
    due_on = forms.DateField(label=capfirst(gettext_lazy("due on")), required=False, widget=forms.DateInput(attrs={"type": "date"}))


@require_GET
@staff_required
def campaign_list(request):
    campaigns = selectors.campaigns_visible_to(request.user).select_related("area").defer(*without_boundaries("area"))
    rows = []
    for campaign in campaigns[:200]:
        progress = selectors.campaign_progress(campaign, user=request.user)
        total, verified = sum(r["total"] for r in progress), sum(r["verified"] for r in progress)
        rows.append({"campaign": campaign, "total": total, "verified": verified,
                     "percent": round(100 * verified / total) if total else 0})
    return render(request, "verification/office/campaigns.html", {
        "rows": rows, "may_create": scope_for(request.user).is_county_admin, "section": "campaigns"})


@require_http_methods(["GET", "POST"])
@staff_required
def campaign_create(request):
    _county_admin(request)
    year = timezone.localdate().year
    form = CampaignForm(request.POST or None, initial={"year": year, "seed": year, "name": _("%(year)s annual asset verification") % {"year": year}})
    area = form.fields["area"]
    if services.campaign_default_county(request.user) is None:  # no "whole county": which county is the question
        area.required, area.empty_label = True, None
        area.queryset = AdminArea.objects.filter(level__in=(AreaLevel.COUNTY, *CAMPAIGN_AREA_LEVELS)).with_parent().order_by("code")
    area.queryset = area.queryset.in_counties_of(request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.campaign_create(
                actor=request.user, name=data["name"], kind=data["kind"], year=data["year"], area=data["area"],
                asset_types=data["asset_types"], sample_share=data["sample_share"],
                top_value_count=data["top_value_count"], seed=data["seed"], due_on=data["due_on"])
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            count = campaign.items.count()
            messages.success(request, ngettext("Created the verification campaign “%(name)s” with %(count)d asset.",
                                               "Created the verification campaign “%(name)s” with %(count)d assets.",
                                               count) % {"name": campaign.name, "count": count})
            return redirect("verification:campaign", pk=campaign.pk)
    return render(request, "verification/office/campaign_form.html", {"form": form, "section": "campaigns"}, status=400 if form.errors else 200)


def _campaign_rows(campaign, user) -> list[dict]:
    assignees = selectors.campaign_assignees(campaign, user)
    return [{**row, "assignees": assignees.get(row["code"], [])}
            for row in selectors.campaign_progress(campaign, user=user)]


def _verifiers(campaign) -> list:
    users = list(selectors.verifiers_assignable(campaign))
    for user in users:
        user.role_label = Role(user.role).label
    return users


@require_GET
@staff_required
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(selectors.campaigns_visible_to(request.user).select_related("area", "created_by")
                                 .defer(*without_boundaries("area")), pk=pk)
    rows = _campaign_rows(campaign, request.user)
    total, verified = sum(r["total"] for r in rows), sum(r["verified"] for r in rows)
    admin = scope_for(request.user).is_county_admin
    return render(request, "verification/office/campaign_detail.html", {
        "campaign": campaign, "rows": rows, "total": total, "verified": verified,
        "flagged": sum(r["flagged"] for r in rows), "percent": round(100 * verified / total) if total else 0,
        "type_labels": [AssetType(t).label for t in campaign.asset_types if t in AssetType.values],
        "may_assign": admin, "verifiers": _verifiers(campaign) if admin else [], "section": "campaigns",
    })


@require_POST
@staff_required
def campaign_assign(request, pk: int):
    _county_admin(request)
    campaign = get_object_or_404(selectors.campaigns_visible_to(request.user), pk=pk)
    assignee = selectors.verifiers_assignable(campaign).filter(pk=request.POST.get("assignee") or None).first()
    code = request.POST.get("village", "")
    village = AdminArea.objects.filter(code=code, level=AreaLevel.VILLAGE).first() if code else None
    if assignee is None or (code and village is None):
        messages.error(request, _("Choose the village and the verifier to assign."))
    else:
        try:
            count = services.campaign_assign(actor=request.user, campaign=campaign, assignee=assignee,
                                             village=village)
        except ValidationError as exc:
            messages.error(request, pgettext("message separator", "; ").join(exc.messages))
        else:
            if village is None:
                text = ngettext("Assigned all %(count)d asset to %(assignee)s.",
                                "Assigned all %(count)d assets to %(assignee)s.", count)
            else:
                text = ngettext("Assigned %(count)d asset of %(village)s to %(assignee)s.",
                                "Assigned %(count)d assets of %(village)s to %(assignee)s.", count)
            messages.success(request, text % {"count": count, "assignee": assignee,
                                              "village": village.name if village else ""})
    return redirect("verification:campaign", pk=campaign.pk)


@require_GET
@staff_required
def campaign_progress_geojson(request, pk: int):
    """The campaign's villages (simplified boundaries) with their progress, for the map coloured by progress."""
    campaign = get_object_or_404(selectors.campaigns_visible_to(request.user), pk=pk)
    rows = {r["code"]: r for r in selectors.campaign_progress(campaign, user=request.user)}
    villages = (AdminArea.objects.filter(code__in=rows.keys(), level=AreaLevel.VILLAGE).only("code")
                .with_shape_geojson(metres=SHAPE_METRES).order_by("code"))
    features = [{"type": "Feature", "id": v.code, "geometry": json.loads(v.shape_geojson), "properties": {
        key: rows[v.code][key] for key in ("code", "village", "township", "total", "verified", "flagged", "percent")}}
        for v in villages]
    return JsonResponse({"type": "FeatureCollection", "features": features},
                        json_dumps_params={"ensure_ascii": False})


EXPORT_COLUMNS = (gettext_lazy("township"), gettext_lazy("village"), gettext_lazy("statistical code"),
                  gettext_lazy("To verify"), gettext_lazy("Verified"), gettext_lazy("waiting for review"),
                  gettext_lazy("Done (%)"), gettext_lazy("last verified"), gettext_lazy("verifier"))


@require_GET
@staff_required
def campaign_export(request, pk: int, fmt: str):
    """The progress table as CSV (UTF-8 with BOM, for Excel) or XLSX; cells protected against formulas."""
    from geo_assets.spreadsheet import cell_protect

    if fmt not in ("csv", "xlsx"):
        raise Http404
    campaign = get_object_or_404(selectors.campaigns_visible_to(request.user), pk=pk)
    separator = pgettext("list separator", ", ")
    columns = [capfirst(str(column)) for column in EXPORT_COLUMNS]
    table = [[r["township"], r["village"], r["code"], r["total"], r["verified"], r["flagged"], r["percent"],
              timezone.localtime(r["last"]).strftime("%Y-%m-%d %H:%M") if r["last"] else "", separator.join(r["assignees"])]
             for r in _campaign_rows(campaign, request.user)]
    table = [[cell_protect(cell) for cell in row] for row in table]
    name = quote(_("%(campaign)s-progress.%(ext)s") % {"campaign": campaign.name, "ext": fmt})
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([columns, *table])
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        import openpyxl

        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = _("Verification progress")
        for row in [columns, *table]:
            sheet.append(list(row))
        out = io.BytesIO()
        workbook.save(out)
        response = HttpResponse(out.getvalue(), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = f"attachment; filename=\"progress.{fmt}\"; filename*=UTF-8''{name}"
    return response


# ---- review queue and problem list ----------------------------------------------------------------------------

def _flag_labels(record: Verification) -> list[str]:
    return [str(Flag(f).label) if f in Flag.values else f for f in record.flags]


@require_GET
@staff_required
def review_queue(request):
    queue = selectors.review_queue(request.user).select_related("campaign").prefetch_related("photos")
    redactor = Redactor(scope_for(request.user))
    records = list(queue.order_by("observed_at", "pk")[:REVIEW_PAGE])
    for record in records:
        record.asset_display_name = redactor.asset_name(record.asset)
        record.flag_labels = _flag_labels(record)
        record.distance_limit = DISTANCE_LIMIT_M.get(record.asset.asset_type)
        record.earlier = selectors.earlier_photo(record)
        record.may_apply_status = record.finding in services.STATUS_FROM_FINDING
    return render(request, "verification/office/review.html", {
        "records": records, "count": queue.count(), "reviewer": scope_for(request.user).role in REVIEWERS,
        "section": "review"})


@require_POST
@staff_required
def review_decide(request, pk: int):
    record = get_object_or_404(selectors.review_queue(request.user), pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        services.verification_review(actor=request.user, verification=record, approve=approve,
                                     comment=request.POST.get("comment", "")[:4000],
                                     apply_status=approve and request.POST.get("apply_status") == "on")
    except (ValidationError, PermissionDenied) as exc:
        text = pgettext("message separator", "; ").join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, _("%(code)s: %(message)s") % {"code": record.asset.code, "message": text})
    else:
        messages.success(request, (_("%(code)s: verification approved.") if approve
                                   else _("%(code)s: verification rejected.")) % {"code": record.asset.code})
    return redirect("verification:review")


@require_GET
@staff_required
def problems(request):
    redactor = Redactor(scope_for(request.user))
    records = list(selectors.problem_verifications(request.user).select_related("reviewed_by", "asset__village__parent")
                   .defer(*without_boundaries("asset__village__parent")).order_by("-observed_at")[:500])
    for record in records:
        record.asset_display_name = redactor.asset_name(record.asset)
    return render(request, "verification/office/problems.html", {"records": records, "section": "problems"})
