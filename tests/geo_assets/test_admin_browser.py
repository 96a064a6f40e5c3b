"""The admin in a real browser, as each role that may edit: change an asset with its funding and owners, add a
new one on the single map, move a point; what is refused is explained."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from geo_assets import services
from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType, OwnerKind, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_department, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def saved(page) -> None:
    """Save and wait: a refusal fails the test with the form's own messages."""
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success, .errornote, .errorlist")
    errors = page.locator(".errornote, .errorlist").all_inner_texts()
    assert not errors, errors


def editors(areas):
    office = make_department("扶贫办", [AssetType.EQUITY, AssetType.SANITATION])
    return {
        "county_admin": make_admin(),
        "department": make_user("fupinban", Role.DEPARTMENT, department=office),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westnorth", Role.VILLAGE, area=areas.west_north),
    }


@pytest.mark.parametrize("role", ["county_admin", "department", "township", "village"])
def test_each_editing_role_changes_funding_and_owners_and_adds_an_asset(open_page, role):
    areas = make_areas()
    users = editors(areas)
    user = users[role]
    equity = make_asset(
        actor=users["county_admin"], area=areas.west_north, name="西北村合作社股权", asset_type=AssetType.EQUITY,
        geometry=centre(areas.west_north), funding=[("central", Decimal("30"))],
        owners=[services.Share("西北村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("60")),
                services.Share("西北村合作社", OwnerKind.ENTERPRISE, Decimal("40"))])

    page, watch = open_page(f"/admin/geo_assets/asset/{equity.pk}/change/", user=user)
    page.wait_for_selector(".leaflet-container")
    page.fill("#id_name", "西北村合作社股权（已核）")
    page.fill("#id_funding-0-amount", "20")
    page.click("#funding-group .add-row a")
    page.select_option("#id_funding-1-source", "provincial")
    page.fill("#id_funding-1-amount", "15")
    page.fill("#id_owners-0-share", "50")
    page.fill("#id_owners-1-share", "50")
    shot(page, f"admin-change-{role}")
    saved(page)
    equity.refresh_from_db()
    assert equity.name == "西北村合作社股权（已核）"
    assert equity.total_investment == Decimal("35")
    assert {f.source: f.amount for f in equity.funding.all()} == {"central": 20, "provincial": 15}
    assert sorted(o.share for o in equity.owners.all()) == [50, 50]
    assert equity.history.latest("history_date").history_user == user

    page.goto(page.url.split("/admin/")[0] + "/admin/geo_assets/asset/add/")
    page.wait_for_selector(".leaflet-container")
    assert page.locator(".leaflet-container").count() == 1  # one map, whatever the geometry
    page.wait_for_selector(".leaflet-container[data-context-ready]")  # opened on the role's own area
    page.fill("#id_name", "新建公厕")
    page.select_option("#id_asset_type", AssetType.SANITATION)
    page.click(".leaflet-draw-draw-marker")
    box = page.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 20, box["y"] + box["height"] / 2 - 20)
    assert json.loads(page.input_value("#id_geometry"))["type"] == "Point"
    page.click("#funding-group .add-row a")
    page.select_option("#id_funding-0-source", "county")
    page.fill("#id_funding-0-amount", "8")
    shot(page, f"admin-add-{role}")
    saved(page)
    added = Asset.objects.get(name="新建公厕")
    assert added.point is not None and added.village is not None and added.total_investment == Decimal("8")
    assert Asset.objects.editable_by(user).filter(pk=added.pk).exists()
    assert watch.errors == []


def test_clerk_drags_the_point_on_the_map_widget(open_page):
    areas = make_areas()
    clerk = make_user("west", Role.TOWNSHIP, area=areas.west)
    asset = make_asset(actor=make_admin(), area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                       geometry=centre(areas.west_south))
    page, watch = open_page(f"/admin/geo_assets/asset/{asset.pk}/change/", user=clerk)
    page.wait_for_selector(".leaflet-marker-icon")
    # the village boundary is drawn under the editor (SVG path), so the clerk can place the asset
    assert page.locator("path.leaflet-interactive, .leaflet-overlay-pane path").count() >= 1
    before = json.loads(page.input_value("#id_geometry"))
    # the drawing tools speak Chinese
    assert page.get_attribute(".leaflet-draw-edit-edit", "title") == "编辑图形"

    page.click(".leaflet-draw-edit-edit")
    marker = page.locator(".leaflet-marker-icon").first.bounding_box()
    x, y = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y - 20, steps=8)
    page.mouse.up()
    page.click(".leaflet-draw-actions a >> nth=0")
    after = json.loads(page.input_value("#id_geometry"))
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
