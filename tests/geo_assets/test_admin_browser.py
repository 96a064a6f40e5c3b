"""A clerk moves an asset on the admin's Leaflet map widget in a real browser; the history shows it."""

import json

import pytest

from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


def test_clerk_drags_the_point_on_the_map_widget(open_page):
    areas = make_areas()
    clerk = make_user("west", Role.TOWNSHIP, area=areas.west)
    asset = make_asset(actor=make_admin(), area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                       geometry=centre(areas.west_south))
    page, watch = open_page(f"/admin/geo_assets/asset/{asset.pk}/change/", user=clerk)
    page.wait_for_selector(".leaflet-marker-icon")
    # the village boundary is drawn under the editor (SVG path), so the clerk can place the asset
    assert page.locator("path.leaflet-interactive, .leaflet-overlay-pane path").count() >= 1
    before = json.loads(page.input_value("#id_point"))

    page.click(".leaflet-draw-edit-edit")
    marker = page.locator(".leaflet-marker-icon").first.bounding_box()
    x, y = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y - 20, steps=8)
    page.mouse.up()
    page.click(".leaflet-draw-actions a[title^='Save']")
    after = json.loads(page.input_value("#id_point"))
    assert after["coordinates"][0] > before["coordinates"][0]
    assert after["coordinates"][1] > before["coordinates"][1]

    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    asset.refresh_from_db()
    assert asset.point.x == pytest.approx(after["coordinates"][0], abs=1e-6)
    assert asset.village == areas.west_south
    record = asset.history.latest("history_date")
    assert record.history_user == clerk
    assert "point" in {c.field for c in record.diff_against(record.prev_record).changes}
    assert watch.hosts <= {"127.0.0.1", "localhost"}, watch.hosts
    assert watch.errors == []
