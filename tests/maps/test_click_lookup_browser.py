"""A click on a point asset at a detail zoom finds it in the tile already drawn (no lookup request); a click on a
polygon still asks the API's box around the click. Both open the asset's panel."""

import pytest

from tests.browser import panel_complete
from tests.maps.conftest import assert_local_and_clean, until, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


def _click(page, lon: float, lat: float) -> None:
    point = page.evaluate(f"(() => {{ const p = window.__map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def _lookups(watch) -> list[str]:
    return [u for u in watch.urls if "/api/v1/assets/?" in u and "bbox=" in u]


def test_point_from_the_tile_polygon_from_the_api(live_map_world, open_page):
    w = live_map_world
    water = w.water.point
    page, watch = open_page(f"/#map=15/{water.y:.5f}/{water.x:.5f}", user=w.inspector)
    wait_drawn(page, villages=1)
    until(page, f"window.__mapStats.assets['{w.water.code}'] !== undefined && window.__mapIdle()")
    _click(page, water.x, water.y)
    until(page, panel_complete(w.water.code))
    assert page.locator("#side-title").inner_text() == w.water.name
    assert _lookups(watch) == []  # found in the drawn tile
    assert any(f"/api/v1/assets/{w.water.code}/" in u for u in watch.urls)
    pen = w.livestock.location  # a polygon (its pen): a point on it
    assert w.livestock.point is None
    page.evaluate(f"window.__map.setView([{pen.y}, {pen.x}], 15, {{animate: false}})")
    until(page, f"window.__mapStats.assets['{w.livestock.code}'] !== undefined && window.__mapIdle()")
    _click(page, pen.x, pen.y)
    until(page, panel_complete(w.livestock.code))
    assert len(_lookups(watch)) == 1  # a polygon: the API's box, as before
    assert_local_and_clean(watch)


def test_a_point_near_its_tiles_edge_from_the_tile_when_nothing_across_is_nearer(live_map_world, open_page):
    """3 px inside a z15 tile's west edge: no point of the next tile can be nearer than the one clicked, so it is
    taken from the tile (before, any click within 8 px of an edge asked the API's box)."""
    import math

    from django.contrib.gis.geos import Point

    from geo_assets.models import SRID, Asset
    from geo_assets.taxonomy import AssetType
    from tests.factories import make_asset

    w = live_map_world
    z, tiles = 15, 2 ** 15
    x_edge = math.floor((w.water.point.x + 180) / 360 * tiles) + 1  # the next tile boundary east of the water works
    lon = x_edge / tiles * 360 - 180 + 3 / 256 * 360 / tiles
    lat = w.water.point.y + 0.002
    asset = make_asset(actor=w.admin, name="西北村灌溉泵站", asset_type=AssetType.WATER_SUPPLY, area=w.areas.west_north,
                       geometry=Point(lon, lat, srid=SRID))
    asset = Asset.objects.get(pk=asset.pk)
    page, watch = open_page(f"/#map={z}/{lat:.5f}/{lon:.5f}", user=w.inspector)
    wait_drawn(page, villages=1)
    until(page, f"window.__mapStats.assets['{asset.code}'] !== undefined && window.__mapIdle()")
    _click(page, asset.point.x, asset.point.y)
    until(page, panel_complete(asset.code))
    assert page.locator("#side-title").inner_text() == asset.name
    assert _lookups(watch) == []  # found in the drawn tile, 3 px from its edge
    assert_local_and_clean(watch)
