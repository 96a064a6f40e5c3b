"""The map page opened without a permalink draws its first view's clusters from the page itself, with no request
(issue 22); a permalink, or filters in the address, ask /api/v1/map/clusters/ as before."""

import pytest

from tests.maps.conftest import assert_local_and_clean, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


def test_the_default_view_draws_its_clusters_with_no_request(live_map_world, open_page, monkeypatch):
    # the map world's county fills a z12 view: its four assets stand for a dense view's thousands, drawn as the z11
    # clusters (as the province's 16,000); the page's own clusters decide it and are drawn
    monkeypatch.setattr("maps.views.DENSE_VIEW_ASSETS", 1)
    page, watch = open_page("/", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.firstClustersWritten") is True
    assert page.evaluate("window.__mapStats.pointsMode") is True
    assert page.evaluate("window.__mapStats.clusters") > 0
    assert page.evaluate("window.__mapStats.firstRender") is not None
    assert [u for u in watch.urls if "/api/v1/map/clusters/" in u] == []
    assert [u for u in watch.urls if "/tiles/assets/" in u] == []
    # what is drawn: the written clusters of the map's zoom, whose counts are the inspector's four assets
    z = min(page.evaluate("window.__map.getZoom()"), 11)
    written = page.evaluate("JSON.parse(document.getElementById('first-clusters').textContent)")
    assert sum(c[0] for r in written if r["z"] == z for c in r["doc"]["clusters"]) == 4
    assert_local_and_clean(watch)


def test_a_permalink_asks_for_its_view_as_before(live_map_world, open_page):
    page, watch = open_page("/#map=10/33.90000/111.60000", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.firstClustersWritten") is False
    assert page.evaluate("window.__mapStats.clusters") > 0
    clusters = [u for u in watch.urls if "/api/v1/map/clusters/" in u]
    assert len(clusters) == 1 and "z=10" in clusters[0]
    assert_local_and_clean(watch)


def test_filters_in_the_address_ask_the_api(live_map_world, open_page):
    page, watch = open_page("/#category=household", user=live_map_world.inspector)
    wait_drawn(page, assets=True, villages=1)
    assert page.evaluate("window.__mapStats.firstClustersWritten") is False
    clusters = [u for u in watch.urls if "/api/v1/map/clusters/" in u]
    assert len(clusters) == 1 and "category=household" in clusters[0]
    assert_local_and_clean(watch)


def test_a_window_the_page_did_not_guess_asks_the_api(live_map_world, open_page, monkeypatch):
    # the page writes the clusters for a far smaller window only (another zoom): this one's view is not covered
    monkeypatch.setattr("maps.views.DENSE_VIEW_ASSETS", 1)
    monkeypatch.setattr("maps.selectors.FIRST_VIEW_WINDOWS", ((400, 300),))
    monkeypatch.setattr("maps.selectors.FIRST_VIEW_PHONES", ())
    page, watch = open_page("/", user=live_map_world.inspector)
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.firstClustersWritten") is False
    assert page.evaluate("window.__mapStats.clusters") > 0
    written = page.evaluate("JSON.parse(document.getElementById('first-clusters').textContent)")
    z = min(page.evaluate("window.__map.getZoom()"), 11)
    assert written and all(r["z"] != z for r in written)
    assert len([u for u in watch.urls if "/api/v1/map/clusters/" in u]) == 1
    assert_local_and_clean(watch)


@pytest.mark.parametrize("size", [(375, 700), (412, 915)])
def test_a_phone_draws_its_first_view_with_no_request(live_map_world, open_page, monkeypatch, size):
    """Field staff open the map on a phone (map.css's phone layout): its first view is written into the page too."""
    monkeypatch.setattr("maps.views.DENSE_VIEW_ASSETS", 1)
    page, watch = open_page("/", user=live_map_world.inspector, width=size[0], height=size[1])
    wait_drawn(page, assets=True)
    assert page.evaluate("window.__mapStats.firstClustersWritten") is True
    assert page.evaluate("window.__mapStats.clusters") > 0
    assert [u for u in watch.urls if "/api/v1/map/clusters/" in u] == []
    assert_local_and_clean(watch)


def test_the_tile_library_runs_after_the_first_view_is_drawn(live_map_world, open_page, monkeypatch):
    """protomaps-leaflet (the tile layers: boundaries, detail tiles) is loaded by map.js once the first view's
    clusters are drawn; the boundaries it draws are still drawn."""
    monkeypatch.setattr("maps.views.DENSE_VIEW_ASSETS", 1)  # the first view: clusters (as a county's 3,000 assets)
    page, watch = open_page("/", user=live_map_world.inspector)
    wait_drawn(page, assets=True, villages=1)
    first, loaded = page.evaluate("[window.__mapStats.firstRender, window.__mapStats.protomapsLoaded]")
    assert first is not None and loaded is not None and first < loaded
    assert page.evaluate("Object.keys(window.__mapStats.villages).length") >= 1
    assert len([u for u in watch.urls if "protomaps-leaflet.js" in u]) == 1
    assert_local_and_clean(watch)


def test_a_permalink_at_a_detail_zoom_loads_the_tile_library_for_its_first_view(live_map_world, open_page):
    # at a detail zoom the first view is the asset tiles themselves: drawn by protomaps-leaflet, loaded for them
    water = live_map_world.water.location
    page, watch = open_page(f"/#map=15/{water.y:.5f}/{water.x:.5f}", user=live_map_world.inspector)
    wait_drawn(page, assets=True, villages=1)
    assert live_map_world.water.code in page.evaluate("Object.keys(window.__mapStats.assets)")
    first, loaded = page.evaluate("[window.__mapStats.firstRender, window.__mapStats.protomapsLoaded]")
    assert loaded is not None and first is not None and loaded < first
    assert [u for u in watch.urls if "/tiles/assets/15/" in u]
    assert_local_and_clean(watch)
