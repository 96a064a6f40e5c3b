"""The shared body of import_projects and import_funds: arguments in, importers.services out, the exit status of
import_assets (0 imported, 1 invalid rows and nothing written, 2 unreadable or refused)."""

from django.core.management.base import BaseCommand, CommandError

from importers import services
from importers.management.commands._base import exit_for, report_emit


class LedgerCommand(BaseCommand):
    importer = None  # services.projects_import or services.funds_import

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--sheet", help="sheet name (XLSX; default: the first)")
        parser.add_argument("--encoding", help="text encoding of a CSV file, e.g. GBK")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="write the valid rows, report the rest")
        parser.add_argument("--report", help="write the report as JSON to this file")
        parser.add_argument("--user", help="act as this user (default: a county administrator)")

    def handle(self, *args, **opts):
        def progress(phase: str, done: int, total: int) -> None:
            if phase == "check" and done % 10000 and done < total:
                return
            self.stderr.write(f"{phase} {done}/{total}")

        try:
            actor = services.actor_resolve(username=opts["user"])
            report = type(self).importer(
                actor=actor, path_or_file=opts["path"], sheet=opts["sheet"], encoding=opts["encoding"],
                dry_run=opts["dry_run"], skip_invalid=opts["skip_invalid"], progress=progress)
        except services.LedgerUnreadable as exc:
            raise CommandError(str(exc), returncode=2)
        report_emit(self, report, opts["report"])
        exit_for(report, skip_invalid=opts["skip_invalid"])
