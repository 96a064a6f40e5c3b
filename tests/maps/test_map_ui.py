"""The inspector map at desk (1280×800) and phone (390×844) size, in headless Chromium: search, filter panel,
legend, side panel, permalink, export links, and the asset page's map. Screenshots go to var/screenshots/."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from geo_assets import services
from geo_assets.taxonomy import OwnerKind
from tests.browser import PageWatch, panel_complete
from tests.factories import MID_X, MID_Y
from tests.maps.conftest import assert_local_and_clean, drawn_assets, until, wait_assets, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]

VIEW = "/#map=12/33.90000/111.60000"
PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # Leaflet fades new tiles in and drops the previous zoom's 250 ms after loading
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def settle(page) -> None:
    """Wait until the view has stopped changing (the hash follows every move) and every layer has drawn."""
    last = None
    for _ in range(40):
        until(page, "window.__mapIdle()")
        now = page.evaluate("location.hash")
        if now == last:
            return
        last = now
        page.wait_for_timeout(300)
    raise AssertionError("the map kept moving")


def colours(page, selector: str) -> tuple[str, str]:
    """The element's text colour and the first opaque background behind it."""
    return tuple(page.evaluate("""(sel) => {
        const e = document.querySelector(sel);
        let n = e, bg = null;
        while (n && !bg) {
            const b = getComputedStyle(n).backgroundColor;
            if (b && b !== 'rgba(0, 0, 0, 0)' && b !== 'transparent') bg = b;
            n = n.parentElement;
        }
        return [getComputedStyle(e).color, bg || 'rgb(255, 255, 255)'];
    }""", selector))


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        values = [float(v) for v in css[css.index("(") + 1:-1].split(",")[:3]]
        linear = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in values]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def assert_readable(page, selector: str) -> None:
    fg, bg = colours(page, selector)
    assert fg != bg and contrast(fg, bg) >= 4.5, (selector, fg, bg)


def overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def above_sheet(lon: float, lat: float) -> str:
    """JS: is the point on the map and above the phone's bottom sheet?"""
    return f"""(() => {{
        const p = window.__map.latLngToContainerPoint([{lat}, {lon}]);
        const m = window.__map.getContainer().getBoundingClientRect();
        const s = document.getElementById('side-panel').getBoundingClientRect();
        return p.x > 0 && p.x < m.width && p.y > 0 && m.top + p.y < s.top;
    }})()"""


def test_search_results_are_readable_and_enter_picks(live_map_world, open_page):
    page, watch = open_page(VIEW, user=live_map_world.inspector)
    wait_drawn(page)
    page.fill("#search-q", "大棚")
    page.wait_for_selector("#search-results li.result button")
    assert_readable(page, "#search-results li.result button")
    shot(page, "map-desktop-search")
    page.press("#search-q", "Enter")
    until(page, panel_complete(live_map_world.greenhouse.code))
    assert page.locator("#search-results li").count() == 0
    # Enter right after typing (before the list appears) searches and picks the first result too.
    page.fill("#search-q", "饮水站")
    page.press("#search-q", "Enter")
    until(page, panel_complete(live_map_world.water.code))
    close = page.locator("#side-close")
    assert close.is_visible() and close.bounding_box()["width"] >= 20
    assert_readable(page, "#side-close")
    close.click()
    until(page, "!document.body.classList.contains('panel-open')")
    assert "asset=" not in page.url
    assert_local_and_clean(watch)


def test_a_search_cut_short_says_so_under_what_it_found(live_map_world, open_page, monkeypatch):
    import contextlib

    from geo_assets.dbrouting import OverBudget
    from layers import services as layer_services

    @contextlib.contextmanager
    def over(using, *, ms):
        raise OverBudget(f"over {ms} ms")
        yield

    monkeypatch.setattr(layer_services, "statement_budget", over)
    page, watch = open_page(VIEW, user=live_map_world.inspector, **PHONE)
    wait_drawn(page)
    page.click("#toggle-filters")  # on a phone the search is in the filter panel
    page.fill("#search-q", "南村")
    page.wait_for_selector("#search-results li.search-note")
    items = page.eval_on_selector_all("#search-results li", "els => els.map(e => [e.className, e.textContent])")
    assert [c for c, _ in items][-1] == "empty search-note" and "3" in items[-1][1], items
    assert "result" in items[0][0] and not [t for _, t in items if t == "没有找到"], items
    assert_readable(page, "#search-results li.search-note")
    shot(page, "map-phone-search-incomplete")
    assert_local_and_clean(watch)


def test_phone_filter_panel_controls_and_bottom_sheet(live_map_world, open_page):
    page, watch = open_page(VIEW, user=live_map_world.inspector, **PHONE)
    wait_drawn(page)
    # The header's links stay on one line each (the menu scrolls sideways) instead of one character per line.
    heights = page.eval_on_selector_all(".site-header a, .site-header button",
                                        "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and max(heights) < 2 * page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.site-header a')).lineHeight) || 24"), heights
    toggle = page.locator("#toggle-filters")
    assert toggle.is_visible()
    assert_readable(page, "#toggle-filters")
    toggle.click()
    until(page, "document.getElementById('filter-panel').getBoundingClientRect().left >= 0")
    page.wait_for_timeout(300)  # the slide-in transition
    panel = page.locator("#filter-panel").bounding_box()
    for control in (".leaflet-control-zoom", ".leaflet-control-scale"):
        box = page.locator(control).bounding_box()
        assert box and box["width"] > 0 and page.locator(control).is_visible(), control
        assert not overlap(panel, box), (control, panel, box)
        assert box["x"] + box["width"] <= PHONE["width"], (control, box)
    shot(page, "map-phone-filters")
    # A search pick closes the filter panel and shows the asset above the bottom sheet.
    page.fill("#search-q", "大棚")
    page.wait_for_selector("#search-results li.result button")
    page.press("#search-q", "Enter")
    until(page, panel_complete(live_map_world.greenhouse.code))
    until(page, "!document.body.classList.contains('filters-open')")
    g = live_map_world.greenhouse.point
    settle(page)
    assert page.evaluate(above_sheet(g.x, g.y))
    sheet = page.locator("#side-panel").bounding_box()
    assert sheet["width"] <= PHONE["width"] and sheet["y"] > PHONE["height"] / 3
    shot(page, "map-phone-side-panel")
    # A new asset starts at the top of the sheet.
    page.evaluate("document.getElementById('side-panel').scrollTop = 300")
    assert page.evaluate("document.getElementById('side-panel').scrollTop") > 0
    toggle.click()
    page.fill("#search-q", "饮水站")
    page.press("#search-q", "Enter")
    until(page, panel_complete(live_map_world.water.code))
    settle(page)
    assert page.evaluate(above_sheet(live_map_world.water.point.x, live_map_world.water.point.y))
    assert page.evaluate("document.getElementById('side-panel').scrollTop") == 0
    assert_local_and_clean(watch)


def test_choosing_a_village_moves_the_map_outlines_it_and_says_when_empty(live_map_world, open_page):
    page, watch = open_page("/", user=live_map_world.inspector)
    wait_drawn(page, assets=False)
    zoom = page.evaluate("window.__map.getZoom()")
    until(page, "window.__mapStats.count === 4")
    assert page.locator("#filter-count").inner_text() == "共 4 项资产"
    assert page.locator("#map-notice").is_hidden()
    west_north = live_map_world.areas.west_north
    page.select_option("select[name=village]", west_north.code)
    until(page, f"window.__mapStats.focus === '{west_north.code}'")
    until(page, f"window.__map.getZoom() > {zoom}")
    x0, y0, x1, y1 = west_north.geom.extent
    assert page.evaluate(f"window.__map.getBounds().contains([[{y0}, {x0}], [{y1}, {x1}]])")
    centre = page.evaluate("(() => { const c = window.__map.getCenter(); return [c.lng, c.lat]; })()")
    assert abs(centre[0] - (x0 + x1) / 2) < 0.01 and abs(centre[1] - (y0 + y1) / 2) < 0.01
    assert page.locator(".leaflet-highlight-pane path.area-outline").count() == 1
    wait_assets(page, [live_map_world.water.code])
    until(page, "window.__mapStats.count === 1")
    settle(page)
    shot(page, "map-desktop-village")
    # Nothing left: a clear message, on the map and in the panel.
    page.select_option("select[name=verified]", "yes")
    until(page, "window.__mapStats.count === 0")
    notice = page.locator("#map-notice")
    assert notice.is_visible() and notice.inner_text() == "当前筛选条件下没有资产"
    assert page.locator("#filter-count").inner_text() == "当前筛选条件下没有资产"
    # Another village: one outline, on the new one; clearing the filters removes it.
    page.select_option("select[name=verified]", "")
    page.select_option("select[name=village]", live_map_world.areas.west_south.code)
    until(page, f"window.__mapStats.focus === '{live_map_world.areas.west_south.code}'")
    until(page, "window.__mapStats.count === 1")
    assert notice.is_hidden()
    assert page.locator(".leaflet-highlight-pane path.area-outline").count() == 1
    page.click("button[type=reset]")
    until(page, "window.__mapStats.focus === null && window.__mapStats.count === 4")
    assert page.locator(".leaflet-highlight-pane path.area-outline").count() == 0
    assert_local_and_clean(watch)


def test_a_large_count_is_written_with_separators(live_map_world, open_page):
    page, _watch = open_page("/", user=live_map_world.inspector)
    until(page, "window.__mapStats.count === 4")
    # the province's register, as the API counts it (its seven figures are not built here)
    page.route(re.compile(r"/api/v1/assets/\?page_size=1(&|$)"),
               lambda route: route.fulfill(json={"count": 1258000, "next": None, "previous": None, "results": []}))
    page.select_option("select[name=verified]", "yes")
    until(page, "window.__mapStats.count === 1258000")
    assert page.locator("#filter-count").inner_text() == "共 1,258,000 项资产"


def test_the_panel_writes_owner_shares_as_people_write_them(live_map_world, open_page):
    water = live_map_world.water
    services.asset_update(actor=live_map_world.admin, asset=water, changes={}, reason="产权确认", owners=[
        services.Share("西北村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("60")),
        services.Share("西坡镇人民政府", OwnerKind.TOWNSHIP, Decimal("39.125")),
        services.Share("合作社", OwnerKind.ENTERPRISE, Decimal("0.875"))])
    page, _watch = open_page("/", user=live_map_world.inspector)
    wait_drawn(page, assets=False)
    page.fill("#search-q", "饮水站")
    page.press("#search-q", "Enter")
    until(page, panel_complete(water.code))
    until(page, "document.getElementById('side-body').innerText.includes('合作社')")
    text = page.inner_text("#side-body")
    assert "60%" in text and "39.125%" in text and "0.875%" in text and "60.000" not in text
    page.locator("#side-body li", has_text="合作社").scroll_into_view_if_needed()
    shot(page, "map-desktop-owner-shares")
    page.set_viewport_size(PHONE)  # the same panel as the phone's bottom sheet
    settle(page)
    owner = page.locator("#side-body li", has_text="合作社")
    owner.scroll_into_view_if_needed()
    box = owner.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    shot(page, "map-phone-owner-shares")



def test_export_links_say_when_the_filters_hold_more_than_one_export_may(live_map_world, open_page, settings):
    from geo_assets.models import Asset

    inspector = live_map_world.inspector
    settings.EXPORT_MAX_ASSETS = Asset.objects.visible_to(inspector).count() - 1
    page, watch = open_page(VIEW, user=inspector)
    wait_drawn(page, assets=False)
    until(page, "!document.getElementById('export-limit-note').hidden")
    note = page.inner_text("#export-limit-note")
    assert note == (f"单次导出最多 {settings.EXPORT_MAX_ASSETS:,} 项资产：请用筛选条件（乡镇、村或类型）缩小范围后导出。")
    assert page.eval_on_selector_all("a.export", "links => links.every(a => a.getAttribute('aria-disabled'))")
    page.locator("#export-limit-note").scroll_into_view_if_needed()
    shot(page, "map-export-limit")
    assert page.is_disabled("a.export >> nth=1")  # aria-disabled: Playwright, like a screen reader, sees it so
    with pytest.raises(Exception, match="Timeout"):  # a click asks for no export
        with page.expect_request(lambda r: "/import/export/" in r.url, timeout=1000):
            page.click("a.export >> nth=1", force=True)
    page.select_option("select[name=township]", live_map_world.areas.west.code)
    until(page, "document.getElementById('export-limit-note').hidden")
    assert page.eval_on_selector_all("a.export", "links => links.every(a => !a.hasAttribute('aria-disabled'))")
    assert_local_and_clean(watch)

def test_export_links_carry_every_filter(live_map_world, open_page):
    page, watch = open_page(VIEW + "&category=public_welfare,household", user=live_map_world.inspector)
    wait_drawn(page, assets=False)
    assert all("category=public_welfare,household" in h for h in page.eval_on_selector_all(
        "a.export", "links => links.map(a => a.getAttribute('href'))"))
    page.select_option("select[name=township]", live_map_world.areas.west.code)
    page.select_option("select[name=village]", live_map_world.areas.west_north.code)
    page.uncheck("input[name=type][value=livestock]")
    page.check("input[name=status][value=in_use]")
    page.fill("input[name=year_min]", "2015")
    page.fill("input[name=year_max]", "2024")
    page.select_option("select[name=verified]", "no")
    until(page, "location.hash.includes('verified=no') && location.hash.includes('year_max=2024')")
    links = page.eval_on_selector_all("a.export", "links => links.map(a => a.getAttribute('href'))")
    assert len(links) == 6
    formats = set()
    for href in links:
        path, _, query = href.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&"))
        assert path == "/import/export/"
        formats.add(params.pop("format"))
        assert params.pop("type").split(",") == [t for t in page.eval_on_selector_all(
            "input[name=type]:checked", "i => i.map(x => x.value)")]
        assert params == {"township": live_map_world.areas.west.code, "village": live_map_world.areas.west_north.code,
                          "status": "in_use", "year_min": "2015", "year_max": "2024", "verified": "no"}
    assert formats == {"xlsx", "csv", "gpkg", "shp", "geojson", "kml"}
    page.click("button[type=reset]")
    until(page, "!document.querySelector('a.export').getAttribute('href').includes('village=')")
    assert page.eval_on_selector_all("a.export", "links => links.every(a => !a.href.includes('verified'))")
    assert_local_and_clean(watch)


def test_legend_shows_what_is_drawn_and_collapses(live_map_world, open_page):
    from layers.registry import TYPE_STYLES

    page, watch = open_page(VIEW, user=live_map_world.inspector)
    wait_drawn(page)
    legend = page.locator("#legend")
    assert legend.is_visible()
    rows = page.eval_on_selector_all("#legend [data-type]", "rows => rows.map(r => r.dataset.type)")
    assert sorted(rows) == sorted(TYPE_STYLES)
    road = page.locator("#legend [data-type=road] line")
    canal = page.locator("#legend [data-type=irrigation] line")
    assert road.get_attribute("stroke-dasharray") == "none" and canal.get_attribute("stroke-dasharray") != "none"
    assert road.get_attribute("stroke") != canal.get_attribute("stroke")
    assert "村界线" in legend.inner_text() and "乡镇界线" in legend.inner_text() and "聚合" in legend.inner_text()
    shot(page, "map-desktop")
    # Only the types drawn are listed.
    page.uncheck("input[name=category_all][value=household]")
    until(page, "!document.querySelector('#legend [data-type=livestock]')")
    assert page.locator("#legend [data-type=road]").count() == 1
    # Collapsible.
    page.click("#legend .legend-toggle")
    assert page.locator("#legend-body").is_hidden()
    assert page.get_attribute("#legend .legend-toggle", "aria-expanded") == "false"
    page.click("#legend .legend-toggle")
    assert page.locator("#legend-body").is_visible()
    # Area names are drawn above the clusters, the assets themselves above the names.
    panes = page.evaluate("""['clusters', 'labels', 'assets'].map(n => Number(window.__map.getPane(n).style.zIndex))""")
    assert panes == sorted(panes) and len(set(panes)) == 3
    until(page, "document.querySelectorAll('.leaflet-labels-pane canvas').length > 0")
    assert_local_and_clean(watch)


def test_legend_on_phone(live_map_world, open_page):
    page, watch = open_page(VIEW, user=live_map_world.inspector, **PHONE)
    wait_drawn(page)
    toggle = page.locator("#legend .legend-toggle")
    assert toggle.is_visible() and page.locator("#legend-body").is_hidden()  # collapsed to leave room for the map
    toggle.click()
    assert page.locator("#legend-body").is_visible()
    box = page.locator("#legend").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.locator("#legend [data-type]").count() == 20
    assert_local_and_clean(watch)


@pytest.fixture
def new_york_page(browser, live_server):
    """A page in a browser whose clock is New York's, logged in as the given user."""
    from django.conf import settings
    from django.test import Client

    opened = []

    def _open(path, user):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                      timezone_id="America/New_York")
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
        page = context.new_page()
        watch = PageWatch(page)
        opened.append((context, watch))
        page.goto(live_server.url + path)
        return page, watch

    yield _open
    for context, watch in opened:
        watch.page.evaluate("window.stop()")
        watch.settle()
        context.close()


def test_times_are_the_countys_whatever_the_browser_clock(live_map_world, new_york_page):
    from django.utils import formats, timezone

    road = live_map_world.road
    page, watch = new_york_page(f"/#asset={road.code}", live_map_world.inspector)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    until(page, panel_complete(road.code))
    county = formats.date_format(timezone.localtime(road.last_verified_at), "DATETIME_FORMAT")
    assert county == "2025年5月1日 08:00"
    assert page.locator("#side-panel .verified").inner_text() == county
    latest = road.history.order_by("-history_date").first().history_date
    first = page.locator("#side-panel .history li").first.inner_text()
    assert first.startswith(formats.date_format(timezone.localtime(latest), "DATETIME_FORMAT"))
    page.goto(page.url.split("#")[0] + f"assets/{road.code}/")
    assert county in page.locator("table.detail").inner_text()  # the asset page says the same
    assert_local_and_clean(watch)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_asset_page_shows_the_asset_on_a_map_with_its_village(live_map_world, open_page, size):
    road = live_map_world.road
    page, watch = open_page(f"/assets/{road.code}/", **(PHONE if size == "phone" else {}))
    until(page, "window.__assetMap && window.__assetMap.asset && window.__assetMap.village")
    assert page.locator("#asset-map").is_visible()
    assert page.locator("#asset-map path.village-boundary").count() == 1
    assert page.locator("#asset-map path.asset-geometry").count() == 1
    assert page.locator("#asset-lon").inner_text() == f"{road.location.x:.6f}"
    assert page.locator("#asset-lat").inner_text() == f"{road.location.y:.6f}"
    assert road.village.name in page.locator(".asset-map-box figcaption").inner_text()
    # The village boundary is fitted in the map, not a speck.
    assert page.locator("#asset-map path.village-boundary").bounding_box()["width"] > 150
    # The asset code is one line, not broken at its hyphen on the phone.
    code = page.locator("table.detail td.code")
    assert code.inner_text() == road.code
    assert code.evaluate("td => { const r = document.createRange(); r.selectNodeContents(td);"
                         " return r.getClientRects().length; }") == 1
    shot(page, f"asset-page-{size}")
    assert_local_and_clean(watch)


def test_pasted_permalink_is_applied_to_the_open_map(live_map_world, open_page):
    page, watch = open_page(VIEW, user=live_map_world.inspector)
    wait_drawn(page)
    first = page.url
    water = live_map_world.water.point
    target = (f"#map=14/{water.y:.5f}/{water.x:.5f}&show=townships,villages,assets"
              f"&village={live_map_world.areas.west_north.code}&asset={live_map_world.water.code}")
    page.evaluate(f"location.hash = {json.dumps(target)}")  # what pasting the link into the address bar does
    until(page, "window.__map.getZoom() === 14")
    until(page, panel_complete(live_map_world.water.code))
    centre = page.evaluate("(() => { const c = window.__map.getCenter(); return [c.lng, c.lat]; })()")
    assert abs(centre[0] - water.x) < 2e-4 and abs(centre[1] - water.y) < 2e-4
    assert page.locator("select[name=village]").input_value() == live_map_world.areas.west_north.code
    until(page, f"window.__mapStats.focus === '{live_map_world.areas.west_north.code}'")
    wait_assets(page, [live_map_world.water.code])
    assert all(f"village={live_map_world.areas.west_north.code}" in h for h in page.eval_on_selector_all(
        "a.export", "links => links.map(a => a.getAttribute('href'))"))
    # Back: the previous view, no filter, no panel.
    page.go_back()
    until(page, "window.__map.getZoom() === 12")
    until(page, "!document.body.classList.contains('panel-open')")
    assert page.locator("select[name=village]").input_value() == ""
    until(page, "window.__mapIdle()")
    wait_assets(page, [live_map_world.road.code, live_map_world.water.code, live_map_world.greenhouse.code, live_map_world.livestock.code])
    assert page.url == first
    assert_local_and_clean(watch)


def test_clerk_map_opens_on_their_township(live_map_world, open_page):
    page, watch = open_page("/", user=live_map_world.clerk)
    wait_drawn(page, assets=False, villages=2)
    centre = page.evaluate("(() => { const c = window.__map.getCenter(); return [c.lng, c.lat]; })()")
    x0, y0, x1, y1 = live_map_world.areas.west.geom.extent
    assert abs(centre[0] - (x0 + x1) / 2) < 0.01 and abs(centre[1] - MID_Y) < 0.01
    assert drawn_assets(page) <= {live_map_world.road.code, live_map_world.water.code}
    second, watch2 = open_page("/", user=live_map_world.inspector)
    wait_drawn(second, assets=False)
    centre = second.evaluate("(() => { const c = window.__map.getCenter(); return [c.lng, c.lat]; })()")
    assert abs(centre[0] - MID_X) < 0.01
    assert_local_and_clean(watch)
    assert_local_and_clean(watch2)
