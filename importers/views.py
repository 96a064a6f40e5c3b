"""Browser pages: upload → preview (map + table) → confirm → progress → report; and the export download."""

import mimetypes
import os
import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from rest_framework.throttling import AnonRateThrottle

from geo_assets.access import scope_for
from geo_assets.models import AdminArea
from importers import jobs, readers, services, vocab
from importers.coords import crs_parse
from importers.models import ImportJob

UPLOAD_EXTS = sorted(readers.SUPPORTED_EXTS - {".shp", ".txt"})


class UploadForm(forms.Form):
    file = forms.FileField(label="台账文件")
    crs = forms.CharField(label="坐标系", required=False, max_length=40,
                          help_text="留空：使用文件自带坐标系；表格为经纬度。可填 EPSG:4527、gcj02（高德/腾讯）、bd09（百度）")
    encoding = forms.CharField(label="文字编码", required=False, max_length=40, help_text="留空自动识别，如 GBK")
    layer = forms.CharField(label="图层/工作表", required=False, max_length=100)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"文件太大（{upload.size / 1024**2:.1f} MB），上限 {limit / 1024**2:.0f} MB。")
        if upload.size == 0:
            raise forms.ValidationError("文件是空的。")
        ext = Path(upload.name).suffix.lower()
        if ext == ".shp":
            raise forms.ValidationError("Shapefile 请把 .shp/.dbf/.shx/.prj/.cpg 打包成一个 .zip 上传。")
        if ext not in UPLOAD_EXTS:
            raise forms.ValidationError(f"不支持的文件类型 {ext or '（无扩展名）'}：可上传 {'、'.join(UPLOAD_EXTS)}。")
        return upload

    def clean_crs(self):
        value = self.cleaned_data["crs"].strip()
        try:
            crs_parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc))
        return value


def _require_editor(user) -> None:
    if not scope_for(user).edits_anything:
        raise PermissionDenied("您的账户没有导入资产的权限。")


def _job_for(request, pk) -> ImportJob:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.user_id != request.user.pk and not request.user.is_superuser:
        raise Http404
    return job


@login_required
def upload(request):
    _require_editor(request.user)
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if getattr(request, "upload_too_large", False):  # importers.uploads stopped reading it
        form.is_valid()
        form.errors.pop("file", None)
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        form.add_error("file", f"文件太大，上限 {limit / 1024**2:.1f} MB。")
    elif posted and form.is_valid():
        upload_file = form.cleaned_data["file"]
        job = ImportJob(user=request.user, original_name=Path(upload_file.name).name[:255], size=upload_file.size,
                        crs=form.cleaned_data["crs"], encoding=form.cleaned_data["encoding"].strip(),
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
    return render(request, "importers/upload.html", {"form": form, "recent": recent,
                                                      "exts": "、".join(UPLOAD_EXTS)})


@login_required
def job_detail(request, pk):
    job = _job_for(request, pk)
    rows = []
    if job.preview:
        invalid_first = sorted(job.preview, key=lambda r: (not r["errors"], r["row"]))
        rows = invalid_first[:500]
    columns = [c for c in vocab.TABLE_COLUMNS if c != vocab.WKT and any(c in r["values"] for r in rows)]
    for r in rows:
        r["cells"] = [r["values"].get(c, "") for c in columns]
    return render(request, "importers/job.html", {
        "job": job, "rows": rows, "columns": columns, "check": job.check_report or {}, "report": job.report or {},
        "waiting": job.status in (ImportJob.Status.PENDING_CHECK, ImportJob.Status.CHECKING,
                                  ImportJob.Status.PENDING_IMPORT, ImportJob.Status.IMPORTING),
        "worker_command": "python manage.py importers_worker",
    })


@login_required
@require_GET
def job_status(request, pk):
    job = _job_for(request, pk)
    progress = job.progress()
    total = progress.get("total") or 0
    percent = int(100 * progress.get("done", 0) / total) if total else 0
    if job.status in (ImportJob.Status.CHECKED, ImportJob.Status.DONE, ImportJob.Status.FAILED):
        percent = 100
    return JsonResponse({"status": job.status, "label": str(job.get_status_display()), "phase": progress.get("phase"),
                         "done": progress.get("done", 0), "total": total, "percent": percent})


@login_required
@require_GET
def job_preview(request, pk):
    job = _job_for(request, pk)
    features = [
        {"type": "Feature", "geometry": r["geometry"],
         "properties": {"row": r["row"], "name": r["values"].get(vocab.NAME, ""), "invalid": bool(r["errors"])}}
        for r in (job.preview or []) if r.get("geometry")
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@login_required
@require_POST
def job_confirm(request, pk):
    job = _job_for(request, pk)
    _require_editor(request.user)
    if job.status != ImportJob.Status.CHECKED:
        return HttpResponseBadRequest("该导入任务不在等待确认的状态。")
    skip = request.POST.get("skip_invalid") == "on"
    if (job.check_report or {}).get("invalid") and not skip:
        return HttpResponseBadRequest("文件有无效行：请修改文件后重新上传，或勾选“跳过无效行”。")
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
        job.status, job.message = ImportJob.Status.FAILED, "已取消"
        job.save()
    return redirect("importers:upload")


CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml", "shp": "application/zip",
}


class AnonymousExportThrottle(AnonRateThrottle):
    """Building a whole-county file is heavy: the public gets a few exports an hour per address."""

    scope = "export_anon"

    def get_rate(self):
        return settings.EXPORT_RATE_ANON


@require_GET
def export(request):
    """/import/export/?format=xlsx&township=410324101&village=… — what the user may see (public: published)."""
    if not request.user.is_authenticated and not AnonymousExportThrottle().allow_request(request, None):
        return HttpResponse("导出过于频繁，请稍后再试。", status=429, content_type="text/plain; charset=utf-8")
    fmt = request.GET.get("format", "xlsx").lower()
    if fmt not in services.EXPORT_FORMATS:
        return HttpResponseBadRequest(f"不支持的导出格式：{fmt}")
    township, village = request.GET.get("township") or None, request.GET.get("village") or None
    suffix = {"shp": ".zip"}.get(fmt, f".{fmt}")
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = Path(tmp) / f"export{suffix}"
        try:
            services.assets_export(actor=request.user, path=path, fmt=fmt, township=township, village=village)
        except services.LedgerUnreadable as exc:
            return HttpResponseBadRequest(str(exc))
        handle = path.open("rb")
        os.unlink(path)  # the open handle keeps the data until the response is sent
    area = AdminArea.objects.filter(code__in=[c for c in (village, township and township.ljust(12, "0")) if c]).first()
    filename = f"资产台账{'_' + area.name if area else ''}{suffix}"
    return FileResponse(handle, as_attachment=True, filename=filename,
                        content_type=CONTENT_TYPES.get(fmt) or mimetypes.guess_type(filename)[0])
