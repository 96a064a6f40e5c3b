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
from django.utils import translation
from django.views.decorators.http import require_GET, require_POST
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from geo_assets.access import scope_for
from geo_assets.filters import asset_filters_parse
from geo_assets.models import AdminArea
from geo_assets.uploads import upload_rule
from importers import jobs, ledger_template, readers, services, vocab
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


@upload_rule(allowed=lambda user: scope_for(user).edits_anything, denied="您的账户没有导入资产的权限。",
             file_bytes=lambda: settings.IMPORT_MAX_UPLOAD_BYTES, stops_at_file_limit=True)
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
    report = job.report or {}
    report_links = [("新增的资产", report.get("created_codes"), report.get("created", 0)),
                    ("更新的资产", report.get("updated_codes"), report.get("updated", 0))]
    return render(request, "importers/job.html", {
        "job": job, "rows": rows, "columns": columns, "check": job.check_report or {}, "report": report,
        "report_links": report_links,
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
        messages.info(request, "该导入任务已确认或已结束，不能再次确认。")
        return redirect("importers:job", pk=job.pk)
    skip = request.POST.get("skip_invalid") == "on"
    if (job.check_report or {}).get("invalid") and not skip:
        messages.error(request, "文件有无效行，未导入：请修改文件后重新上传，或勾选“跳过无效行，只导入有效行”后再确认。")
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


class UserExportThrottle(UserRateThrottle):
    """Logged-in users too, per account (DRF's throttles: the address comes from get_ident and NUM_PROXIES)."""

    scope = "export_user"

    def get_rate(self):
        return settings.EXPORT_RATE_USER


FILTER_LABELS = {"township": "乡镇", "village": "村", "category": "资产类别", "type": "资产类型", "status": "资产状态",
                 "year_min": "建成年份（起）", "year_max": "建成年份（止）", "verified": "核查", "bbox": "范围"}


def _text_response(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_GET
def export(request):
    """/import/export/?format=xlsx&village=…&type=road,… — what the user may see (public: published, without
    personal data), narrowed by the map's filters (geo_assets.filters: the same parameters as the tiles)."""
    throttle = UserExportThrottle() if request.user.is_authenticated else AnonymousExportThrottle()
    if not throttle.allow_request(request, None):
        response = _text_response("导出过于频繁，请稍后再试。", 429)
        wait = throttle.wait()
        if wait:
            response["Retry-After"] = str(int(wait) + 1)
        return response
    fmt = request.GET.get("format", "xlsx").lower()
    if fmt not in services.EXPORT_FORMATS:
        return _text_response(f"不支持的导出格式：{fmt}（可选：{'、'.join(services.EXPORT_FORMATS)}）", 400)
    try:
        with translation.override("zh-hans"):  # the messages of geo_assets.filters, in the ledger's language
            filters = asset_filters_parse(request.GET)
    except ValidationError as exc:
        problems = "；".join(f"{FILTER_LABELS.get(k, k)}：{'，'.join(v)}" for k, v in exc.message_dict.items())
        return _text_response(f"筛选条件有误（{problems}）", 400)
    suffix = {"shp": ".zip"}.get(fmt, f".{fmt}")
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = Path(tmp) / f"export{suffix}"
        services.assets_export(actor=request.user, path=path, fmt=fmt, filters=filters)
        handle = path.open("rb")
        os.unlink(path)  # the open handle keeps the data until the response is sent
    # one village (or else one township) chosen: the file is named after it
    codes = filters.villages if len(filters.villages) == 1 else filters.townships if len(filters.townships) == 1 else ()
    area = AdminArea.objects.filter(code__in=codes).first() if codes else None
    filename = f"资产台账{'_' + area.name if area else ''}{suffix}"
    return FileResponse(handle, as_attachment=True, filename=filename,
                        content_type=CONTENT_TYPES.get(fmt) or mimetypes.guess_type(filename)[0])


@login_required
@require_GET
def template_download(request):
    """/import/template.xlsx: the ledger columns with one example row (valid on this system) and a sheet of
    instructions and accepted values."""
    _require_editor(request.user)
    with tempfile.TemporaryDirectory(prefix="template-") as tmp:
        path = Path(tmp) / "template.xlsx"
        ledger_template.template_write(path)
        handle = path.open("rb")
        os.unlink(path)
    return FileResponse(handle, as_attachment=True, filename="资产台账导入模板.xlsx", content_type=CONTENT_TYPES["xlsx"])
