"""Below the detail zoom the map draws the view's clusters from one request (/api/v1/map/clusters/, asked for by the
page's head while the scripts load) instead of a round of cluster tiles; filters only the tiles can serve keep the
tiles; from the detail zoom on, the tiles as before."""

import pytest

from tests.maps.conftest import assert_local_and_clean, until, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


def _requests(watch, part: str) -> list[str]:
    return [u for u in watch.urls if part in u]


def test_first_view_clusters_come_in_one_request_then_tiles_at_detail_zoom(live_map_world, open_page):
    page, watch = open_page("/#map=11/33.90000/111.60000", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.pointsMode") is True
    assert page.evaluate("window.__mapStats.clusters") > 0
    assert len(_requests(watch, "/api/v1/map/clusters/")) == 1  # the head's request, taken by map.js
    assert "z=11" in _requests(watch, "/api/v1/map/clusters/")[0]
    assert _requests(watch, "/tiles/assets/") == []  # no cluster tile at all
    # a small move stays inside the tile of margin the document covers: no new request
    page.evaluate("window.__map.panBy([40, 30], {animate: false})")
    until(page, "window.__mapIdle()")
    assert len(_requests(watch, "/api/v1/map/clusters/")) == 1
    # the detail zoom: the tiles, and the assets themselves
    page.evaluate("window.__map.setZoom(12, {animate: false})")
    until(page, "window.__mapIdle() && Object.keys(window.__mapStats.assets).length > 0")
    assert _requests(watch, "/tiles/assets/12/")
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
    until(page, f"document.getElementById('side-panel').dataset.code === '{w.water.code}'")
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
