import io

import pytest

from tests.browser import panel_complete
from tests.maps.conftest import assert_local_and_clean, drawn_assets, until, wait_assets, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]

VIEW = "/#map=12/33.90000/111.60000"


def test_boundaries_and_assets_are_drawn(live_map_world, open_page):
    page, watch = open_page(VIEW, user=live_map_world.inspector)
    wait_drawn(page)
    assert set(page.evaluate("Object.keys(window.__mapStats.villages)")) == {
        "410324101001", "410324101002", "410324102001", "410324102002"}
    assert set(page.evaluate("Object.keys(window.__mapStats.townships)")) == {"410324101000", "410324102000"}
    assert drawn_assets(page) == {live_map_world.road.code, live_map_world.water.code, live_map_world.greenhouse.code, live_map_world.livestock.code}
    assert any("/tiles/assets/12/" in u for u in watch.urls)
    assert_local_and_clean(watch)


def click_lonlat(page, lon: float, lat: float):
    point = page.evaluate(f"(() => {{ const p = window.__map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def test_filter_changes_what_is_drawn(live_map_world, open_page):
    page, watch = open_page(VIEW, user=live_map_world.inspector)
    wait_drawn(page)
    page.uncheck("input[name=category_all][value=operating]")
    page.uncheck("input[name=category_all][value=household]")
    expected = sorted([live_map_world.road.code, live_map_world.water.code])
    wait_assets(page, expected)
    until(page, "window.__mapIdle()")
    assert drawn_assets(page) == set(expected)
    assert "type=" in page.url
    page.select_option("select[name=verified]", "yes")
    wait_assets(page, [live_map_world.road.code])
    assert "verified=yes" in page.url
    page.select_option("select[name=township]", live_map_world.road.township.code)
    until(page, f"document.querySelector('a.export').href.indexOf('township={live_map_world.road.township.code}') > 0")
    assert_local_and_clean(watch)


def test_click_asset_opens_its_panel(live_map_world, open_page):
    page, watch = open_page(VIEW, user=live_map_world.inspector)
    wait_drawn(page)
    centre = live_map_world.greenhouse.point
    click_lonlat(page, centre.x, centre.y)
    until(page, panel_complete(live_map_world.greenhouse.code), timeout=10000)
    panel = page.locator("#side-panel")
    assert panel.is_visible()
    assert page.locator("#side-title").inner_text() == "东南村大棚"
    text = panel.inner_text()
    for heading in ("产权", "管护", "资金来源", "最近核查", "变更记录"):
        assert heading in text
    assert page.locator("#asset-page-link").get_attribute("href") == f"/assets/{live_map_world.greenhouse.code}/"
    assert f"asset={live_map_world.greenhouse.code}" in page.url
    assert_local_and_clean(watch)


def test_permalink_restores_view_and_filters(live_map_world, open_page):
    page, watch = open_page("/#map=13/33.85000/111.55000", user=live_map_world.inspector)
    wait_drawn(page)
    page.select_option("select[name=township]", "410324101000")
    until(page, "location.hash.includes('township=410324101000')")
    until(page, "window.__mapStats.focus === '410324101000' && window.__mapIdle()")  # moved onto the township
    page.evaluate("window.__map.setView([33.86, 111.56], 13)")
    until(page, "location.hash.includes('map=13/33.8') && !location.hash.includes('33.85000')")
    url = page.url
    z, lat, lon = (float(v) for v in url.split("map=")[1].split("&")[0].split("/"))
    first_assets = drawn_assets(page)
    second, watch2 = open_page(url[url.index("/#"):], user=live_map_world.inspector)
    wait_drawn(second, assets=False, villages=2)
    until(second, "window.__mapIdle()")
    state = second.evaluate("(() => { const c = window.__map.getCenter(); return [window.__map.getZoom(), c.lat, c.lng]; })()")
    assert state[0] == z == 13 and abs(state[1] - lat) < 2e-4 and abs(state[2] - lon) < 2e-4
    assert second.locator("select[name=township]").input_value() == "410324101000"
    # (choosing the township moved the first map onto it, so it has drawn more than this view shows)
    assert drawn_assets(second) == {live_map_world.road.code} <= first_assets
    assert live_map_world.greenhouse.code not in first_assets
    assert second.url == url
    assert_local_and_clean(watch)
    assert_local_and_clean(watch2)


def test_click_village_zooms_and_summarises(live_map_world, open_page):
    page, watch = open_page("/#map=11/33.90000/111.60000", user=live_map_world.inspector)
    wait_drawn(page)
    click_lonlat(page, 111.58, 33.97)  # inside 西北村, away from its asset
    until(page, panel_complete('410324101002'), timeout=10000)
    assert "西北村" in page.locator("#side-title").inner_text()
    assert page.locator("#village-report-link").get_attribute("href") == "/villages/410324101002/"
    lookups = [u for u in watch.urls if "/api/v1/areas/?" in u and "point=" in u]
    assert lookups and all("zoom=11" in u for u in lookups), lookups  # the code, not the whole boundary
    until(page, "window.__map.getZoom() > 11")
    assert_local_and_clean(watch)


def test_search_and_public_visibility(live_map_world, open_page):
    page, watch = open_page(VIEW)
    wait_drawn(page)
    assert drawn_assets(page) == {live_map_world.road.code, live_map_world.greenhouse.code}
    page.fill("#search-q", "大棚")
    page.click("#search-results li[data-kind=asset] button")
    until(page, panel_complete(live_map_world.greenhouse.code))
    page.fill("#search-q", "饮水")
    page.wait_for_selector("#search-results li.empty")
    assert_local_and_clean(watch)


def test_phone_width_and_escaping(live_map_world, open_page):
    from geo_assets import services

    services.asset_update(actor=live_map_world.admin, asset=live_map_world.greenhouse,
                          changes={"name": "<img src=x onerror=alert(1)>大棚"}, reason="test")
    page, watch = open_page(VIEW, user=live_map_world.inspector, width=375, height=700)
    wait_drawn(page)
    assert page.locator("#toggle-filters").is_visible()
    assert not page.locator("#filter-panel").is_visible() or page.locator("#filter-panel").bounding_box()["x"] < 0
    shadow = "getComputedStyle(document.getElementById('filter-panel')).boxShadow"
    assert page.evaluate(shadow) == "none"  # closed, its shadow was a grey strip down the map's left edge
    page.click("#toggle-filters")
    until(page, "document.getElementById('filter-panel').getBoundingClientRect().left >= 0")
    assert page.evaluate(shadow) != "none"
    page.click("#filters-close")
    until(page, "document.getElementById('filter-panel').getBoundingClientRect().right <= 0")
    centre = live_map_world.greenhouse.point
    page.evaluate(f"window.__map.setView([{centre.y}, {centre.x}], 14)")
    until(page, "window.__mapIdle()")
    click_lonlat(page, centre.x, centre.y)
    until(page, panel_complete(live_map_world.greenhouse.code))
    assert page.locator("#side-title").inner_text() == "<img src=x onerror=alert(1)>大棚"
    assert page.locator("#side-panel img").count() == 0
    assert page.locator("#side-panel").bounding_box()["width"] <= 375
    assert_local_and_clean(watch)


def test_asset_permalink_opens_panel_and_zooms(live_map_world, open_page):
    page, watch = open_page(f"/#asset={live_map_world.greenhouse.code}", user=live_map_world.inspector)
    until(page, panel_complete(live_map_world.greenhouse.code))
    until(page, "window.__map.getZoom() >= 14")
    until(page, "window.__mapIdle()")
    assert live_map_world.greenhouse.code in drawn_assets(page)
    assert_local_and_clean(watch)


def test_demo_county_is_drawn_at_the_opening_view(transactional_db, open_page):
    """The real demo county (load_demo): every township and village outline and the asset clusters appear."""
    from django.core.management import call_command

    from geo_assets.models import AdminArea

    call_command("load_demo", "--townships", "4", "--villages-per-township", "8", "--assets-per-village", "8",
                 stdout=io.StringIO())
    page, watch = open_page("/")
    wait_drawn(page, villages=32)
    villages = set(AdminArea.objects.villages().values_list("code", flat=True))
    townships = set(AdminArea.objects.townships().values_list("code", flat=True))
    assert set(page.evaluate("Object.keys(window.__mapStats.villages)")) == villages
    assert set(page.evaluate("Object.keys(window.__mapStats.townships)")) == townships
    assert page.evaluate("window.__mapStats.clusters") > 0  # opening zoom shows clusters of published assets
    assert_local_and_clean(watch)
