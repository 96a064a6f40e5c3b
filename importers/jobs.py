"""Running import jobs in the background (called by the importers_worker command)."""

import json
import logging
import shutil
import time
import zlib
from pathlib import Path

from django.db import connection, transaction
from django.utils.translation import gettext as _

from importers import services
from importers.models import ImportJob

log = logging.getLogger(__name__)
MAX_ERRORS_KEPT = 5000
PREVIEW_ROWS = 2000
# A worker holds the advisory lock (LOCK_CLASS, the job's key) while it runs a job: PostgreSQL releases it when the
# worker's connection ends, so a job whose lock nobody holds was left by a worker that died (killed, OOM, reboot).
LOCK_CLASS = 20_2003


def _lock_key(job: ImportJob) -> int:
    return zlib.crc32(str(job.pk).encode()) & 0x7FFFFFFF


def _job_lock(job: ImportJob, *, take: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_{'' if take else 'un'}lock(%s, %s)", [LOCK_CLASS, _lock_key(job)])


def job_running_somewhere(job: ImportJob) -> bool:
    """Does a live worker (any session, this one included) hold the job's lock?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                       "AND objid = %s AND objsubid = 2 AND granted)", [LOCK_CLASS, _lock_key(job)])
        return cursor.fetchone()[0]


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
        _job_lock(job, take=True)  # before the claim commits: a running job is never seen without its lock
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
    _job_lock(job, take=False)
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
    and an import is one transaction, so a dead worker's import left nothing behind. A running job whose lock no
    worker holds (job_running_somewhere) is requeued at once — a worker restarted after a crash resumes it; one
    whose progress file is untouched for `stale_minutes` too (a worker hung)."""
    import datetime

    from django.utils import timezone

    cutoff = timezone.now() - datetime.timedelta(minutes=stale_minutes)
    back = {ImportJob.Status.CHECKING: ImportJob.Status.PENDING_CHECK,
            ImportJob.Status.IMPORTING: ImportJob.Status.PENDING_IMPORT}
    count = 0
    with transaction.atomic():
        running = ImportJob.objects.select_for_update(skip_locked=True).filter(status__in=back)
        for job in running:
            progress = job.progress_file
            touched = (datetime.datetime.fromtimestamp(progress.stat().st_mtime, tz=datetime.UTC)
                       if progress.exists() else job.updated_at)
            stale = job.updated_at < cutoff and touched < cutoff
            if not stale and job_running_somewhere(job):
                continue
            job.status = back[job.status]
            job.message = _("The last run was interrupted; the job is back in the queue")
            job.save(update_fields=["status", "message", "updated_at"])
            count += 1
    return count
