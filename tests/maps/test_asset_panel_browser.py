"""A point clicked on the map opens its panel at once, named from the tile the map has drawn, and is completed when
the asset's document arrives; a document that arrives after another panel was asked for (or the panel was closed)
is dropped. The documents are held back here (page.route) so each state can be seen."""

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetStatus, AssetType
from tests.browser import panel_complete
from tests.factories import centre, make_asset
from tests.maps.conftest import BENEFICIARY, assert_local_and_clean, until, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]

PANEL = "document.getElementById('side-panel')"
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _click(page, lon: float, lat: float) -> None:
    point = page.evaluate(f"(() => {{ const p = window.__map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def _hold(page, code: str) -> list:
    """The asset's document is held until the test lets it go (route.continue_())."""
    held = []
    page.route(f"**/api/v1/assets/{code}/", lambda route: held.append(route))
    return held


def _release(page, held: list, code: str) -> None:
    with page.expect_response(lambda r: f"/api/v1/assets/{code}/" in r.url):
        held.pop().continue_()
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # its handler has run


def _open_at(open_page, asset, user, zoom: int = 15, **size):
    point = asset.point
    page, watch = open_page(f"/#map={zoom}/{point.y:.5f}/{point.x:.5f}", user=user, **size)
    wait_drawn(page, villages=1)
    until(page, f"window.__mapStats.assets['{asset.code}'] !== undefined && window.__mapIdle()")
    return page, watch


def _water_clicked(open_page, w, **size):
    """The map opened on the water works, its document held, the point clicked: the panel is loading."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, watch = _open_at(open_page, w.water, w.inspector, **size)
    if size:  # the point low in the map, where a phone's bottom sheet will cover it
        page.evaluate(f"""(() => {{ const m = window.__map, p = m.latLngToContainerPoint([{w.water.point.y}, {w.water.point.x}]);
            m.panBy([0, p.y - m.getSize().y * 0.85], {{animate: false}}); }})()""")
        until(page, f"window.__mapStats.assets['{w.water.code}'] !== undefined && window.__mapIdle()")
    held = _hold(page, w.water.code)
    _click(page, w.water.point.x, w.water.point.y)
    until(page, f"{PANEL}.dataset.code === '{w.water.code}' && {PANEL}.dataset.state === 'loading'")
    return page, watch, held


def _point_and_sheet(page, point) -> tuple[float, float, float]:
    """The point's height on the page, the top of the panel (a phone's bottom sheet) and the top of the map."""
    return page.evaluate(f"""(() => {{ const m = window.__map, p = m.latLngToContainerPoint([{point.y}, {point.x}]);
        return [p.y + m.getContainer().getBoundingClientRect().top, {PANEL}.getBoundingClientRect().top,
                m.getContainer().getBoundingClientRect().top]; }})()""")


def test_the_panel_opens_from_the_tile_and_is_completed_by_the_document(live_map_world, open_page):
    w = live_map_world
    page, watch, held = _water_clicked(open_page, w)
    until(page, "document.body.classList.contains('panel-open')")
    assert held, "the document was asked for"
    assert page.locator("#side-title").inner_text() == w.water.name
    body = page.locator("#side-body").inner_text()
    with translation.override("zh-hans"):
        for text in (w.water.code, str(AssetType(w.water.asset_type).label), str(AssetStatus(w.water.status).label),
                     "正在加载…"):
            assert text in body, (text, body)
    assert page.locator("#asset-page-link").count() == 0  # the rest comes with the document
    page.screenshot(path=str(SHOTS / "map-panel-loading.png"))
    assert w.water.code in page.evaluate("location.hash")  # a permalink to it already

    _release(page, held, w.water.code)
    until(page, panel_complete())
    assert page.locator("#side-title").inner_text() == w.water.name
    assert page.locator("#asset-page-link").count() == 1
    assert "正在加载…" not in page.locator("#side-body").inner_text()
    assert_local_and_clean(watch)


def test_a_late_document_does_not_reopen_a_closed_panel_or_replace_a_village(live_map_world, open_page):
    w = live_map_world
    page, watch, held = _water_clicked(open_page, w)
    page.click("#side-close")
    _release(page, held, w.water.code)
    assert page.evaluate("document.body.classList.contains('panel-open')") is False
    assert page.evaluate("window.__mapStats.selected") is None

    # the water works again, then its village (a click beside it, on no asset) before its document arrives
    _click(page, w.water.point.x, w.water.point.y)
    until(page, f"{PANEL}.dataset.code === '{w.water.code}' && {PANEL}.dataset.state === 'loading'")
    page.evaluate("window.__map.setView(window.__map.getCenter(), 13, {animate: false})")  # below detail: no assets
    until(page, "window.__mapIdle()")
    village = w.areas.west_north
    x0, y0, x1, y1 = village.geom.extent  # a quarter in from its corner: inside it, away from the water works
    _click(page, x0 + (x1 - x0) / 4, y0 + (y1 - y0) / 4)
    until(page, panel_complete(village.code))
    _release(page, held, w.water.code)
    assert page.evaluate(f"{PANEL}.dataset.code") == village.code
    assert page.evaluate("window.__mapStats.village") == village.code
    assert village.name in page.locator("#side-title").inner_text()
    assert_local_and_clean(watch)


def test_the_public_panel_from_the_tile_names_no_beneficiary(live_map_world, open_page):
    w = live_map_world
    area = w.areas.west_south
    asset = make_asset(actor=w.admin, area=area, name=f"{BENEFICIARY}到户养殖", asset_type=AssetType.LIVESTOCK,
                       geometry=centre(area), custodian_person=BENEFICIARY, is_published=True)
    asset = Asset.objects.get(pk=asset.pk)
    assert BENEFICIARY not in asset.public_name
    page, watch = _open_at(open_page, asset, None)
    held = _hold(page, asset.code)
    _click(page, asset.point.x, asset.point.y)
    until(page, f"{PANEL}.dataset.code === '{asset.code}' && {PANEL}.dataset.state === 'loading'")
    first = page.locator("#side-title").inner_text()
    assert first == asset.public_name
    assert BENEFICIARY not in page.locator("#side-panel").inner_text()
    _release(page, held, asset.code)
    until(page, panel_complete())
    assert page.locator("#side-title").inner_text() == first  # the document names it as the tile did
    assert BENEFICIARY not in page.locator("#side-panel").inner_text()
    assert_local_and_clean(watch)


def test_on_a_phone_the_clicked_point_stays_above_the_sheet_while_it_loads(live_map_world, open_page):
    w = live_map_world
    page, watch, held = _water_clicked(open_page, w, width=375, height=700)
    page.wait_for_timeout(300)  # the view's move, if any
    y, sheet_top, map_top = _point_and_sheet(page, w.water.point)
    assert map_top < y < sheet_top, (y, sheet_top)
    page.screenshot(path=str(SHOTS / "map-panel-loading-phone.png"))
    _release(page, held, w.water.code)
    until(page, panel_complete())
    page.wait_for_timeout(300)
    y, sheet_top, map_top = _point_and_sheet(page, w.water.point)
    assert map_top < y < sheet_top, (y, sheet_top)  # the fuller sheet did not cover it either
    page.screenshot(path=str(SHOTS / "map-panel-complete-phone.png"))
    assert_local_and_clean(watch)


def test_a_map_moved_while_the_document_loads_stays_where_it_was_moved(live_map_world, open_page):
    w = live_map_world
    page, watch, held = _water_clicked(open_page, w)
    pen = w.livestock.location
    page.evaluate(f"window.__map.setView([{pen.y}, {pen.x}], 15, {{animate: false}})")
    _release(page, held, w.water.code)
    until(page, panel_complete())
    centre_now = page.evaluate("(() => { const c = window.__map.getCenter(); return [c.lng, c.lat]; })()")
    assert abs(centre_now[0] - pen.x) < 1e-4 and abs(centre_now[1] - pen.y) < 1e-4, centre_now
    assert_local_and_clean(watch)
