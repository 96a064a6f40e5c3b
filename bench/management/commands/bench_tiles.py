"""Print tile sizes and latencies over the current database: `python manage.py bench_tiles [--repeat N]`.

Tiles are chosen from the county's extent at a spread of zooms (county view to street level), built through the
same functions as the tile view, for the inspector's (all assets) and the public's (published) querysets.
"""

import math
import statistics
import time

from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError

from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AreaLevel
from layers.tiles import TileId, tile_areas, tile_assets


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _tiles_for(extent, z: int, limit: int) -> list[TileId]:
    x0, y0 = _tile_xy(extent[0], extent[3], z)
    x1, y1 = _tile_xy(extent[2], extent[1], z)
    tiles = [TileId(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    if len(tiles) > limit:  # spread the sample over the county
        step = len(tiles) / limit
        tiles = [tiles[int(i * step)] for i in range(limit)]
    return tiles


class Command(BaseCommand):
    help = "Print vector-tile sizes and build times for a spread of z/x/y over the county."

    def add_arguments(self, parser):
        parser.add_argument("--zooms", default="8,10,11,12,13,14,16")
        parser.add_argument("--tiles-per-zoom", type=int, default=12)
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--http", action="store_true",
                            help="also time whole requests through the tile view (ETag, version, headers)")

    def handle(self, *args, zooms, tiles_per_zoom, repeat, http, **options):
        county = AdminArea.objects.filter(level=AreaLevel.COUNTY).first()
        if county is None:
            raise CommandError("No county boundary: load data first (e.g. manage.py load_demo).")
        extent = county.geom.extent
        self.stdout.write(f"assets: {Asset.objects.count()}, villages: {AdminArea.objects.villages().count()}")
        self.stdout.write(f"{'layer':<16}{'z':>3}{'tiles':>6}{'mode':>10}{'median KB':>11}{'max KB':>9}"
                          f"{'median ms':>11}{'max ms':>9}")
        querysets = {"assets": Asset.objects.all(), "assets/public": Asset.objects.visible_to(AnonymousUser())}
        for z in (int(v) for v in zooms.split(",")):
            tiles = _tiles_for(extent, z, tiles_per_zoom)
            for name, qs in querysets.items():
                self._row(name, z, tiles, repeat, lambda t, qs=qs: tile_assets(qs, t))
            for level, name in ((AreaLevel.VILLAGE, "villages"), (AreaLevel.TOWNSHIP, "townships")):
                self._row(name, z, tiles, repeat, lambda t, level=level: (tile_areas(level=level, tile=t), "-"))
            if http:
                from django.test import Client

                client = Client(HTTP_HOST="localhost")
                self._row("assets/http", z, tiles, repeat, lambda t, client=client: (
                    client.get(f"/tiles/assets/{t.z}/{t.x}/{t.y}.mvt").content, "view"))

    def _row(self, name, z, tiles, repeat, build):
        sizes, times, modes = [], [], set()
        for tile in tiles:
            best = math.inf
            for _ in range(repeat):
                start = time.perf_counter()
                data, mode = build(tile)
                best = min(best, time.perf_counter() - start)
            sizes.append(len(data) / 1024)
            times.append(best * 1000)
            modes.add(mode)
        self.stdout.write(
            f"{name:<16}{z:>3}{len(tiles):>6}{'/'.join(sorted(modes)):>10}{statistics.median(sizes):>11.1f}"
            f"{max(sizes):>9.1f}{statistics.median(times):>11.1f}{max(times):>9.1f}"
        )
