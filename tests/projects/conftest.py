"""Fixtures of the project pages' tests (tests/projects), built from tests/factories.py (project, fund_line, link).

build_project_world(): the small county with one user of every role (the finance bureau too), three projects and
the assets they formed:
- XM-2025-001 西南村道路硬化 (infrastructure, 交通运输局 leads, 西镇: 西南村 and 西北村): central funds 100 allocated /
  80 disbursed under a document, county funds 20 without one; it formed the road of 西南村 (50 stated), an asset
  whose name is markup (apportioned) and the road of 西北村 (outside the 西南村 clerk's village);
- XM-2025-002 东南村道路 (东镇, 东南村): the road of 东南村;
- XM-2023-009 西镇贷款贴息 (an interest subsidy before 2024: traced, forms no asset);
and, linked to nothing, a 西南村 road whose ledger names the first project (a suggestion)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from geo_assets.taxonomy import AssetType, Role
from tests.factories import fund_line, link, make_admin, make_areas, make_asset, make_department, make_user, project
from tests.world import built_once, copy_for_test, small_county

MARKUP = '<img src=x onerror="window.__pwned=1">路'


def build_project_world():
    areas = make_areas()
    admin = make_admin()
    transport = make_department("交通运输局", [AssetType.ROAD])
    health = make_department("卫健委", [AssetType.HEALTH])
    users = {
        "county_admin": admin,
        "superuser": make_user("root", "superuser"),
        "finance": make_user("caizheng", Role.FINANCE),
        "department": make_user("transport", Role.DEPARTMENT, department=transport),
        "other_department": make_user("health", Role.DEPARTMENT, department=health),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "other_village": make_user("eastsouth", Role.VILLAGE, area=areas.east_south),
        "inspector": make_user("inspector", Role.INSPECTOR),
        "staff_without_role": make_user("nobody", None),
        "anonymous": AnonymousUser(),
    }
    assets = {
        "west_road": make_asset(actor=admin, area=areas.west_south, name="西南村硬化道路", year_built=2025,
                                project_name="西南村道路硬化", funding=(("central", Decimal("50")),)),
        "markup": make_asset(actor=admin, area=areas.west_south, name=MARKUP, year_built=2025),
        "north_road": make_asset(actor=admin, area=areas.west_north, name="西北村硬化道路", year_built=2025),
        "east_road": make_asset(actor=admin, area=areas.east_south, name="东南村道路", year_built=2025),
        "unlinked": make_asset(actor=admin, area=areas.west_south, name="西南村通组道路", year_built=2025,
                               project_name="西南村道路硬化"),
        "clinic": make_asset(actor=admin, area=areas.west_south, name="西南村卫生室", asset_type=AssetType.HEALTH,
                             year_built=2025),
    }
    projects = {
        "road": project(actor=admin, code="XM-2025-001", name="西南村道路硬化", villages=[areas.west_south, areas.west_north],
                        department=transport, approval_document="栾发改〔2025〕12号", implementing_unit="西镇人民政府"),
        "east": project(actor=admin, code="XM-2025-002", name="东南村道路", villages=[areas.east_south],
                        department=transport),
        "subsidy": project(actor=admin, code="XM-2023-009", name="西镇贷款贴息", year=2023, kind="interest_subsidy",
                           township=areas.west),
    }
    fund_line(actor=admin, project=projects["road"], allocated="100", disbursed="80", document_number="豫财扶〔2025〕3号")
    fund_line(actor=admin, project=projects["road"], source="county", allocated="20")
    fund_line(actor=admin, project=projects["east"], allocated="10")
    fund_line(actor=admin, project=projects["subsidy"], allocated="5")
    link(actor=admin, project=projects["road"], asset=assets["west_road"], amount="50")
    link(actor=admin, project=projects["road"], asset=assets["markup"])
    link(actor=admin, project=projects["road"], asset=assets["north_road"], amount="10")
    link(actor=admin, project=projects["east"], asset=assets["east_road"])
    return {"areas": areas, "users": users, "assets": assets, "projects": projects,
            "departments": {"transport": transport, "health": health}}


built_project_world = built_once(build_project_world)


@pytest.fixture
def project_world(built_project_world, db, settings):
    """build_project_world, built once per module."""
    return copy_for_test(built_project_world, settings)


@pytest.fixture
def live_project_world(transactional_db):
    """build_project_world committed, for the live server and the browser."""
    return build_project_world()


@pytest.fixture
def ledger(db):
    """A small county with one user of each role and two projects: the road project of 西南村 (20 allocated, 18
    disbursed) with an unlinked road of 12, and 东南村's water project without funds."""
    areas = make_areas()
    roads = make_department("交通运输局", (AssetType.ROAD,))
    water = make_department("水利局", (AssetType.WATER_SUPPLY,))
    admin = make_user("county", Role.COUNTY_ADMIN)
    users = SimpleNamespace(
        admin=admin,
        finance=make_user("finance", Role.FINANCE),
        inspector=make_user("inspector", Role.INSPECTOR),
        roads=make_user("roads", Role.DEPARTMENT, department=roads),
        water=make_user("water", Role.DEPARTMENT, department=water),
        west=make_user("west", Role.TOWNSHIP, area=areas.west),
        east=make_user("east", Role.TOWNSHIP, area=areas.east),
        west_south=make_user("west_south", Role.VILLAGE, area=areas.west_south),
        east_south=make_user("east_south", Role.VILLAGE, area=areas.east_south),
    )
    road = project(actor=admin, code="XM-2025-001", villages=[areas.west_south], department=roads)
    fund_line(actor=admin, project=road, allocated="20", disbursed="18")
    asset = make_asset(actor=admin, name="西南村道路", area=areas.west_south, year_built=2025,
                       funding=(("central", Decimal("12")),))
    water_project = project(actor=admin, code="XM-2025-002", name="东南村饮水工程", kind="infrastructure",
                            villages=[areas.east_south], department=water)
    return SimpleNamespace(areas=areas, users=users, roads=roads, water=water, road=road, asset=asset,
                           water_project=water_project)


def build_demo_projects():
    """The small demo county (tests/world.py, small_county), its demo logins, and the demo project and fund ledgers
    loaded on it; returns (its administrator, what the loader reported)."""
    from geo_assets import demo
    from projects.demo import demo_projects_load

    admin = small_county()
    demo.demo_users_ensure()
    return admin, demo_projects_load(actor=admin)


built_demo_projects = built_once(build_demo_projects)


@pytest.fixture
def demo_projects(built_demo_projects, db, settings):
    """build_demo_projects, built once per module: (administrator, DemoFindings)."""
    return copy_for_test(built_demo_projects, settings)
