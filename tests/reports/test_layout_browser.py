"""Issue 21 item 19, the layout of the villagers' page, the alert list and map and the report pages in Chromium at
phone and desk size: no table cell too narrow for a word, no sideways scroll, alerts grouped on the map. Apart from
tests/reports/test_layout.py, whose tests use the county built once: these need it committed (live server)."""

import pytest

from geo_assets.models import AdminArea

SHOTS = "/tmp/layout-shots"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 800}

NARROW_CELLS = """(min) => Array.from(document.querySelectorAll('main td, main th'))
    .filter(c => c.offsetParent !== null && c.textContent.trim().length >= 2)
    .filter(c => !c.closest('thead') || getComputedStyle(c.closest('thead')).position !== 'absolute')  // cards
    .map(c => [c.getBoundingClientRect().width, c.textContent.trim().slice(0, 20)])
    .filter(([w]) => w < min)"""


def assert_readable_tables(page, min_width: int = 30) -> None:
    """No table cell holding a word is narrower than min_width px (two characters and padding are ~30 px), and the page
    does not scroll sideways (a wide table scrolls inside its own box)."""
    assert page.evaluate(NARROW_CELLS, min_width) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [PHONE, DESK], ids=["phone", "desk"])
def test_villagers_alerts_and_report_pages_keep_words_whole(live_demo_county, open_page, size):
    village = AdminArea.objects.villages().filter(village_assets__is_published=True).order_by("code").first()
    pages = [("public", f"/public/villages/{village.code}/", None), ("alerts", "/alerts/", live_demo_county),
             ("report", f"/reports/villages/{village.code}/", live_demo_county), ("county", "/reports/county/", live_demo_county)]
    for name, url, user in pages:
        page, _watch = open_page(url, user=user, **size)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=f"{SHOTS}/test-{name}-{size['width']}.png", full_page=True)
        assert_readable_tables(page)
        if name == "public" and size is PHONE:  # each asset a card: its name first, then labelled values
            first = page.locator("#public-assets tbody tr").first
            assert first.evaluate("tr => getComputedStyle(tr).display") == "flex"
            labels = first.evaluate("tr => Array.from(tr.cells).map(c => getComputedStyle(c, '::before').content)")
            assert '"类型"' in labels and '"投资（万元）"' in labels
            title, code = (first.locator(sel).bounding_box()["y"] for sel in ("td.card-title", "td.code"))
            assert title < code


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_alert_map_groups_alerts_at_county_zoom(live_demo_county, open_page):
    page, watch = open_page("/alerts/", user=live_demo_county, **DESK)
    page.wait_for_function("window.__alertsDrawn !== undefined && window.__alertsMarkers !== undefined")
    drawn = page.evaluate("window.__alertsDrawn")
    markers = page.evaluate("window.__alertsMarkers")
    assert drawn > 50
    assert markers["groups"] > 0 and markers["groups"] + markers["singles"] < drawn / 3
    page.screenshot(path=f"{SHOTS}/test-alert-map.png")
    # a group is a marker with its count; a click zooms in and the groups split
    zoom = page.evaluate("window.__alertsMarkers.groups")
    page.locator(".alert-cluster").first.click()
    page.wait_for_timeout(800)
    assert page.evaluate("window.__alertsMarkers.groups + window.__alertsMarkers.singles") >= 1
    assert page.evaluate("document.querySelectorAll('.alert-cluster').length") == page.evaluate(
        "window.__alertsMarkers.groups")
    assert zoom > 0 and not watch.errors
