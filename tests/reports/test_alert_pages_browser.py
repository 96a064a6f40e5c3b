"""The county's alert list at a phone's width: each alert a compact card — its level beside its rule, its township
and village on the next line, then the asset and the evidence — with no cell grid and nothing wider than the
screen."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_alert_cards_on_a_phone(live_ledger_world, open_page):
    page, watch = open_page("/alerts/", user=live_ledger_world.users["county_admin"], width=390, height=800)
    cards = page.locator("#alerts-table tbody tr")
    assert cards.count() >= 10
    for i in range(3):
        card = cards.nth(i)
        level, rule = card.locator("td").nth(0).bounding_box(), card.locator("td.card-title").bounding_box()
        township, village = card.locator("td").nth(2).bounding_box(), card.locator("td").nth(3).bounding_box()
        assert abs(level["y"] - rule["y"]) < 4 and level["x"] < rule["x"]  # one line: level, then rule
        assert township["y"] > rule["y"] and abs(township["y"] - village["y"]) < 4  # then township · village
        assert card.locator("td").nth(4).bounding_box()["y"] > township["y"]
        assert card.locator("td").nth(0).evaluate("td => getComputedStyle(td).borderTopWidth") == "0px"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})  # a desk: the table as it was
    assert page.locator("#alerts-table thead").is_visible()
    assert watch.errors == []
