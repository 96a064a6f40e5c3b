"""The oversight report in headless Chromium at desktop and phone width: the map of the counties and the tables
fit the screen (the wide tables scroll in their own boxes), the colour-by choice redraws the map."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_oversight_report_fits_desktop_and_phone(live_county_world, open_page, tmp_path, width):
    page, watch = open_page("/reports/oversight/", user=live_county_world.users["prefecture"], width=width,
                            height=900)
    assert page.locator("svg.report-map path.county").count() == 2
    box = page.locator("svg.report-map").bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= width  # the map scales down to the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # only the table boxes scroll
    page.screenshot(path=str(tmp_path / f"oversight-{width}.png"), full_page=True)
    page.select_option("select[name=by]", "verification")
    page.click("form.report-actions button[type=submit]")
    page.wait_for_url("**/reports/oversight/?by=verification")
    assert "核查覆盖" in page.locator("figcaption.legend").inner_text()
    # the dashboard's link to the report wraps like any text: a phone does not scroll sideways for it
    page.goto(page.url.split("/reports/")[0] + "/dashboard/")
    assert page.locator("main a[href='/reports/oversight/']").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert not watch.errors
    assert watch.hosts <= {"127.0.0.1", "localhost"}
