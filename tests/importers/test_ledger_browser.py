"""The finance bureau imports a fund ledger in a real headless Chromium: the upload page offers the fund ledger,
the check shows the rows in a table (no map), confirm, the report. No CDN, no script errors."""

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from geo_assets.taxonomy import Role
from projects.models import FundLine
from tests.factories import make_admin, make_areas, make_department, make_user
from tests.importers import builders as b

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]  # browser: tests/browser.py


@pytest.fixture
def finance_page(live_server, settings, tmp_path, browser):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_areas()
    make_admin()
    make_department("水利局")
    call_command("import_projects", str(b.write_csv(tmp_path / "p.csv", b.project_rows(2))), stdout=None)
    client = Client()
    client.force_login(make_user("finance", Role.FINANCE))
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


def test_the_finance_bureau_imports_a_fund_ledger(finance_page, tmp_path):
    page = finance_page
    data = b.fund_rows(["XM2024-001", "XM2024-002"], per_project=2)
    path = b.write_table_xlsx(tmp_path / "资金台账.xlsx", data, merge=["项目编号"])
    page.goto(page.base + "/import/")
    assert page.locator("input[name=kind][value=funds]").is_checked()
    assert page.locator("input[name=kind]").count() == 1  # the fund ledger only
    assert page.locator("#template-funds").count() == 1
    page.set_input_files("input[type=file]", str(path))
    page.click("#upload-submit")
    page.wait_for_selector("#job-progress")
    call_command("importers_worker", "--once")
    page.wait_for_selector("#confirm-import", timeout=15000)
    assert page.locator("#preview-map").count() == 0 and page.locator("tr.invalid").count() == 0
    assert page.locator("#job-kind").inner_text() == "资金台账"
    page.click("#confirm-import")
    page.wait_for_selector("#job-progress")
    call_command("importers_worker", "--once")
    page.wait_for_selector("#import-report", timeout=15000)
    assert "4" in page.locator("#import-report").inner_text()
    assert FundLine.objects.count() == 4
    assert page.hosts <= {"127.0.0.1", "localhost"}, page.hosts
    assert page.errors == [], page.errors
