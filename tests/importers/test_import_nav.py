"""The header offers the import page to those who may import a ledger, and a refusal is a page of the product (its
header, the refusal's own words), not a bare "403 Forbidden"."""

import pytest
from django.test import Client

from geo_assets.taxonomy import Role
from tests.factories import make_areas, make_user

pytestmark = pytest.mark.django_db


def page(user, path):
    client = Client()
    client.force_login(user)
    return client.get(path)


@pytest.mark.parametrize(("role", "offered"), [(Role.FINANCE, True), (Role.COUNTY_ADMIN, True), (Role.INSPECTOR, False)])
def test_the_header_links_the_import_page_only_for_who_may_import(role, offered):
    user = make_user("u", role)
    html = page(user, "/projects/").content.decode()
    assert ('href="/import/"' in html) is offered


def test_a_refused_import_page_says_why_in_the_products_page():
    response = page(make_user("inspector", Role.INSPECTOR), "/import/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "您的账户没有导入资产的权限。" in html
    assert 'class="site-header"' in html and "403 Forbidden" not in html


def test_a_fund_ledger_has_no_coordinate_system_field_but_an_asset_ledger_has():
    make_areas()
    finance = page(make_user("finance", Role.FINANCE), "/import/").content.decode()
    admin = page(make_user("county", Role.COUNTY_ADMIN), "/import/").content.decode()
    assert 'name="crs"' not in finance and 'name="kind"' in finance
    assert 'name="crs"' in admin
