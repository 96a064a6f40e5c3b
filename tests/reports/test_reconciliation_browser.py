"""The reconciliation page in headless Chromium: filter, drill down into a kind of finding, follow it to the
project's page; at phone width the tables become cards."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_filter_drill_down_and_link_to_the_project(live_ledger_world, open_page, live_server):
    page, watch = open_page("/reconciliation/", user=live_ledger_world.users["finance"])
    codes = lambda: page.eval_on_selector_all("#projects-table tbody tr", "rs => rs.map(r => r.dataset.code)")  # noqa: E731
    assert len(codes()) == 13
    page.select_option("select[name=year]", "2024")
    page.select_option("select[name=township]", "410324101000")
    page.click("#reconciliation-filters button[type=submit]")
    page.wait_for_url("**/reconciliation/?*")
    assert sorted(codes()) == ["LC-2024-001", "LC-2024-002", "LC-2024-007", "LC-2024-011", "LC-2024-013"]
    assert page.locator("select[name=year]").input_value() == "2024"
    page.click("a[data-kind=accepted_without_assets]")
    page.wait_for_url("**kind=accepted_without_assets*")
    rows = page.locator("#kind-accepted_without_assets tr.finding")
    assert rows.count() == 1 and "LC-2024-002" in rows.first.inner_text()
    assert "year=2024" in page.url and "township=410324101000" in page.url  # the filters kept
    assert page.locator("#kind-partly_formed").get_attribute("data-count") == "0"
    assert rows.first.locator("a.map-link").get_attribute("href") == "/#project=LC-2024-002"
    rows.first.locator("a.project-link").click()
    page.wait_for_url(f"{live_server.url}/projects/LC-2024-002/")
    assert watch.hosts <= {"127.0.0.1", "localhost"}


def test_at_phone_width_rows_are_cards(live_ledger_world, open_page):
    page, watch = open_page("/reconciliation/?kind=asset_without_project", user=live_ledger_world.users["township"],
                            width=390, height=800)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # nothing wider than the phone but the tables' own scrolling boxes
    display = page.eval_on_selector("#projects-table tbody tr", "r => getComputedStyle(r).display")
    assert display == "flex"
    assert not [e for e in watch.errors if "404" not in e]
