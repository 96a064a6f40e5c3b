"""Fixtures of the register's tests (tests/geo_assets), built from tests/factories.py; see tests/world.py."""

import pytest
from django.contrib.auth.models import AnonymousUser

from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_department, make_jagged_county, make_user
from tests.world import built_once, copy_for_test


def build_permission_world():
    """Two roads and two clinics, one per village, and one user per kind of scope (the permission matrix)."""
    areas, admin_user = make_areas(), make_admin()
    transport = make_department("交通运输局", [AssetType.ROAD])
    health = make_department("卫健委", [AssetType.HEALTH])
    assets = {
        "west_road": make_asset(actor=admin_user, area=areas.west_south, is_published=True),
        "west_clinic": make_asset(actor=admin_user, area=areas.west_north, asset_type=AssetType.HEALTH),
        "east_road": make_asset(actor=admin_user, area=areas.east_south),
        "east_clinic": make_asset(actor=admin_user, area=areas.east_north, asset_type=AssetType.HEALTH,
                                  is_published=True),
    }
    users = {
        "county": admin_user,
        "superuser": make_user("root", "superuser"),
        "inspector": make_user("inspector", Role.INSPECTOR),
        "transport": make_user("transport", Role.DEPARTMENT, department=transport),
        "health": make_user("health", Role.DEPARTMENT, department=health),
        "west": make_user("west", Role.TOWNSHIP, area=areas.west),
        "west_north": make_user("westnorth", Role.VILLAGE, area=areas.west_north),
        "public": make_user("citizen", Role.PUBLIC, staff=False),
        "no_membership": make_user("nobody", None),
        "anonymous": AnonymousUser(),
    }
    return areas, assets, users


built_permission_world = built_once(build_permission_world)


@pytest.fixture
def permission_world(built_permission_world, db, settings):
    """(areas, assets, users) of build_permission_world, built once per module."""
    return copy_for_test(built_permission_world, settings)


def build_upload_world():
    """A published clinic in village 西南村, its clerk, and users without the right to upload to it."""
    areas = make_areas()
    admin = make_admin()
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    clinic = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                        geometry=centre(areas.west_south), is_published=True)
    users = {"roleless": make_user("nobody", None), "inspector": make_user("inspector", Role.INSPECTOR),
             "other_village": make_user("eastsouth", Role.VILLAGE, area=areas.east_south), "clerk": clerk,
             "admin": admin}
    return areas, users, clinic


built_upload_world = built_once(build_upload_world)


@pytest.fixture
def upload_world(built_upload_world, db, settings):
    """(areas, users, clinic) of build_upload_world, built once per module."""
    return copy_for_test(built_upload_world, settings)



@pytest.fixture
def jagged(db):
    """make_jagged_county: villages of hundreds of vertices, a shared zigzag seam and a village in another's hole."""
    return make_jagged_county()
