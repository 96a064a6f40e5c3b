"""The map's project filter and the "formed by the same project" highlight, in Chromium: the `#project=` and
`#asset=` permalinks (the reconciliation and project pages link there), the searchable project list, the asset
panel's projects with their names escaped, and a public map without any of it (tests/maps/conftest.py,
live_project_world)."""

import pytest

from tests.browser import panel_complete
from tests.maps.conftest import HOSTILE_PROJECT, assert_local_and_clean, drawn_assets, until, wait_assets, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]

VIEW = "/#map=12/33.90000/111.60000"


def in_view(page, asset) -> bool:
    point = asset.location
    return page.evaluate(f"window.__map.getBounds().contains([{point.y}, {point.x}])")


def test_project_permalink_filters_the_map_and_moves_onto_its_assets(live_project_world, open_page):
    w = live_project_world
    page, watch = open_page("/#project=XM-EAST", user=w.inspector)
    until(page, "window.__mapStats.project === 'XM-EAST'")
    wait_drawn(page, villages=1)
    wait_assets(page, sorted([w.greenhouse.code, w.livestock.code]))
    assert page.locator("input[name=project]").input_value() == "XM-EAST"
    assert in_view(page, w.greenhouse) and in_view(page, w.livestock) and page.evaluate("window.__map.getZoom()") >= 12
    chosen = page.locator("#project-chosen")
    assert chosen.is_visible()
    assert HOSTILE_PROJECT in chosen.inner_text() and "2 项资产" in chosen.inner_text()
    assert page.locator("#project-chosen a").get_attribute("href") == "/projects/XM-EAST/"
    assert page.evaluate("window.__pwned") is None
    assert "project=XM-EAST" in page.url
    assert page.locator("#filter-count").inner_text() == "共 2 项资产"
    # the exports know no project: the links leave it out, and a note says so
    assert "project" not in page.locator("a.export").first.get_attribute("href")
    assert page.locator("#export-project-note").is_visible()
    page.click("#filters button[type=reset]")
    until(page, "!location.hash.includes('project=') && window.__mapStats.project === null")
    wait_assets(page, sorted([w.road.code, w.water.code, w.greenhouse.code, w.livestock.code]))
    assert not page.locator("#export-project-note").is_visible()
    assert_local_and_clean(watch)


def test_the_filter_bar_searches_the_users_projects(live_project_world, open_page):
    w = live_project_world
    page, watch = open_page(VIEW, user=w.clerk)  # 西镇's clerk: XM-WEST only
    wait_drawn(page)
    field = page.locator("input[name=project]")
    field.click()
    until(page, "document.querySelectorAll('#project-options option').length === 1")
    assert page.locator("#project-options option").get_attribute("value") == "XM-WEST"
    field.fill("道路饮水")
    until(page, "document.querySelector('#project-options option') && "
                "document.querySelector('#project-options option').label.includes('西镇道路饮水')")
    field.fill("XM-WEST")
    field.press("Enter")
    until(page, "location.hash.includes('project=XM-WEST') && window.__mapStats.project === 'XM-WEST'")
    wait_assets(page, sorted([w.road.code, w.water.code]))
    # a typed name of a listed project counts as its code
    field.fill("")
    field.press("Enter")
    until(page, "!location.hash.includes('project=')")
    field.fill("2025年西镇道路饮水项目")
    field.press("Enter")
    until(page, "location.hash.includes('project=XM-WEST')")
    # a project the clerk does not see: nothing drawn, and the bar says so
    field.fill("XM-EAST")
    field.press("Enter")
    until(page, "window.__mapStats.project === 'XM-EAST'")
    until(page, "window.__mapStats.count === 0")
    assert page.locator("#project-chosen").inner_text() == "您没有这个编号的项目。"
    assert watch.errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
    watch.errors.clear()  # (the project's 404, as the API answers for a project the clerk may not see)
    assert_local_and_clean(watch)


def test_asset_permalink_shows_its_projects_and_the_same_project_highlight(live_project_world, open_page):
    w = live_project_world
    page, watch = open_page(f"/#asset={w.greenhouse.code}", user=w.inspector)
    until(page, panel_complete(w.greenhouse.code))
    until(page, "window.__map.getZoom() >= 14")
    section = page.locator("#asset-projects")
    assert section.is_visible()
    link = section.locator("a.project-link")
    assert link.count() == 1 and link.get_attribute("href") == "/projects/XM-EAST/"
    # the name is text: no script ran, no element came from it
    assert link.inner_text() == f"XM-EAST {HOSTILE_PROJECT}"
    assert page.locator("#side-panel script, #side-panel img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert not in_view(page, w.livestock)
    page.click("#asset-projects button.same-project")
    until(page, "window.__mapStats.sameProject && window.__mapStats.sameProject.assets.length === 2")
    assert sorted(page.evaluate("window.__mapStats.sameProject.assets")) == sorted([w.greenhouse.code, w.livestock.code])
    assert page.locator("#asset-projects button.same-project").get_attribute("aria-pressed") == "true"
    assert page.locator("#same-project-count").inner_text() == "地图上已勾出该项目的 2 项资产。"
    until(page, "document.querySelectorAll('.leaflet-highlight-pane path.same-project-shape').length === 2")
    until(page, f"window.__map.getBounds().contains([{w.livestock.location.y}, {w.livestock.location.x}])")
    # the other asset's panel keeps the highlight; the button there ends it
    page.evaluate(f"window.location.hash = window.location.hash.replace(/asset=[^&]*/, 'asset={w.livestock.code}')")
    until(page, panel_complete(w.livestock.code))
    assert page.locator("#asset-projects button.same-project").get_attribute("aria-pressed") == "true"
    page.click("#asset-projects button.same-project")
    until(page, "window.__mapStats.sameProject === null")
    assert page.locator(".leaflet-highlight-pane path.same-project-shape").count() == 0
    assert page.locator("#same-project-count").count() == 0
    assert_local_and_clean(watch)


def test_an_asset_without_a_project_says_so(live_project_world, open_page):
    from geo_assets.taxonomy import AssetType
    from tests.factories import make_asset

    w = live_project_world
    lone = make_asset(actor=w.admin, name="无项目公厕", asset_type=AssetType.SANITATION, area=w.areas.west_north)
    page, watch = open_page(f"/#asset={lone.code}", user=w.inspector)
    until(page, panel_complete(lone.code))
    assert page.locator("#asset-projects .no-project").inner_text() == "未关联项目。"
    assert page.locator("#asset-projects button.same-project").count() == 0
    assert_local_and_clean(watch)


def test_the_public_map_has_no_project_filter_and_no_project_data(live_project_world, open_page):
    w = live_project_world
    page, watch = open_page(f"/#project=XM-WEST&asset={w.road.code}")
    until(page, panel_complete(w.road.code))
    until(page, "window.__mapIdle()")
    assert page.locator("input[name=project]").count() == 0
    assert page.locator("#asset-projects").count() == 0
    assert "project=" not in page.url
    page.evaluate(f"window.__map.setView([{w.road.location.y}, {w.road.location.x}], 12)")
    until(page, "window.__mapIdle()")
    wait_drawn(page)
    assert w.greenhouse.code in drawn_assets(page) or w.road.code in drawn_assets(page)  # unfiltered public assets
    assert w.water.code not in drawn_assets(page)
    assert not [u for u in watch.urls if "/api/v1/map/projects" in u or "project=" in u]
    assert "XM-WEST" not in page.content()
    assert_local_and_clean(watch)
