from django.core.management.base import BaseCommand, CommandError

from importers import services
from importers.management.commands._base import exit_for, report_emit


class Command(BaseCommand):
    help = "Import an asset ledger (GeoPackage, Shapefile, GeoJSON, KML/KMZ, CSV, XLSX). Exit 0 ok, 1 invalid rows, 2 unreadable."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--layer", help="layer (GIS) or sheet (XLSX) name")
        parser.add_argument("--crs", help="EPSG:n, gcj02 or bd09 (default: the file's own CRS; degrees for CSV/XLSX)")
        parser.add_argument("--encoding", help="text encoding of CSV/DBF, e.g. GBK")
        parser.add_argument("--mapping", help='JSON file {"file header": "ledger column"}')
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="write the valid rows, report the rest")
        parser.add_argument("--report", help="write the report as JSON to this file")
        parser.add_argument("--user", help="act as this user (default: a county administrator)")

    def handle(self, *args, **opts):
        try:
            actor = services.actor_resolve(username=opts["user"])
            report = services.assets_import(
                actor=actor, path=opts["path"], layer=opts["layer"], crs=opts["crs"], encoding=opts["encoding"],
                mapping=services.mapping_load(opts["mapping"]), dry_run=opts["dry_run"],
                skip_invalid=opts["skip_invalid"],
            )
        except services.LedgerUnreadable as exc:
            raise CommandError(str(exc), returncode=2)
        report_emit(self, report, opts["report"])
        exit_for(report, skip_invalid=opts["skip_invalid"])
