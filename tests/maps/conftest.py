"""Fixtures and helpers of the map tests: the data sets (built from tests/factories.py, see tests/world.py), waiting
for the map page to draw, and what it drew."""

import json

import pytest

from geo_assets.taxonomy import AssetType, Role
from tests.factories import (
    centre,
    fund_line,
    link,
    make_admin,
    make_areas,
    make_asset,
    make_department,
    make_user,
    project,
)
from tests.world import build_map_world, built_once, copy_for_test

BENEFICIARY, PHONE = "马永福", "13912345678"


def build_route_world():
    """A published and an unpublished household asset of village 西南村 (A) named after their beneficiary, and one
    user per role in and out of A's scope (tests/maps/test_out_of_scope_routes.py)."""
    areas = make_areas()
    admin = make_admin()
    household = {"asset_type": AssetType.LIVESTOCK, "geometry": centre(areas.west_south), "custodian_person": BENEFICIARY,
                 "custodian_phone": PHONE}
    published = make_asset(actor=admin, area=areas.west_south, name=f"{BENEFICIARY}到户养殖", is_published=True,
                           **household)
    unpublished = make_asset(actor=admin, area=areas.west_south, name=f"{BENEFICIARY}到户养牛", **household)
    users = {"anonymous": None, "staff_without_role": make_user("nobody", None), "county_admin": admin,
             "village_a": make_user("va", Role.VILLAGE, area=areas.west_south),
             "village_b": make_user("vb", Role.VILLAGE, area=areas.east_south),
             "township_west": make_user("tw", Role.TOWNSHIP, area=areas.west),
             "township_east": make_user("te", Role.TOWNSHIP, area=areas.east),
             "department": make_user("roads", Role.DEPARTMENT, department=make_department("交通运输局", [AssetType.ROAD])),
             "inspector": make_user("inspector", Role.INSPECTOR)}
    return {"areas": areas, "users": users, "published": published, "unpublished": unpublished}


built_route_world = built_once(build_route_world)


@pytest.fixture
def route_world(built_route_world, db, settings):
    """build_route_world, built once per module."""
    return copy_for_test(built_route_world, settings)


HOSTILE_PROJECT = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">东镇项目"


@pytest.fixture
def live_project_world(transactional_db):
    """The map world committed (live server and browser) with two projects: XM-WEST formed 西镇's road and water
    works, XM-EAST — named with markup, HOSTILE_PROJECT — formed 东镇's greenhouse and pen."""
    w = build_map_world()
    areas = w.areas
    w.projects = {}
    for key, code, name, villages, assets in (
            ("west", "XM-WEST", "2025年西镇道路饮水项目", [areas.west_south, areas.west_north], [w.road, w.water]),
            ("east", "XM-EAST", HOSTILE_PROJECT, [areas.east_south, areas.east_north], [w.greenhouse, w.livestock])):
        w.projects[key] = made = project(actor=w.admin, code=code, name=name, villages=villages)
        fund_line(actor=w.admin, project=made, allocated=300)
        for asset in assets:
            link(actor=w.admin, project=made, asset=asset)
    return w


def until(page, expression: str, timeout: int = 15000):
    """page.wait_for_function, failing with what the map has drawn (easier diagnosis)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(expression, timeout=timeout)
    except PlaywrightTimeout:
        stats = page.evaluate("JSON.stringify(window.__mapStats) + ' ' + location.hash")
        raise AssertionError(f"timed out waiting for {expression}; map: {stats}") from None


def wait_drawn(page, *, assets: bool = True, villages: int = 4):
    until(page, "window.__mapIdle && window.__mapIdle()", timeout=15000)
    condition = f"Object.keys(window.__mapStats.villages).length >= {villages}"
    if assets:
        condition += " && (Object.keys(window.__mapStats.assets).length > 0 || window.__mapStats.clusters > 0)"
    until(page, condition, timeout=15000)


def wait_assets(page, expected):
    target = json.dumps(json.dumps(sorted(expected), separators=(",", ":")))
    until(page, f"JSON.stringify(Object.keys(window.__mapStats.assets).sort()) === {target}", timeout=15000)


def drawn_assets(page) -> set[str]:
    return set(page.evaluate("Object.keys(window.__mapStats.assets)"))


def assert_local_and_clean(watch):
    assert watch.hosts <= {"127.0.0.1", "localhost"}, watch.hosts
    assert watch.errors == [], watch.errors
