"""Install an MBTiles file as the offline basemap: `manage.py basemap_import_mbtiles FILE`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maps.basemaps import TileError, mbtiles_import


class Command(BaseCommand):
    help = "Check an MBTiles file (raster tiles) and copy it to OFFLINE_MBTILES, where the app serves it from."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        if not file.is_file():
            raise CommandError(_("File not found: %(file)s") % {"file": file})
        try:
            info = mbtiles_import(file)
        except TileError as exc:
            raise CommandError(str(exc))
        self.stdout.write(self.style.SUCCESS(
            _("Imported %(tiles)s tiles (zoom %(min_zoom)s–%(max_zoom)s) → %(path)s") % info))
