"""Fetch the offline basemap while online: `manage.py basemap_fetch --max-zoom 14 [--bbox …] [--url …]`."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from geo_assets.models import AdminArea
from geo_assets.taxonomy import AreaLevel
from maps.basemaps import TileError, tiles_fetch


def bbox_arg(value: str) -> tuple[float, ...]:
    parts = tuple(float(v) for v in value.split(","))
    if len(parts) != 4:
        raise ValueError(value)
    return parts


class Command(BaseCommand):
    help = ("Download the basemap tiles {z}/{x}/{y}.png covering the county (or --bbox) into OFFLINE_TILES_DIR, "
            "skipping tiles already there. Mind the tile server's usage policy.")

    def add_arguments(self, parser):
        parser.add_argument("--bbox", type=bbox_arg, help="minlon,minlat,maxlon,maxlat (default: the county's extent)")
        parser.add_argument("--min-zoom", type=int, default=8)
        parser.add_argument("--max-zoom", type=int, default=14)
        parser.add_argument("--url", default=None, help="tile URL template with {z}/{x}/{y} (default: OSM_TILE_URL)")
        parser.add_argument("--delay", type=float, default=0.2, help="seconds to wait after each download")
        parser.add_argument("--max-tiles", type=int, default=5000, help="refuse to start above this many tiles")

    def handle(self, *args, bbox, min_zoom, max_zoom, url, delay, max_tiles, **options):
        if bbox is None:
            county = AdminArea.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
            if county is None:
                raise CommandError(_("No county area: import the administrative areas first, or give the extent with --bbox."))
            bbox = county.geom.extent
        try:
            counts = tiles_fetch(bbox=bbox, min_zoom=min_zoom, max_zoom=max_zoom, url=url or settings.OSM_TILE_URL,
                                 delay=delay, max_tiles=max_tiles, progress=self.stdout.write)
        except TileError as exc:
            raise CommandError(str(exc))
        self.stdout.write(self.style.SUCCESS(
            _("Done. Tiles downloaded: %(fetched)s, already there: %(skipped)s, in all: %(total)s → %(folder)s")
            % {**counts, "folder": settings.OFFLINE_TILES_DIR}))
