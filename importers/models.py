"""Background import jobs for the browser: upload → check (preview) → confirm → import → report.

A plain DB-backed queue; `python manage.py importers_worker` runs the jobs. Progress is written to a small
JSON file next to the upload, because the import itself runs inside one database transaction whose writes
other processes cannot see until it commits.
"""

import json
import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        ASSETS = "assets", _("asset ledger")
        PROJECTS = "projects", _("project list")
        FUNDS = "funds", _("fund ledger")

    class Status(models.TextChoices):
        PENDING_CHECK = "pending_check", _("waiting to be checked")
        CHECKING = "checking", _("checking")
        CHECKED = "checked", _("checked, waiting for confirmation")
        PENDING_IMPORT = "pending_import", _("waiting to be imported")
        IMPORTING = "importing", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs")
    kind = models.CharField(_("ledger"), max_length=10, choices=Kind.choices, default=Kind.ASSETS)
    original_name = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    size = models.BigIntegerField(default=0)
    crs = models.CharField(_("coordinate system"), max_length=40, blank=True)
    encoding = models.CharField(_("encoding"), max_length=40, blank=True)
    layer = models.CharField(_("layer or sheet"), max_length=100, blank=True)
    skip_invalid = models.BooleanField(_("import valid rows, skip invalid ones"), default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_CHECK)
    check_report = models.JSONField(null=True, blank=True)
    preview = models.JSONField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def folder(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "imports" / str(self.id)

    @property
    def progress_file(self) -> Path:
        return self.folder / "progress.json"

    def progress(self) -> dict:
        try:
            return json.loads(self.progress_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"phase": "", "done": 0, "total": 0}
