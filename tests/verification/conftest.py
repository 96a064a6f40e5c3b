"""Fixtures of the verification tests, built from tests/factories.py (see tests/world.py)."""

import datetime

import pytest
from django.utils import timezone

from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_department, make_user, photo, record
from tests.world import build_world, built_once, copy_for_test
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


def build_verified_world():
    """tests/world.py's build_world and a campaign in which three assets were verified from too far (flagged)."""
    world = build_world()
    admin_user = world.users["county_admin"]
    campaign = services.campaign_create(actor=admin_user, name="2026年度清查", kind="annual", year=2026)
    for key, seed in (("west_road", 1), ("east_road", 2), ("east_clinic", 3)):
        asset = world.assets[key]
        here = asset.location
        services.verification_record(
            actor=admin_user, asset_code=asset.code, finding="intact", lon=here.x, lat=here.y + 0.01, accuracy_m=5,
            observed_at=timezone.now(), photos=[("a.jpg", photo(seed))], campaign=campaign)  # too far: flagged
    return world


built_verified_world = built_once(build_verified_world)


@pytest.fixture
def verified_world(built_verified_world, db, settings):
    """build_verified_world, built once per module."""
    return copy_for_test(built_verified_world, settings)


def _photo_record(actor, asset, *, seed: int, offset_m: float = 0.0):
    when = timezone.now() - datetime.timedelta(hours=1)
    here = asset.location
    lat = here.y + offset_m / 111_320
    return services.verification_record(
        actor=actor, asset_code=asset.code, finding="intact", lon=here.x, lat=lat, accuracy_m=8, observed_at=when,
        photos=[(f"{seed}.jpg", photo(seed, lonlat=(here.x, lat), taken_at=when))]).verification


def build_photo_world():
    """A published clinic and an unpublished asset of village 西南村 with a verification (and its photo) in each
    state of review, and one user per role in and out of their scope (tests/verification/test_photo_access.py)."""
    areas = make_areas()
    admin = make_admin()
    users = {
        "anonymous": None, "roleless": make_user("nobody", None), "county_admin": admin,
        "inspector": make_user("inspector", Role.INSPECTOR),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "department": make_user("health", Role.DEPARTMENT,
                                department=make_department("卫生健康委员会", types=(AssetType.HEALTH,))),
        "other_village": make_user("eastsouth", Role.VILLAGE, area=areas.east_south),
        "other_department": make_user("roads", Role.DEPARTMENT, department=make_department()),
    }
    clinic = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                        geometry=centre(areas.west_south), is_published=True)
    hidden = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村到户卫生",
                        geometry=centre(areas.west_south))
    clerk = users["village"]
    records = {
        "accepted": _photo_record(clerk, clinic, seed=1),
        "approved": _photo_record(clerk, clinic, seed=2, offset_m=900),
        "pending": _photo_record(clerk, clinic, seed=3, offset_m=900),
        "rejected": _photo_record(clerk, clinic, seed=4, offset_m=900),
        "accepted_unpublished": _photo_record(clerk, hidden, seed=5),
    }
    services.verification_review(actor=admin, verification=records["approved"], approve=True, comment="核实")
    services.verification_review(actor=admin, verification=records["rejected"], approve=False, comment="不是这里")
    for state, record_ in records.items():
        record_.refresh_from_db()
        assert record_.review == state.removesuffix("_unpublished"), state
    return areas, users, records, clinic


built_photo_world = built_once(build_photo_world)


@pytest.fixture
def photo_world(built_photo_world, db, settings):
    """(areas, users, records, clinic) of build_photo_world, built once per module."""
    return copy_for_test(built_photo_world, settings)
