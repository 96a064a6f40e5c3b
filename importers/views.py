"""Browser pages: upload → preview (map + table) → confirm → progress → report; and the export download."""

import mimetypes
import os
import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_POST
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from geo_assets.filters import asset_filters_parse
from geo_assets.guards import WindowCount
from geo_assets.models import AdminArea
from geo_assets.uploads import upload_rule
from importers import jobs, ledger_template, readers, services, vocab
from importers.coords import crs_parse
from importers.models import ImportJob
from importers.report import joined

UPLOAD_EXTS = sorted(readers.SUPPORTED_EXTS - {".shp", ".txt"})
TABLE_UPLOAD_EXTS = [".csv", ".xlsx", ".xlsm"]  # the project list and the fund ledger are tables


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Ledger"), choices=ImportJob.Kind.choices, required=False,
                             widget=forms.RadioSelect)
    file = forms.FileField(label=gettext_lazy("Ledger file"))
    crs = forms.CharField(label=gettext_lazy("Coordinate system"), required=False, max_length=40,
                          help_text=gettext_lazy("Leave empty: the file's own coordinate system; tables are in longitude "
                                                 "and latitude. You may give EPSG:4527, gcj02 (Amap/Tencent), bd09 "
                                                 "(Baidu)"))
    encoding = forms.CharField(label=gettext_lazy("Text encoding"), required=False, max_length=40,
                               help_text=gettext_lazy("Leave empty to detect it, e.g. GBK"))
    layer = forms.CharField(label=gettext_lazy("Layer/sheet"), required=False, max_length=100)

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        # the field takes any kind (clean_kind says which the user may not); the page offers theirs
        self.fields["kind"].widget.choices = [(k, label) for k, label in ImportJob.Kind.choices if k in kinds]
        self.fields["kind"].initial = kinds[0] if kinds else None
        if "assets" not in kinds:  # the project list and the fund ledger are tables without coordinates
            del self.fields["crs"]

    def clean_kind(self):
        """What the user may import (importers.services.kinds_for); an old form without the field: the first."""
        kind = self.cleaned_data.get("kind") or (self.kinds[0] if self.kinds else "")
        if kind not in self.kinds:
            raise forms.ValidationError(_("Your account may not import this kind of ledger."))
        return kind

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None and cleaned.get("kind") not in (None, ImportJob.Kind.ASSETS):
            ext = Path(upload.name).suffix.lower()
            if ext not in TABLE_UPLOAD_EXTS:
                self.add_error("file", _("A project list or fund ledger is a table: upload it as %(exts)s.")
                               % {"exts": joined(TABLE_UPLOAD_EXTS)})
        return cleaned

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("The file is too large (%(size).1f MB); the limit is %(limit).0f MB.")
                                        % {"size": upload.size / 1024**2, "limit": limit / 1024**2})
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        ext = Path(upload.name).suffix.lower()
        if ext == ".shp":
            raise forms.ValidationError(_("For a shapefile, zip its .shp/.dbf/.shx/.prj/.cpg into one .zip and upload "
                                          "that."))
        if ext not in UPLOAD_EXTS:
            raise forms.ValidationError(_("Unsupported file type %(ext)s: you may upload %(exts)s.")
                                        % {"ext": ext or _("(no extension)"), "exts": joined(UPLOAD_EXTS)})
        return upload

    def clean_crs(self):
        value = self.cleaned_data["crs"].strip()
        try:
            crs_parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc))
        return value


def _require_editor(user, kind: str = ImportJob.Kind.ASSETS) -> None:
    refusal = services.import_refusal(user, kind)
    if refusal is not None:
        raise PermissionDenied(refusal)


def _imports_something(user) -> bool:
    """The upload page is for whoever may import a ledger of some kind: assets (an editing role), the project list
    (a line department, a county administrator) or the fund ledger (also the finance bureau)."""
    return bool(services.kinds_for(user))


def _job_for(request, pk) -> ImportJob:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.user_id != request.user.pk and not request.user.is_superuser:
        raise Http404
    return job


@upload_rule(allowed=lambda user: _imports_something(user),
             denied=gettext_lazy("Your account may not import assets."),  # nor any other ledger
             file_bytes=lambda: settings.IMPORT_MAX_UPLOAD_BYTES, stops_at_file_limit=True)
@login_required
def upload(request):
    kinds = services.kinds_for(request.user)
    if not kinds:
        raise PermissionDenied(_("Your account may not import assets."))
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None, kinds=kinds)
    if getattr(request, "upload_too_large", False):  # importers.uploads stopped reading it
        form.is_valid()
        form.errors.pop("file", None)
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        form.add_error("file", _("The file is too large; the limit is %(limit).1f MB.") % {"limit": limit / 1024**2})
    elif posted and form.is_valid():
        upload_file = form.cleaned_data["file"]
        job = ImportJob(user=request.user, kind=form.cleaned_data["kind"],
                        original_name=Path(upload_file.name).name[:255], size=upload_file.size,
                        crs=form.cleaned_data.get("crs", ""), encoding=form.cleaned_data["encoding"].strip(),
                        layer=form.cleaned_data["layer"].strip())
        job.folder.mkdir(parents=True, exist_ok=True)
        stored = job.folder / f"upload{Path(upload_file.name).suffix.lower()}"
        readers.copy_upload(upload_file, stored)
        try:
            readers.file_check(stored, job.original_name)
        except readers.LedgerUnreadable as exc:
            jobs.job_files_remove(job=job)
            form.add_error("file", str(exc))
        else:
            job.stored_path = str(stored)
            job.save()
            return redirect("importers:job", pk=job.pk)
    recent = ImportJob.objects.filter(user=request.user)[:10]
    templates = [(kind, label, reverse("importers:template_kind", args=[kind]) if kind != ImportJob.Kind.ASSETS
                  else reverse("importers:template")) for kind, label in ImportJob.Kind.choices if kind in kinds]
    return render(request, "importers/upload.html", {
        "form": form, "recent": recent, "exts": joined(UPLOAD_EXTS), "table_exts": joined(TABLE_UPLOAD_EXTS),
        "kinds": kinds, "templates": templates, "assets": ImportJob.Kind.ASSETS in kinds})


@login_required
def job_detail(request, pk):
    job = _job_for(request, pk)
    rows = []
    if job.preview:
        invalid_first = sorted(job.preview, key=lambda r: (not r["errors"], r["row"]))
        rows = invalid_first[:500]
    ledger_columns = {ImportJob.Kind.PROJECTS: vocab.PROJECT_COLUMNS, ImportJob.Kind.FUNDS: vocab.FUND_COLUMNS}.get(
        job.kind, vocab.TABLE_COLUMNS)
    columns = [c for c in ledger_columns if c != vocab.WKT and any(c in r["values"] for r in rows)]
    for r in rows:
        r["cells"] = [r["values"].get(c, "") for c in columns]
    report = job.report or {}
    if job.kind == ImportJob.Kind.ASSETS:
        report_links = [(_("Assets created"), report.get("created_codes"), report.get("created", 0)),
                        (_("Assets updated"), report.get("updated_codes"), report.get("updated", 0))]
    else:  # project codes (of the projects, or of the projects whose fund lines were written)
        report_links = [(_("Projects created") if job.kind == ImportJob.Kind.PROJECTS else
                         _("Projects with new fund lines"), report.get("created_codes"), report.get("created", 0)),
                        (_("Projects updated") if job.kind == ImportJob.Kind.PROJECTS else
                         _("Projects with changed fund lines"), report.get("updated_codes"), report.get("updated", 0))]
    return render(request, "importers/job.html", {
        "job": job, "rows": rows, "columns": columns, "check": job.check_report or {}, "report": report,
        "report_links": report_links, "on_map": job.kind == ImportJob.Kind.ASSETS,
        "waiting": job.status in (ImportJob.Status.PENDING_CHECK, ImportJob.Status.CHECKING,
                                  ImportJob.Status.PENDING_IMPORT, ImportJob.Status.IMPORTING),
        "worker_command": "python manage.py importers_worker",
    })


@login_required
@require_GET
def job_status(request, pk):
    job = _job_for(request, pk)
    progress = job.progress()
    if job.status in (ImportJob.Status.PENDING_IMPORT, ImportJob.Status.IMPORTING) and progress.get("phase") != "write":
        # confirmed: rows written so far (none yet), never the finished check's 100 %
        progress = {"phase": "write", "done": 0, "total": (job.check_report or {}).get("read", 0)}
    total = progress.get("total") or 0
    percent = int(100 * progress.get("done", 0) / total) if total else 0
    if job.status in (ImportJob.Status.CHECKED, ImportJob.Status.DONE, ImportJob.Status.FAILED):
        percent = 100
    phase = pgettext("import phase", "Writing") if progress.get("phase") == "write" else pgettext("import phase",
                                                                                                 "Checking")
    text = _("%(phase)s: %(done)s / %(total)s rows") % {"phase": phase, "done": progress.get("done", 0), "total": total}
    return JsonResponse({"status": job.status, "label": str(job.get_status_display()), "phase": progress.get("phase"),
                         "done": progress.get("done", 0), "total": total, "percent": percent, "text": text})


@login_required
@require_GET
def job_preview(request, pk):
    job = _job_for(request, pk)
    features = [
        {"type": "Feature", "geometry": r["geometry"],
         "properties": {"row": r["row"], "label": _("Row %(row)s") % {"row": r["row"]},
                        "name": r["values"].get(vocab.NAME, ""), "invalid": bool(r["errors"])}}
        for r in (job.preview or []) if r.get("geometry")
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@login_required
@require_POST
def job_confirm(request, pk):
    job = _job_for(request, pk)
    _require_editor(request.user, job.kind)
    if job.status != ImportJob.Status.CHECKED:
        messages.info(request, _("This import has been confirmed or has ended already; it cannot be confirmed again."))
        return redirect("importers:job", pk=job.pk)
    skip = request.POST.get("skip_invalid") == "on"
    if (job.check_report or {}).get("invalid") and not skip:
        messages.error(request, _("The file has invalid rows and was not imported: correct the file and upload it again, "
                                 "or tick “Skip invalid rows, import only the valid ones” and confirm again."))
        return redirect("importers:job", pk=job.pk)
    job.progress_file.unlink(missing_ok=True)  # the page shows the import's progress, not the check's
    job.skip_invalid = skip
    job.status = ImportJob.Status.PENDING_IMPORT
    job.save(update_fields=["skip_invalid", "status", "updated_at"])
    return redirect("importers:job", pk=job.pk)


@login_required
@require_POST
def job_cancel(request, pk):
    job = _job_for(request, pk)
    if job.status in (ImportJob.Status.CHECKED, ImportJob.Status.PENDING_CHECK):
        jobs.job_files_remove(job=job)
        job.status, job.message = ImportJob.Status.FAILED, _("Cancelled by the user")
        job.save()
    return redirect("importers:upload")


CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml", "shp": "application/zip",
}


class AnonymousExportThrottle(WindowCount, AnonRateThrottle):
    """Building a whole-county file is heavy: the public gets a few exports an hour per address."""

    scope = "export_anon"
    window = "exports"

    def get_rate(self):
        return settings.EXPORT_RATE_ANON


class UserExportThrottle(WindowCount, UserRateThrottle):
    """Logged-in users too, per account (DRF's throttles: the address comes from get_ident and NUM_PROXIES)."""

    scope = "export_user"
    window = "exports"

    def get_rate(self):
        return settings.EXPORT_RATE_USER


FILTER_LABELS = {"township": gettext_lazy("township"), "village": gettext_lazy("village"),
                 "category": gettext_lazy("category"), "type": gettext_lazy("asset type"),
                 "status": gettext_lazy("status"), "year_min": gettext_lazy("year built (from)"),
                 "year_max": gettext_lazy("year built (to)"), "verified": gettext_lazy("verification (filter)"),
                 "bbox": gettext_lazy("extent (filter)")}


def _text_response(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_GET
def export(request):
    """/import/export/?format=xlsx&village=…&type=road,… — what the user may see (public: published, without
    personal data), narrowed by the map's filters (geo_assets.filters: the same parameters as the tiles)."""
    throttle = UserExportThrottle() if request.user.is_authenticated else AnonymousExportThrottle()
    if not throttle.allow_request(request, None):
        response = _text_response(_("Too many exports; please try again later."), 429)
        wait = throttle.wait()
        if wait:
            response["Retry-After"] = str(int(wait) + 1)
        return response
    fmt = request.GET.get("format", "xlsx").lower()
    if fmt not in services.EXPORT_FORMATS:
        return _text_response(_("Unsupported export format: %(format)s (choose from: %(formats)s)")
                              % {"format": fmt, "formats": joined(services.EXPORT_FORMATS)}, 400)
    try:
        filters = asset_filters_parse(request.GET)  # its messages in the request's language
    except ValidationError as exc:
        problems = pgettext("list separator", "; ").join(
            _("%(field)s: %(problems)s") % {"field": FILTER_LABELS.get(k, k),
                                            "problems": pgettext("clause separator", ", ").join(v)}
            for k, v in exc.message_dict.items())
        return _text_response(_("Invalid filters (%(problems)s)") % {"problems": problems}, 400)
    suffix = {"shp": ".zip"}.get(fmt, f".{fmt}")
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = Path(tmp) / f"export{suffix}"
        try:
            services.assets_export(actor=request.user, path=path, fmt=fmt, filters=filters,
                                   limit=settings.EXPORT_MAX_ASSETS)
        except services.ExportTooLarge as exc:
            return _text_response(str(exc), 400)
        handle = path.open("rb")
        os.unlink(path)  # the open handle keeps the data until the response is sent
    # one village (or else one township) chosen: the file is named after it
    codes = filters.villages if len(filters.villages) == 1 else filters.townships if len(filters.townships) == 1 else ()
    area = AdminArea.objects.filter(code__in=codes).first() if codes else None
    filename = f"{_('asset-ledger')}{'_' + area.name if area else ''}{suffix}"
    return FileResponse(handle, as_attachment=True, filename=filename,
                        content_type=CONTENT_TYPES.get(fmt) or mimetypes.guess_type(filename)[0])


@login_required
@require_GET
def template_download(request, kind: str = ImportJob.Kind.ASSETS):
    """/import/template.xlsx (assets), /import/template/projects.xlsx, /import/template/funds.xlsx: the ledger's
    columns with one example row (valid on this system) and a sheet of instructions and accepted values."""
    if kind not in ImportJob.Kind.values:
        raise Http404
    _require_editor(request.user, kind)
    with tempfile.TemporaryDirectory(prefix="template-") as tmp:
        path = Path(tmp) / "template.xlsx"
        ledger_template.template_write(path, kind=kind)
        handle = path.open("rb")
        os.unlink(path)
    filename = {ImportJob.Kind.PROJECTS: _("project-list-import-template.xlsx"),
                ImportJob.Kind.FUNDS: _("fund-ledger-import-template.xlsx")}.get(
        kind, _("asset-ledger-import-template.xlsx"))
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=CONTENT_TYPES["xlsx"])
