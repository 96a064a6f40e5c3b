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
