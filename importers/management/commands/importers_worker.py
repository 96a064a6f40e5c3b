import time

from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from importers import jobs
from verification import labels


class Command(BaseCommand):
    help = ("Run browser import jobs in the background (check, then import after the clerk confirms), and large QR "
            "label sheets (verification.labels).")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run the waiting jobs, then exit")
        parser.add_argument("--sleep", type=float, default=2.0, help="seconds between polls when idle")

    def handle(self, *args, **opts):
        jobs.jobs_expire()
        recovered = jobs.jobs_recover()
        if recovered:
            self.stdout.write(ngettext("Requeued %(count)s interrupted job", "Requeued %(count)s interrupted jobs",
                                       recovered) % {"count": recovered})
        idle = 0
        while True:
            job = jobs.job_claim()
            sheet = None if job is not None else labels.sheet_job_claim()
            if sheet is not None:
                sheet = labels.sheet_job_run(sheet=sheet)
                self.stdout.write(f"{sheet.title}: {sheet.get_status_display()}")
                continue
            if job is None:
                if opts["once"]:
                    return
                time.sleep(opts["sleep"])
                idle += 1
                if idle % 150 == 0:
                    jobs.jobs_recover()
                if idle % 1800 == 0:
                    jobs.jobs_expire()
                continue
            job = jobs.job_run(job=job)
            self.stdout.write(f"{job.original_name}: {job.get_status_display()}")
