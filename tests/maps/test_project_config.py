"""What the map page offers about projects: the filter and its registry entry for staff, nothing for the public."""

import json

import pytest
from django.test import Client

from geo_assets.taxonomy import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def page(user=None) -> tuple[dict, str]:
    client = Client()
    if user is not None:
        client.force_login(user)
    html = client.get("/").content.decode()
    marker = '<script id="map-config" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start:html.index("</script>", start)]), html


def asset_filters(config) -> list[str]:
    return next(layer for layer in config["registry"]["layers"] if layer["name"] == "assets")["filters"]


@pytest.mark.parametrize("role", [Role.VILLAGE, Role.TOWNSHIP, Role.DEPARTMENT, Role.INSPECTOR, Role.FINANCE,
                                  Role.COUNTY_ADMIN])
def test_staff_get_the_project_filter(areas, role):
    from tests.factories import make_department

    extra = {Role.VILLAGE: {"area": areas.west_south}, Role.TOWNSHIP: {"area": areas.west},
             Role.DEPARTMENT: {"department": make_department()}}.get(role, {})
    config, html = page(make_user(f"u_{role}", role, **extra))
    assert config["projects"] is True and "project" in asset_filters(config)
    assert 'name="project"' in html and 'id="project-options"' in html and 'id="export-project-note"' in html


@pytest.mark.parametrize("who", ["anonymous", "no_role"])
def test_the_public_gets_none(areas, who):
    config, html = page(None if who == "anonymous" else make_user("nobody"))
    assert config["projects"] is False and "project" not in asset_filters(config)
    assert 'name="project"' not in html and "project-options" not in html and "export-project-note" not in html
