from django.core.management.base import BaseCommand, CommandError

from importers import services
from importers.management.commands._base import exit_for, report_emit


class Command(BaseCommand):
    # The column names in the help are the boundary file's (importers.areas.AREA_HEADERS), the same in any language.
    help = ("Load administrative boundaries (codes 乡镇代码/村代码, names 乡镇名称/村名称). "  # i18n: data
            "Exit 0 ok, 1 invalid, 2 unreadable.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--level", required=True, choices=["county", "township", "village"])
        parser.add_argument("--layer")
        parser.add_argument("--crs")
        parser.add_argument("--encoding")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--report")
        parser.add_argument("--user")

    def handle(self, *args, **opts):
        try:
            actor = services.actor_resolve(username=opts["user"])
            report = services.areas_import(
                actor=actor, path=opts["path"], level=opts["level"], layer=opts["layer"], crs=opts["crs"],
                encoding=opts["encoding"], dry_run=opts["dry_run"],
            )
        except services.LedgerUnreadable as exc:
            raise CommandError(str(exc), returncode=2)
        report_emit(self, report, opts["report"])
        exit_for(report, skip_invalid=False)
