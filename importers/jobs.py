"""Running import jobs in the background (called by the importers_worker command)."""

import json
import logging
import shutil
import time
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from importers import services
from importers.models import ImportJob

log = logging.getLogger(__name__)
MAX_ERRORS_KEPT = 5000
PREVIEW_ROWS = 2000


def job_claim() -> ImportJob | None:
    """Take the oldest waiting job (safe with several workers: SKIP LOCKED)."""
    with transaction.atomic():
        job = (ImportJob.objects.select_for_update(skip_locked=True)
               .filter(status__in=[ImportJob.Status.PENDING_CHECK, ImportJob.Status.PENDING_IMPORT])
               .order_by("created_at").first())
        if job is None:
            return None
        job.status = (ImportJob.Status.CHECKING if job.status == ImportJob.Status.PENDING_CHECK
                      else ImportJob.Status.IMPORTING)
        job.save(update_fields=["status", "updated_at"])
        return job


def _progress_writer(job: ImportJob, *, only: str | None = None):
    """Progress into the job's small JSON file; `only="write"` keeps an import's quick re-check pass out of it,
    so the page shows how many rows have been written."""
    last = [0.0]

    def write(phase: str, done: int, total: int) -> None:
        if only and phase != only:
            return
        now = time.monotonic()
        if now - last[0] < 0.5 and done < total:
            return
        last[0] = now
        tmp = job.progress_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"phase": phase, "done": done, "total": total}), encoding="utf-8")
        tmp.replace(job.progress_file)

    return write


def _trim(data: dict) -> dict:
    errors = data.get("errors", [])
    if len(errors) > MAX_ERRORS_KEPT:
        data["errors"] = errors[:MAX_ERRORS_KEPT]
        data["errors_truncated"] = len(errors) - MAX_ERRORS_KEPT
    return data


def job_run(*, job: ImportJob) -> ImportJob:
    """Check (dry run with preview) or import, depending on the job's state."""
    checking = job.status == ImportJob.Status.CHECKING
    progress = _progress_writer(job, only=None if checking else "write")
    if job.kind == ImportJob.Kind.ASSETS:
        run = services.assets_import
        kwargs = dict(actor=job.user, path=Path(job.stored_path), name=job.original_name, layer=job.layer or None,
                      crs=job.crs or None, encoding=job.encoding or None, progress=progress)
    else:  # the project list and the fund ledger (tables, no map)
        run = services.projects_import if job.kind == ImportJob.Kind.PROJECTS else services.funds_import
        kwargs = dict(actor=job.user, path_or_file=Path(job.stored_path), name=job.original_name,
                      sheet=job.layer or None, encoding=job.encoding or None, progress=progress)
    try:
        if checking:
            report = run(dry_run=True, preview_limit=PREVIEW_ROWS, **kwargs)
            data = report.to_dict(with_preview=True)
            job.preview = data.pop("preview")
            job.check_report = _trim(data)
            job.status = ImportJob.Status.CHECKED
        else:
            report = run(skip_invalid=job.skip_invalid, **kwargs)
            job.report = _trim(report.to_dict())
            job.status = ImportJob.Status.DONE
    except services.LedgerUnreadable as exc:
        job.status, job.message = ImportJob.Status.FAILED, str(exc)
    except Exception as exc:  # a worker must survive one bad job
        log.exception("import job %s failed", job.pk)
        job.status, job.message = ImportJob.Status.FAILED, _("The import failed: %(error)s") % {"error": exc}
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        job_files_remove(job=job)
    job.save()
    return job


def job_files_remove(*, job: ImportJob) -> None:
    shutil.rmtree(job.folder, ignore_errors=True)
    job.stored_path = ""


def jobs_expire(*, hours: int = 24) -> int:
    """Checked uploads nobody confirmed within `hours`: remove their files and close them."""
    import datetime

    from django.utils import timezone

    cutoff = timezone.now() - datetime.timedelta(hours=hours)
    count = 0
    for job in ImportJob.objects.filter(status=ImportJob.Status.CHECKED, updated_at__lt=cutoff):
        job_files_remove(job=job)
        job.status, job.message = ImportJob.Status.FAILED, _(
            "Not confirmed within 24 hours, so it expired: please upload the file again")
        job.save()
        count += 1
    return count


def jobs_recover(*, stale_minutes: int = 15) -> int:
    """Jobs left running by a worker that died: put them back in the queue. Safe because a check writes nothing
    and an import is one transaction, so a dead worker's import left nothing behind. A running job's progress file
    is rewritten every few seconds; one untouched for `stale_minutes` has no worker any more."""
    import datetime

    from django.utils import timezone

    cutoff = timezone.now() - datetime.timedelta(minutes=stale_minutes)
    back = {ImportJob.Status.CHECKING: ImportJob.Status.PENDING_CHECK,
            ImportJob.Status.IMPORTING: ImportJob.Status.PENDING_IMPORT}
    count = 0
    with transaction.atomic():
        running = ImportJob.objects.select_for_update(skip_locked=True).filter(status__in=back, updated_at__lt=cutoff)
        for job in running:
            progress = job.progress_file
            touched = (datetime.datetime.fromtimestamp(progress.stat().st_mtime, tz=datetime.UTC)
                       if progress.exists() else job.updated_at)
            if touched >= cutoff:
                continue
            job.status = back[job.status]
            job.message = _("The last run was interrupted; the job is back in the queue")
            job.save(update_fields=["status", "message", "updated_at"])
            count += 1
    return count
