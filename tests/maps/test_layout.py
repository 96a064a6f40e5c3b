"""Issue 21 item 19 on the map and the asset pages: the legend a small corner of the map, the notice PDF with no
row split across pages, an asset's timeline starting with its registration."""

import datetime
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from geo_assets.taxonomy import AssetType, PublicityScope, PublicityStage, RegistrationStatus, Role
from lifecycle import services
from lifecycle.selectors import asset_timeline
from tests.factories import make_admin, make_areas, make_asset, make_user
from tests.layers.conftest import make_world

SHOTS = "/tmp/layout-shots"
DESK = {"width": 1366, "height": 800}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_passwords")
def test_legend_is_a_small_corner_of_the_map_and_opens_on_request(open_page):
    from layers.registry import TYPE_STYLES

    world = make_world()
    page, watch = open_page("/", user=world.inspector, **DESK)
    page.wait_for_selector("#legend-body")
    map_box, legend = page.locator("#map").bounding_box(), page.locator("#legend")

    def share():
        box = legend.bounding_box()
        return box["width"] * box["height"] / (map_box["width"] * map_box["height"]), box["height"] / map_box["height"]

    area, height = share()
    page.screenshot(path=f"{SHOTS}/test-legend-compact.png")
    assert area < 0.06 and height < 0.35, (area, height)  # it was a third of the map
    assert page.locator("#legend .legend-category").count() == 3
    assert page.locator("#legend [data-type]:visible").count() == 0
    page.click("#legend-more")  # every type, with its swatch, on request
    assert page.locator("#legend [data-type]:visible").count() == len(TYPE_STYLES)
    assert page.get_attribute("#legend-more", "aria-expanded") == "true"
    page.screenshot(path=f"{SHOTS}/test-legend-types.png")
    assert share()[1] < 0.8  # and still inside the map, scrolling if need be
    page.click("#legend-more")
    assert page.locator("#legend [data-type]:visible").count() == 0
    assert not watch.errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_passwords")
def test_filter_panel_offers_a_department_only_its_types(open_page):
    world = make_world()  # the roads department sees roads only
    page, _watch = open_page("/", user=world.department, **DESK)
    page.wait_for_selector("#filters input[name=type]", state="attached")
    assert page.eval_on_selector_all("#filters input[name=type]", "i => i.map(x => x.value)") == ["road"]
    assert page.eval_on_selector_all("#legend [data-type]", "r => r.map(x => x.dataset.type)") == ["road"]
    page, _watch = open_page("/", user=world.clerk, **DESK)  # a township clerk: its township and villages
    page.wait_for_selector("#filters select[name=village] option", state="attached")
    assert page.eval_on_selector_all("#filters select[name=township] option", "o => o.map(x => x.value)") == [
        "", world.areas.west.code]
    assert sorted(page.eval_on_selector_all("#filters select[name=village] option", "o => o.map(x => x.value)")) == [
        "", world.areas.west_south.code, world.areas.west_north.code]


def pdf_pages(content: bytes) -> list[str]:
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext (Debian poppler-utils) is needed"
    text = subprocess.run([exe, "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()
    return [page for page in text.split("\f") if page.strip()]


def long_notice(count: int = 70):
    """An inventory notice of `count` assets whose names run over several lines ("首007…尾007号")."""
    areas = make_areas()
    admin = make_admin()
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    for n in range(count):
        make_asset(actor=admin, area=areas.west_south, is_published=True, asset_type=AssetType.WATER_SUPPLY,
                   name=f"首{n:03d}西南村安全饮水工程提灌站配套管网及蓄水池改造提升项目（含水源地保护、输水主管、"
                        f"入户支管、水质净化消毒设备和管理用房）第{n:03d}期尾{n:03d}号")
    today = timezone.localdate()
    notice = services.notice_post(actor=clerk, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                   area=areas.west_south, starts_on=today, ends_on=today + datetime.timedelta(days=6))
    return notice, count


@pytest.mark.django_db
def test_notice_pdf_splits_no_row_across_pages():
    """Rows of several lines (long names) on many pages: each row on one page, the heading on every page.
    (WeasyPrint 70 keeps rows whole by default too; the print CSS says so explicitly.)"""
    notice, count = long_notice()
    response = Client().get(f"/notices/{notice.token}.pdf")
    assert response.status_code == 200
    pages = pdf_pages(response.content)
    assert len(pages) >= 3
    for page in pages:
        if "首" in page:
            assert "资产编号" in page and "投资（万元）" in page  # the heading repeats on every page of rows
    for n in range(count):
        holding = [i for i, page in enumerate(pages) if f"首{n:03d}" in page or f"尾{n:03d}号" in page]
        assert len(holding) == 1, (n, holding)  # start and end of the row on one page
    assert "10" in pages[0] and ".0000" not in "".join(pages)  # amounts as |wan writes them


@pytest.mark.django_db
def test_timeline_starts_with_the_registration_in_the_ledger():
    """登记入册 on the asset's registration date (not the day the record was typed in), events oldest first."""
    areas = make_areas()
    admin = make_admin()
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    today = timezone.localdate()
    registered = today - datetime.timedelta(days=900)
    asset = make_asset(actor=admin, area=areas.west_south, name="西南村光伏电站", asset_type=AssetType.PV_STATION,
                       is_published=True, registration_status=RegistrationStatus.REGISTERED,
                       registration_date=registered)
    services.contract_record(actor=clerk, asset=asset, operator="甲公司", number="HT-1",
                              starts_on=today - datetime.timedelta(days=400),
                              ends_on=today + datetime.timedelta(days=300), yearly_due=Decimal("3.5000"),
                              mechanism="收益归村集体")
    services.income_record(actor=clerk, asset=asset, year=today.year - 1, amount=Decimal("5.0000"),
                            received_on=today - datetime.timedelta(days=30))
    for user in (admin, None):
        from django.contrib.auth.models import AnonymousUser

        events = asset_timeline(asset, user or AnonymousUser())
        assert events[0].kind == "registration" and events[0].title == "登记入册", events
        assert events[0].date == registered
        assert [e.date for e in events] == sorted(e.date for e in events)
        details = " ".join(e.detail for e in events)
        assert "3.5 万元" in details and "5 万元" in details and ".0000" not in details
    staff = asset_timeline(asset, admin)[0]
    assert f"录入本系统：{today:%Y-%m-%d}" in staff.detail  # when it was typed in, for staff


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_notice_page_printed_from_a_browser_splits_no_row(open_page):
    """The online notice printed by Chromium (which splits rows unless told not to) keeps each row on one page;
    on a phone its table scrolls sideways inside its box."""
    notice, count = long_notice()
    page, _watch = open_page(f"/notices/{notice.token}/", width=390, height=844)
    page.screenshot(path=f"{SHOTS}/test-notice-390.png", full_page=True)
    pages = pdf_pages(page.pdf(format="A4"))
    assert len(pages) >= 3
    for n in range(count):
        holding = [i for i, text in enumerate(pages) if f"首{n:03d}" in text or f"尾{n:03d}号" in text]
        assert len(holding) == 1, (n, holding)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
