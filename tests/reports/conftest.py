"""Fixtures of the reports' tests, built from tests/factories.py (see tests/world.py)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from geo_assets.models import SRID, Asset, PublicityNotice
from geo_assets.taxonomy import AssetType, PublicityScope, PublicityStage, Role
from lifecycle import services as lifecycle
from tests.factories import make_admin, make_areas, make_asset, make_department, make_user, project
from tests.world import build_checked_county, built_once, copy_for_test, small_county
from verification import services as verification

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
PERSON, OTHER_PERSON, PUBLISHED_PERSON = "王小明", "李大军", "王小红"
ID_NUMBER, PHONE = "410324199001011234", "13812345678"


def at(x: float, y: float) -> Point:
    return Point(x, y, srid=SRID)


def build_evidence_world():
    """Village A (西南村, west township) and village B (东南村, east township) meet at x = 111.60. Household assets
    named after their beneficiaries stand a few metres apart across that line; A's assets also fire every other rule."""
    areas = make_areas()
    admin = make_admin()
    a, b = areas.west_south, areas.east_south
    roads = make_department("交通运输局", [AssetType.ROAD])
    users = {"county_admin": admin, "inspector": make_user("inspector", Role.INSPECTOR),
             "township_west": make_user("west", Role.TOWNSHIP, area=areas.west),
             "clerk_a": make_user("clerk_a", Role.VILLAGE, area=a), "clerk_b": make_user("clerk_b", Role.VILLAGE, area=b),
             "department": make_user("roads", Role.DEPARTMENT, department=roads)}
    household = {"asset_type": AssetType.LIVESTOCK}
    assets = {
        # unpublished, across the line from each other: duplicate_nearby both ways
        "a_house": make_asset(actor=admin, area=a, name=f"{PERSON}到户养殖", custodian_person=PERSON,
                              geometry=at(111.59998, 33.85), **household),
        "b_house": make_asset(actor=admin, area=b, name=f"{OTHER_PERSON}到户养殖", custodian_person=OTHER_PERSON,
                              geometry=at(111.60002, 33.85), **household),
        # a published one of A beside an unpublished one of B: B's clerk sees A's under its public name
        "a_published": make_asset(actor=admin, area=a, name=f"{PUBLISHED_PERSON}到户养殖", is_published=True,
                                  custodian_person=PUBLISHED_PERSON, geometry=at(111.59998, 33.86), **household),
        "b_beside": make_asset(actor=admin, area=b, name="赵六到户养殖", custodian_person="赵六",
                               geometry=at(111.60002, 33.86), **household),
        # B's road and a clinic of the same name (duplicate_name): the roads department sees the road only
        "b_road": make_asset(actor=admin, area=b, name=f"{OTHER_PERSON}门前道路", department=roads),
        "b_clinic": make_asset(actor=admin, area=b, name=f"{OTHER_PERSON}门前道路", asset_type=AssetType.HEALTH,
                               geometry=at(111.65, 33.82)),
        # the rest of the rules, on A's assets named after the person
        "a_twin_1": make_asset(actor=admin, area=a, name=f"{PERSON}家光伏", asset_type=AssetType.PV_STATION,
                               year_built=2015, geometry=at(111.55, 33.82)),
        "a_twin_2": make_asset(actor=admin, area=a, name=f"{PERSON}家光伏", asset_type=AssetType.PV_STATION,
                               year_built=2015, geometry=at(111.56, 33.82)),
        "a_equity": make_asset(actor=admin, area=a, name=f"{PERSON}入股", asset_type=AssetType.EQUITY,
                               geometry=at(111.57, 33.82), owners=[]),
        "a_outside": make_asset(actor=admin, area=a, name=f"{PERSON}卫生室", asset_type=AssetType.HEALTH,
                                geometry=at(111.52, 33.83)),
        "a_missing": make_asset(actor=admin, area=a, name=f"{PERSON}卫生所", asset_type=AssetType.HEALTH,
                                geometry=at(111.53, 33.83)),
        "a_disposed": make_asset(actor=admin, area=a, name=f"{PERSON}报废道路"),
    }
    Asset.objects.filter(pk=assets["a_outside"].pk).update(point=at(111.65, 33.95))  # past the services
    Asset.objects.filter(pk=assets["a_disposed"].pk).update(status="disposed")
    Asset.objects.filter(pk=assets["a_twin_2"].pk).update(last_verified_at=timezone.now() - 400 * DAY)
    lifecycle.contract_record(actor=admin, asset=assets["a_twin_2"], operator=PERSON, number="HT-1",
                              starts_on=TODAY - 500 * DAY, ends_on=TODAY - DAY, yearly_due=Decimal("2"),
                              mechanism="收益归村集体")
    for key, finding in (("a_missing", "not_found"), ("a_outside", "damaged")):
        p = assets[key].location
        flagged = verification.verification_record(
            actor=users["clerk_a"], asset_code=assets[key].code, finding=finding, lon=p.x, lat=p.y, accuracy_m=5,
            observed_at=timezone.now(), note="", photos=[]).verification
        verification.verification_review(actor=admin, verification=flagged, approve=True, comment="属实")
    notice = lifecycle.notice_post(actor=admin, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                   area=a, starts_on=TODAY, ends_on=TODAY + 9 * DAY,
                                   title=f"西南村台账公示（联系 {PHONE}）")
    lifecycle.objection_record(actor=admin, notice=notice, raised_by=f"{PERSON} {ID_NUMBER} {PHONE}",
                               text="漏登一处", raised_on=TODAY)
    PublicityNotice.objects.filter(pk=notice.pk).update(starts_on=TODAY - 20 * DAY, ends_on=TODAY - 18 * DAY)
    # an accepted project serving A with no asset in the register (accepted_without_assets); the assets of unknown
    # year above are in the fund ledgers' scope and no project formed them (asset_without_project)
    project(actor=admin, code="XM-2024-901", name="西南村通组道路工程", year=2024, villages=[a], status="accepted",
            accepted_on=datetime.date(2024, 12, 1))
    for key in assets:
        assets[key].refresh_from_db()
    return {"areas": areas, "users": users, "assets": assets}


built_evidence_world = built_once(build_evidence_world)


@pytest.fixture
def evidence_world(built_evidence_world, db, settings):
    """build_evidence_world, built once per module (tests/reports/test_alert_evidence.py)."""
    return copy_for_test(built_evidence_world, settings)


@pytest.fixture
def county(areas, admin_user):
    """(areas, county administrator): the bare county of tests/factories.py (tests/reports/test_alerts.py)."""
    return areas, admin_user


built_demo_county = built_once(small_county)


@pytest.fixture
def demo_county(built_demo_county, db, settings):
    """small_county, built once per module."""
    return copy_for_test(built_demo_county, settings)


@pytest.fixture
def live_demo_county(transactional_db):
    """small_county committed, for the live server and the browser."""
    return small_county()


built_checked_county = built_once(build_checked_county)


@pytest.fixture
def checked_county(built_checked_county, db, settings):
    """build_checked_county, built once per module: its administrator."""
    return copy_for_test(built_checked_county, settings)


class ReportStatements:
    """Each statement of a village report, by what only its SQL says, in the order the report sends them."""

    WORDS = {"assets": "AT TIME ZONE", "alerts": "visible AS (", "sections": "WITH s AS MATERIALIZED",
             "income": "geo_assets_incomerecord", "plans": "geo_assets_distributionplan p",
             "notices": "geo_assets_publicitynotice n"}
    names = tuple(WORDS)

    @classmethod
    def kind(cls, sql: str) -> str | None:
        """Which of the statements `sql` is (the alerts' first: it has the others' words too), or None."""
        return next((k for k, words in sorted(cls.WORDS.items(), key=lambda kv: kv[0] != "alerts") if words in sql),
                    None)


@pytest.fixture
def report_statements():
    return ReportStatements
