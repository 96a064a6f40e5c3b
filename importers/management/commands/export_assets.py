from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import ngettext

from importers import services


class Command(BaseCommand):
    help = "Export the asset ledger with the DESIGN.md §5 columns."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", required=True)
        parser.add_argument("--format", choices=services.EXPORT_FORMATS, help="default: from the file extension")
        parser.add_argument("--township", help="township code (9 or 12 digits)")
        parser.add_argument("--village", help="village code (12 digits)")
        parser.add_argument("--user", help="export what this user may see (default: a county administrator)")

    def handle(self, *args, **opts):
        path = Path(opts["output"])
        fmt = opts["format"] or {".zip": "shp", ".json": "geojson"}.get(path.suffix.lower(), path.suffix.lower()[1:])
        try:
            actor = services.actor_resolve(username=opts["user"])
            count = services.assets_export(actor=actor, path=path, fmt=fmt, township=opts["township"],
                                           village=opts["village"], limit=None)  # on the server: no limit
        except services.LedgerUnreadable as exc:
            raise CommandError(str(exc), returncode=2)
        self.stdout.write(ngettext("Exported %(count)s asset to %(path)s", "Exported %(count)s assets to %(path)s", count)
                          % {"count": count, "path": path})
