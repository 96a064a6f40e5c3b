"""Fixtures of the project and fund ledgers' tests: a small county with every role and a few projects."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from geo_assets.taxonomy import AssetType, Role
from tests.factories import make_areas, make_asset, make_department, make_fund_line, make_project, make_user


@pytest.fixture
def ledger(db):
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
    road = make_project(actor=admin, code="XM-2025-001", villages=[areas.west_south], department=roads)
    make_fund_line(actor=admin, project=road, allocated="20", disbursed="18")
    asset = make_asset(actor=admin, name="西南村道路", area=areas.west_south, year_built=2025,
                       funding=(("central", Decimal("12")),))
    water_project = make_project(actor=admin, code="XM-2025-002", name="东南村饮水工程", kind="infrastructure",
                                 villages=[areas.east_south], department=water)
    return SimpleNamespace(areas=areas, users=users, roads=roads, water=water, road=road, asset=asset,
                           water_project=water_project)
