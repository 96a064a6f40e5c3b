"""projects.rules.owner_proposal, the work plan's ownership rules (二(四)) for what a project formed, each with a
positive and a negative case: household projects → the beneficiary household; a project in one village → the
village collective; several villages, the township seat, workshops and care → the township; education and health
→ the sector's rule (the department); equity → every owner and share, for the department's review."""

from decimal import Decimal

import pytest

from geo_assets.taxonomy import AssetType, OwnerKind
from projects.rules import owner_proposal
from projects.selectors import ownership_proposal
from tests.factories import centre, fund_line, link, make_asset, make_department, project


@pytest.fixture
def place(areas, admin_user):
    return areas, admin_user


def asset_of(place, asset_type=AssetType.ROAD, area=None, name="资产"):
    areas, admin = place
    area = area or areas.west_south
    geometry = None if asset_type == AssetType.ROAD else centre(area)
    return make_asset(actor=admin, area=area, asset_type=asset_type, name=name, geometry=geometry)


def project_of(place, kind="infrastructure", villages=None, code="XM-2025-001", **fields):
    areas, admin = place
    villages = [areas.west_south] if villages is None else villages
    if not villages and "township" not in fields:
        fields["township"] = areas.west
    return project(actor=admin, code=code, kind=kind, villages=villages, **fields)


# ---------------------------------------------------------------- household (到户)


def test_household_project_goes_to_the_beneficiary_household(place):
    proposal = owner_proposal(project=project_of(place, kind="household"), asset=asset_of(place, AssetType.LIVESTOCK))
    assert proposal.owner_kind == OwnerKind.HOUSEHOLD and proposal.owners == ()  # the households are named later
    assert "XM-2025-001" in proposal.reason and "受益户" in proposal.reason and not proposal.needs_review


def test_a_household_asset_type_goes_to_the_household_whatever_the_kind(place):
    proposal = owner_proposal(project=project_of(place, kind="industry"),
                              asset=asset_of(place, AssetType.HOUSEHOLD_FIXED))
    assert proposal.owner_kind == OwnerKind.HOUSEHOLD


def test_a_village_road_is_not_a_household_asset(place):
    proposal = owner_proposal(project=project_of(place, kind="infrastructure"), asset=asset_of(place))
    assert proposal.owner_kind != OwnerKind.HOUSEHOLD


# ---------------------------------------------------------------- village collective


def test_one_village_goes_to_the_village_collective(place):
    proposal = owner_proposal(project=project_of(place, kind="pv"), asset=asset_of(place, AssetType.PV_STATION))
    assert proposal.owner_kind == OwnerKind.VILLAGE_COLLECTIVE
    assert proposal.owners == (("西南村集体经济组织", OwnerKind.VILLAGE_COLLECTIVE, Decimal(100)),)
    assert "村集体" in proposal.reason


def test_a_project_naming_no_village_takes_the_asset_s_village(place):
    areas, _admin = place
    proposal = owner_proposal(project=project_of(place, kind="culture", villages=[], township=areas.east),
                              asset=asset_of(place, AssetType.CULTURE, area=areas.east_south))
    assert proposal.owners == (("东南村集体经济组织", OwnerKind.VILLAGE_COLLECTIVE, Decimal(100)),)


def test_a_clinic_in_one_village_is_not_the_village_s(place):
    proposal = owner_proposal(project=project_of(place, kind="infrastructure"), asset=asset_of(place, AssetType.HEALTH))
    assert proposal.owner_kind != OwnerKind.VILLAGE_COLLECTIVE


# ---------------------------------------------------------------- township: several villages, township seat, workshop


def test_several_villages_go_to_the_township(place):
    areas, _admin = place
    proposal = owner_proposal(project=project_of(place, villages=[areas.west_south, areas.west_north]),
                              asset=asset_of(place))
    assert proposal.owner_kind == OwnerKind.TOWNSHIP
    assert proposal.owners == (("西镇", OwnerKind.TOWNSHIP, Decimal(100)),)
    assert "跨村" in proposal.reason and "由乡镇负责确权" in proposal.reason


def test_the_township_seat_goes_to_the_township(place):
    proposal = owner_proposal(project=project_of(place, township_seat=True), asset=asset_of(place))
    assert proposal.owner_kind == OwnerKind.TOWNSHIP


@pytest.mark.parametrize("kind", ["employment", "care"])
def test_workshop_and_care_projects_go_to_the_township(place, kind):
    proposal = owner_proposal(project=project_of(place, kind=kind), asset=asset_of(place, AssetType.WORKSHOP))
    assert proposal.owner_kind == OwnerKind.TOWNSHIP and proposal.owners[0][0] == "西镇"


def test_a_workshop_formed_by_an_industry_project_goes_to_the_township_too(place):
    proposal = owner_proposal(project=project_of(place, kind="industry"), asset=asset_of(place, AssetType.WORKSHOP))
    assert proposal.owner_kind == OwnerKind.TOWNSHIP and proposal.owners == (("西镇", OwnerKind.TOWNSHIP, Decimal(100)),)


def test_one_village_without_the_seat_is_not_the_township_s(place):
    proposal = owner_proposal(project=project_of(place, township_seat=False), asset=asset_of(place))
    assert proposal.owner_kind == OwnerKind.VILLAGE_COLLECTIVE


# ---------------------------------------------------------------- education and health: the sector's rule


@pytest.mark.parametrize(("kind", "asset_type"), [("education", AssetType.EDUCATION), ("health", AssetType.HEALTH)])
def test_education_and_health_go_to_the_department(place, kind, asset_type):
    department = make_department("卫健委" if kind == "health" else "教体局", [asset_type])
    proposal = owner_proposal(project=project_of(place, kind=kind, department=department),
                              asset=asset_of(place, asset_type))
    assert proposal.owner_kind == OwnerKind.STATE
    assert proposal.owners == ((department.name, OwnerKind.STATE, Decimal(100)),)
    assert "教育卫生体制改革" in proposal.reason


def test_education_across_villages_still_follows_the_sector(place):
    areas, _admin = place
    proposal = owner_proposal(project=project_of(place, kind="education", villages=[areas.west_south, areas.west_north]),
                              asset=asset_of(place, AssetType.EDUCATION))
    assert proposal.owner_kind == OwnerKind.STATE and proposal.owners == ()  # no lead department named: none


def test_a_cultural_square_is_not_the_department_s(place):
    proposal = owner_proposal(project=project_of(place, kind="culture"), asset=asset_of(place, AssetType.CULTURE))
    assert proposal.owner_kind != OwnerKind.STATE


# ---------------------------------------------------------------- equity: every owner and share, reviewed


def test_equity_names_every_share_for_the_department_s_review(place):
    areas, _admin = place
    villages = [areas.west_south, areas.west_north, areas.east_south]
    proposal = owner_proposal(project=project_of(place, kind="equity", villages=villages, township_from_villages=False),
                              asset=asset_of(place, AssetType.EQUITY))
    assert proposal.owner_kind == OwnerKind.ENTERPRISE and proposal.needs_review
    assert [name for name, _k, _s in proposal.owners] == ["西南村集体经济组织", "西北村集体经济组织", "东南村集体经济组织"]
    assert {kind for _n, kind, _s in proposal.owners} == {OwnerKind.VILLAGE_COLLECTIVE}
    assert sum(share for _n, _k, share in proposal.owners) == Decimal(100)  # 33.333 + 33.333 + 33.334
    assert "审核" in proposal.reason


def test_a_debt_asset_is_equity_like_whatever_the_kind(place):
    proposal = owner_proposal(project=project_of(place, kind="collective"), asset=asset_of(place, AssetType.DEBT))
    assert proposal.owner_kind == OwnerKind.ENTERPRISE and proposal.needs_review
    assert proposal.owners == (("西南村集体经济组织", OwnerKind.VILLAGE_COLLECTIVE, Decimal(100)),)


def test_a_greenhouse_of_the_collective_economy_is_not_equity(place):
    proposal = owner_proposal(project=project_of(place, kind="collective"), asset=asset_of(place, AssetType.GREENHOUSE))
    assert proposal.owner_kind == OwnerKind.VILLAGE_COLLECTIVE and not proposal.needs_review


# ---------------------------------------------------------------- which project's proposal (selectors)


def test_the_proposal_comes_from_the_project_that_put_in_most(place):
    areas, admin = place
    asset = asset_of(place)
    assert ownership_proposal(asset) is None  # no project: the register's default applies
    small = project_of(place, code="XM-2025-010")
    large = project_of(place, code="XM-2025-011", villages=[areas.west_south, areas.west_north])
    fund_line(actor=admin, project=small, allocated="10")
    fund_line(actor=admin, project=large, allocated="10")
    link(actor=admin, project=small, asset=asset, amount="2")
    link(actor=admin, project=large, asset=asset, amount="8")
    found, proposal = ownership_proposal(asset)
    assert found == large and proposal.owner_kind == OwnerKind.TOWNSHIP
