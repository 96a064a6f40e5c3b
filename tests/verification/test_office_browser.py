"""The campaign page in headless Chromium: villages coloured by progress on the map, the table sorts."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_campaign_map_colours_villages_and_table_sorts(office, open_page):
    areas, users, _assets, records = office
    from verification import services

    for key in ("flagged", "missing"):  # a campaign counts verifications that count (issue 21 item 16)
        services.verification_review(actor=users["county_admin"], verification=records[key], approve=True,
                                     comment="属实")
    page, watch = open_page(f"/verification/campaigns/{records['campaign'].pk}/", user=users["county_admin"])
    page.wait_for_selector("#progress-map.map-loaded", timeout=15000)
    fills = page.eval_on_selector_all("#progress-map path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('fill'))")
    assert sorted(fills) == ["#1a9850", "#d73027"]  # 西南村 all verified (its records approved), 东南村 not yet
    header = page.locator("#progress-table th", has_text="完成率")
    header.click()
    first = lambda: page.locator("#progress-table tbody tr").first.get_attribute("data-code")  # noqa: E731
    assert first() == areas.east_south.code
    header.click()
    assert first() == areas.west_south.code
    page.locator("#progress-map path.leaflet-interactive[fill='#d73027']").click()
    assert page.locator("#assign-village").input_value() == areas.east_south.code
    assert not watch.errors and watch.hosts <= {"127.0.0.1", "localhost"}


def test_the_campaign_pages_fit_a_phone_and_the_table_scrolls_in_its_own_box(office, open_page):
    _areas, users, _assets, records = office
    page, watch = open_page(f"/verification/campaigns/{records['campaign'].pk}/", user=users["county_admin"],
                            width=390, height=844)
    page.wait_for_selector("#progress-map.map-loaded", timeout=15000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in ("#progress-map", ".assign-form"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    table = page.locator("#progress-table")
    assert table.evaluate("t => t.scrollWidth > t.clientWidth")  # nine columns: the table scrolls, not the page
    narrow = page.eval_on_selector_all("#progress-table td, #progress-table th", """cells => cells
        .filter(c => c.textContent.trim().length >= 2 && c.getBoundingClientRect().width < 30)
        .map(c => c.textContent.trim())""")
    assert narrow == []  # no word broken a character a line
    page.goto(page.url.split("/verification/")[0] + "/verification/campaigns/new/")  # the name's box fits too
    assert page.locator("#id_name").bounding_box()["width"] <= 390 - 24
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not watch.errors
