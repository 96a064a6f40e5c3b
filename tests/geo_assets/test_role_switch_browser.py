"""Issue 19 in a real browser: a person with two roles picks the other one in the header and the next page is that
role's; on a phone the role in use is the first thing the header shows."""

import pytest

from geo_assets.taxonomy import Role
from tests.factories import make_areas, make_member, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


def test_choosing_the_other_role_in_the_header(open_page):
    areas = make_areas()
    clerk = make_user("liangtou", Role.TOWNSHIP, area=areas.west)
    make_member(clerk, Role.VILLAGE, area=areas.east_south)
    page, watch = open_page("/reports/", user=clerk)
    select = page.locator('select[name="membership"]')
    assert "西镇" in select.locator("option:checked").inner_text()
    assert "西南村" in page.inner_text("main") and "东南村" not in page.inner_text("main")
    with page.expect_navigation():
        select.select_option(label=select.locator("option", has_text="东南村").inner_text())
    assert page.url.endswith("/reports/")
    assert "东南村" in page.locator('select[name="membership"] option:checked').inner_text()
    assert "东南村" in page.inner_text("main") and "西南村" not in page.inner_text("main")
    assert watch.errors == []


def test_on_a_phone_the_role_in_use_comes_first(open_page):
    areas = make_areas()
    clerk = make_user("cunguan", Role.VILLAGE, area=areas.west_south)
    page, _watch = open_page("/reports/", user=clerk, width=390, height=700)
    role = page.locator(".site-header .role-current")
    box = role.bounding_box()
    assert "西南村" in role.inner_text() and box is not None and box["x"] + box["width"] <= 390


def test_on_a_phone_the_links_fold_under_the_menu_button(open_page):
    """A staff member's ten links do not run off a phone's header: they fold under 菜单 (no script), the role stays
    in sight, and every link is reachable; on a desk the links show and the button does not."""
    areas = make_areas()
    clerk = make_user("caiwu", Role.VILLAGE, area=areas.west_south)
    page, watch = open_page("/reports/", user=clerk, width=390, height=700)
    button, reports = page.locator(".nav-button"), page.locator(".site-header nav a[href='/reports/']")
    assert button.is_visible() and "菜单" in button.inner_text()
    assert not reports.is_visible()
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 60 and page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "西南村" in page.locator(".site-header .role-current").inner_text()
    button.click()
    links = page.locator(".site-header nav > a")
    assert links.count() >= 8 and all(links.nth(i).is_visible() for i in range(links.count()))
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, links.nth(i).inner_text()
    with page.expect_navigation():
        page.locator(".site-header nav a[href='/todo/']").click()
    assert page.url.endswith("/todo/") and not page.locator(".site-header nav a[href='/reports/']").is_visible()
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not page.locator(".nav-button").is_visible()
    assert page.locator(".site-header nav a[href='/reports/']").is_visible()
    assert watch.errors == []
