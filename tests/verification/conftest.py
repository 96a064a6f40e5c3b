"""Fixtures of the verification tests, built from tests/factories.py and tests/verification/factories.py."""

import datetime

import pytest
from django.utils import timezone

from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_user
from tests.verification.factories import record
from verification import services


@pytest.fixture
def office(db):
    areas = make_areas()
    admin = make_admin()
    users = {
        "county_admin": admin,
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "inspector": make_user("inspector", Role.INSPECTOR),
        "other_village": make_user("eastsouth", Role.VILLAGE, area=areas.east_south),
        "nobody": make_user("nobody", None),
    }
    clinic = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                        geometry=centre(areas.west_south), is_published=True, custodian_person="欧阳永福")
    road = make_asset(actor=admin, area=areas.west_south, name="西南村道路", is_published=True)
    other = make_asset(actor=admin, area=areas.east_south, asset_type=AssetType.HEALTH, name="东南村卫生室",
                       geometry=centre(areas.east_south))
    last_year = timezone.now() - datetime.timedelta(days=370)
    earlier = record(admin, clinic, photo_seed=1, when=last_year)
    campaign = services.campaign_create(actor=admin, name="2026年度清查", kind="annual", year=2026)
    flagged = record(users["village"], clinic, offset_m=900, photo_seed=2)  # too far
    missing = record(users["village"], road, finding="not_found")  # no photo
    return areas, users, {"clinic": clinic, "road": road, "other": other}, {
        "earlier": earlier, "flagged": flagged, "missing": missing, "campaign": campaign}
