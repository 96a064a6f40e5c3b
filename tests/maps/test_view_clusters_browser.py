"""Below the detail zoom the map draws the view's clusters from one request (/api/v1/map/clusters/, asked for by the
page's head while the scripts load) instead of a round of cluster tiles; filters only the tiles can serve keep the
tiles; from the detail zoom on, the tiles as before."""

import math
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point

from geo_assets.models import SRID
from tests.browser import panel_complete
from tests.maps.conftest import assert_local_and_clean, until, wait_drawn

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


def _requests(watch, part: str) -> list[str]:
    return [u for u in watch.urls if part in u]


# how many pixels the view's clusters canvas has drawn on
CLUSTER_PIXELS = """(() => {
  const c = document.querySelector("canvas.view-clusters");
  if (!c || !c.width || !c.height) return 0;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
})()"""


def test_first_view_clusters_come_in_one_request_then_tiles_at_detail_zoom(live_map_world, open_page):
    page, watch = open_page("/#map=11/33.90000/111.60000", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.pointsMode") is True
    assert page.evaluate("window.__mapStats.clusters") > 0
    assert len(_requests(watch, "/api/v1/map/clusters/")) == 1  # the head's request, taken by map.js
    assert "z=11" in _requests(watch, "/api/v1/map/clusters/")[0]
    assert _requests(watch, "/tiles/assets/") == []  # no cluster tile at all
    assert page.evaluate(CLUSTER_PIXELS) > 0
    # a small move stays inside the tile of margin the document covers: no new request
    page.evaluate("window.__map.panBy([40, 30], {animate: false})")
    until(page, "window.__mapIdle()")
    assert len(_requests(watch, "/api/v1/map/clusters/")) == 1
    # the detail zoom: the tiles, and the assets themselves
    page.evaluate("window.__map.setZoom(12, {animate: false})")
    until(page, "window.__mapIdle() && Object.keys(window.__mapStats.assets).length > 0")
    assert _requests(watch, "/tiles/assets/12/")
    assert page.evaluate(CLUSTER_PIXELS) == 0  # the clusters' canvas is emptied, not left under the assets
    page.evaluate("window.__map.panBy([60, 0], {animate: false})")
    until(page, "window.__mapIdle()")
    assert page.evaluate(CLUSTER_PIXELS) == 0
    assert_local_and_clean(watch)


def test_filters_only_the_tiles_serve_keep_the_cluster_tiles(live_map_world, open_page):
    page, watch = open_page("/#map=11/33.90000/111.60000&verified=yes", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.pointsMode") is False
    assert page.evaluate("window.__mapStats.clusters") > 0
    assert _requests(watch, "/tiles/assets/11/")
    assert_local_and_clean(watch)


def test_a_filter_change_asks_for_the_view_again(live_map_world, open_page):
    page, watch = open_page("/#map=11/33.90000/111.60000", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    page.uncheck("input[name=category_all][value=household]")
    until(page, "location.hash.includes('type=')")
    until(page, "window.__mapIdle() && window.__mapStats.clusters > 0")
    assert len(_requests(watch, "/api/v1/map/clusters/")) == 2
    assert "type=" in _requests(watch, "/api/v1/map/clusters/")[1]
    assert _requests(watch, "/tiles/assets/") == []
    assert_local_and_clean(watch)


def test_a_dense_detail_view_draws_its_clusters_and_a_click_still_opens_the_asset(live_map_world, open_page,
                                                                                 monkeypatch):
    # the map world's four assets stand for the province's 16,000 in one z12 view: more than the threshold
    monkeypatch.setattr("maps.views.DENSE_VIEW_ASSETS", 1)
    w = live_map_world
    water = w.water.point
    page, watch = open_page(f"/#map=12/{water.y:.5f}/{water.x:.5f}", user=w.inspector)
    wait_drawn(page, assets=True, villages=1)
    assert page.evaluate("window.__mapStats.pointsMode") is True
    assert page.evaluate("window.__mapStats.clusters") > 0
    assert page.evaluate("window.__mapStats.firstRender") is not None
    clusters = _requests(watch, "/api/v1/map/clusters/")
    assert len(clusters) == 1 and "z=11" in clusters[0]  # the head's, at the zoom below the detail zooms
    assert _requests(watch, "/tiles/assets/") == []  # no detail tile for a dense view
    # a click on an asset drawn as a cluster opens it (the API's box around the click)
    box = page.locator("#map").bounding_box()
    point = page.evaluate(f"(() => {{ const p = window.__map.latLngToContainerPoint([{water.y}, {water.x}]); "
                          "return [p.x, p.y]; })()")
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    until(page, panel_complete(w.water.code))
    # closer than DENSE_VIEW_MAX_ZOOM: the detail tiles and the asset itself, no new clusters request
    page.evaluate(f"window.__map.setView([{water.y}, {water.x}], 16, {{animate: false}})")
    until(page, f"window.__mapIdle() && window.__mapStats.assets['{w.water.code}'] !== undefined")
    assert _requests(watch, "/tiles/assets/16/")
    assert len(_requests(watch, "/api/v1/map/clusters/")) == 1
    assert_local_and_clean(watch)


def test_a_detail_view_with_few_assets_draws_them_from_the_tiles(live_map_world, open_page):
    w = live_map_world
    water = w.water.point
    page, watch = open_page(f"/#map=13/{water.y:.5f}/{water.x:.5f}", user=w.inspector)
    wait_drawn(page, assets=True, villages=1)
    until(page, f"window.__mapIdle() && window.__mapStats.assets['{w.water.code}'] !== undefined")
    assert _requests(watch, "/tiles/assets/13/")
    assert page.evaluate("window.__mapStats.firstRender") is not None
    assert_local_and_clean(watch)


def test_clusters_that_would_overlap_are_drawn_as_one_counting_every_asset(live_map_world, open_page):
    # Two z11 grid cells meet at x = k · cell: three water works 30 m west of that line and three 30 m east are two
    # clusters of the server's, a pixel or two apart on the screen.
    from geo_assets.taxonomy import AssetType
    from tests.factories import make_asset

    w = live_map_world
    half = 20037508.342789244
    cell = 2 * half / 2**11 / 8
    line = round(111.55 * half / 180 / cell) * cell * 180 / half  # a cell boundary inside 西南村 (111.50–111.60)
    for i, dx in enumerate((-0.0003, -0.0003, -0.0003, 0.0003, 0.0003, 0.0003)):
        make_asset(actor=w.admin, name=f"边界水站{i}", asset_type=AssetType.WATER_SUPPLY, area=w.areas.west_south,
                   geometry=Point(round(line + dx, 6), 33.85 + i * 0.0001, srid=SRID))
    page, watch = open_page(f"/#map=11/33.85000/{line:.5f}", user=w.inspector)
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.pointsMode") is True
    url = _requests(watch, "/api/v1/map/clusters/")[-1]
    doc = page.evaluate("url => fetch(url).then(r => r.json())", url)
    assert {round(c[0]) for c in doc["clusters"]} >= {3}  # the server's two clusters of three
    bubbles = page.evaluate("window.__mapStats.bubbles")
    # every asset of the view counted once (the whole county is in view at z11)
    assert sum(b[3] for b in bubbles) == sum(c[0] for c in doc["clusters"])
    for i, (x, y, r, _n, _label) in enumerate(bubbles):
        for x2, y2, r2, _n2, _label2 in bubbles[i + 1:]:
            assert math.hypot(x - x2, y - y2) >= r + r2, bubbles
    centre = page.evaluate(f"(() => {{ const p = window.__map.latLngToContainerPoint([33.8503, {line}]);"
                           " return [p.x, p.y]; })()")
    assert any(n >= 6 and math.hypot(x - centre[0], y - centre[1]) < r for x, y, r, n, _label in bubbles), bubbles
    assert_local_and_clean(watch)


def test_a_count_of_tens_of_thousands_fits_its_bubble(live_map_world, open_page):
    # the province's clusters hold 15,000 assets and more: written "1.5万" in a 30 px bubble, not "15443"
    def larger(route):
        doc = route.fetch().json()
        doc["clusters"][0][0] = 15443
        route.fulfill(json=doc)

    page, watch = open_page("/#map=11/33.90000/111.60000", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    page.route(re.compile(r"/api/v1/map/clusters/"), larger)
    page.evaluate("window.__map.setZoom(10, {animate: false})")
    until(page, "window.__mapIdle() && window.__mapStats.bubbles.some(b => b[3] >= 15443)")
    labels = {b[3]: b[4] for b in page.evaluate("window.__mapStats.bubbles")}
    big = max(labels)
    assert 15443 <= big < 15500 and labels[big] == "1.5万", labels
    assert all(label in (None, str(n)) for n, label in labels.items() if n < 10000), labels
    assert_local_and_clean(watch)


def test_the_cluster_tiles_write_tens_of_thousands_as_the_view_does(live_map_world, open_page):
    # filters only the tiles can serve ({"clusters": null}): the cluster tiles' bubbles, "1.5万" there too
    import mapbox_vector_tile
    from shapely.geometry import shape

    options = {"y_coord_down": True}

    def tiles_only(route):
        route.fulfill(json={"clusters": None})

    def larger(route):
        layers = mapbox_vector_tile.decode(route.fetch().body(), default_options=options)
        for feature in layers.get("clusters", {}).get("features", [])[:1]:
            feature["properties"].update(count=15443, label="15443")
        route.fulfill(body=mapbox_vector_tile.encode(
            [{"name": name, "features": [{"geometry": shape(f["geometry"]).wkt, "properties": f["properties"]}
                                         for f in layer["features"]]} for name, layer in layers.items()],
            default_options=options), content_type="application/vnd.mapbox-vector-tile")

    page, watch = open_page("/#map=11/33.90000/111.60000", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    page.route(re.compile(r"/api/v1/map/clusters/"), tiles_only)
    page.route(re.compile(r"/tiles/assets/10/"), larger)
    page.evaluate("window.__map.setZoom(10, {animate: false})")
    until(page, "window.__mapIdle() && window.__mapStats.tileLabels[15443] !== undefined")
    assert page.evaluate("window.__mapStats.pointsMode") is False
    labels = {int(n): label for n, label in page.evaluate("window.__mapStats.tileLabels").items()}
    assert labels[15443] == "1.5万", labels
    assert all(label == str(n) for n, label in labels.items() if n < 10000) and len(labels) > 1, labels
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "map-cluster-tiles-15k.png"))  # looked at: the bubble reads 1.5万
    assert_local_and_clean(watch)
