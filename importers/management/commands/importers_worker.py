import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connection
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from geo_assets import background
from importers import jobs
from importers.heartbeat import heartbeat_start

RETRY_S = 2.0  # seconds between attempts while the database does not answer


class Command(BaseCommand):
    help = ("Run browser import jobs in the background (check, then import after the clerk confirms), and large QR "
            "label sheets (every kind an app registers in geo_assets.background).")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run the waiting jobs, then exit")
        parser.add_argument("--sleep", type=float, default=2.0, help="seconds between polls when idle")

    def handle(self, *args, **opts):
        if settings.DB_POOL_MODE == "transaction":
            # a job's advisory lock (importers/jobs.py) lives in the worker's session: behind a pooler in transaction
            # mode it would stay on a server connection the worker no longer has
            raise CommandError(_("The import worker holds a lock per job in its database session: connect it to "
                                 "PostgreSQL itself (DB_POOL_MODE=session and a DATABASE_URL that does not go "
                                 "through the transaction pooler; deploy/README.md, PgBouncer)."))
        if not opts["once"]:
            heartbeat_start()  # read by the readiness probe, /readyz
        jobs.jobs_expire()
        recovered = jobs.jobs_recover()
        if recovered:
            self.stdout.write(ngettext("Requeued %(count)s interrupted job", "Requeued %(count)s interrupted jobs",
                                       recovered) % {"count": recovered})
        idle = 0
        while True:
            try:
                job = jobs.job_claim()
                other = None if job is not None else background.next_item()
                if other is not None:
                    kind, item = other
                    self.stdout.write(kind.run(item))
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
            except (OperationalError, InterfaceError) as exc:
                # The database restarting: wait for it instead of dying (a job cut off is rolled back, its lock
                # gone with the connection: requeued by the recovery below once the database answers).
                if opts["once"]:
                    raise
                self.stderr.write(f"database unavailable ({type(exc).__name__}), trying again in {RETRY_S:.0f} s")
                connection.close()
                time.sleep(RETRY_S)
                idle = 149
