"""The import page in a real headless Chromium: upload, progress, map preview, confirm, report. No CDN."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from geo_assets.models import Asset
from tests.factories import make_admin, make_areas
from tests.importers import builders as b

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]  # browser: tests/browser.py


@pytest.fixture
def page(live_server, settings, tmp_path, browser):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_areas()
    client = Client()
    client.force_login(make_admin())
    context = browser.new_context(locale="zh-CN")
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    pg = context.new_page()
    pg.errors, pg.hosts = [], set()
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.on("console", lambda msg: pg.errors.append(msg.text) if msg.type == "error" else None)

    def route(r):
        host = urlsplit(r.request.url).hostname
        pg.hosts.add(host)
        r.continue_() if host in ("127.0.0.1", "localhost") else r.abort()

    pg.route("**/*", route)
    pg.base = live_server.url
    yield pg
    context.close()


def test_upload_preview_confirm_and_report(page, tmp_path):
    data = b.rows(3)
    data[1]["资产类型"] = "飞船"
    path = b.write_csv(tmp_path / "台账.csv", data)
    page.goto(page.base + "/import/")
    page.set_input_files("input[type=file]", str(path))
    page.click("#upload-submit")
    page.wait_for_selector("#job-progress")
    call_command("importers_worker", "--once")
    page.wait_for_selector("#preview-map", timeout=15000)
    page.wait_for_function("window.__importPreview && window.__importPreview.features === 2", timeout=15000)
    page.wait_for_function("window.__importVillages === 4", timeout=15000)  # village boundaries under the rows
    assert page.locator("tr.invalid").count() == 1
    assert "飞船" in page.locator("tr.invalid").inner_text()
    for width in (1366, 390):  # the preview's many columns scroll in their own box; the page keeps the screen's width
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if width == 390:
            assert page.locator("#import-preview").evaluate("e => e.scrollWidth > e.clientWidth")
        cell = page.locator("#import-preview tbody tr:not(.invalid)").first.locator("td").nth(3).bounding_box()
        assert cell["height"] < 40  # a name on one line, not a character a line
    page.check("#skip-invalid")
    page.click("#confirm-import")
    page.wait_for_selector("#job-progress")
    call_command("importers_worker", "--once")
    page.wait_for_selector("#import-report", timeout=15000)
    assert "2" in page.locator("#import-report").inner_text()
    assert Asset.objects.count() == 2
    assert page.locator("ul.asset-links a").count() == 2  # links to the new assets
    assert page.hosts <= {"127.0.0.1", "localhost"}, page.hosts
    assert page.errors == [], page.errors
    assert settings.LEAFLET_CONFIG["TILES"] == []
