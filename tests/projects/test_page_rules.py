"""The rules and reads behind the project pages, each with a positive and a negative case: who may enter a project,
keep its funds, link assets (the form at all, and this asset); the bounds the services put on dates, years and
amounts (nothing written when refused); how suggestions are ranked (asset type ↔ project kind)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from projects import rules, selectors, services
from projects.models import FundLine, Project
from tests.factories import fund_line, make_asset, project
from tests.world import table_digests

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


# ---------------------------------------------------------------- who may


def test_a_department_enters_its_own_projects_not_another_s(project_world):
    users, departments, areas = project_world["users"], project_world["departments"], project_world["areas"]
    own = Project(code="XM-2026-1", name="新路", year=2025, kind="infrastructure", department=departments["transport"])
    other = Project(code="XM-2026-2", name="新卫生室", year=2025, kind="health", department=departments["health"])
    assert rules.may_edit_project(users["department"], own) is None
    assert rules.may_edit_project(users["department"], other).who
    with pytest.raises(PermissionDenied):
        services.project_save(actor=users["department"], project=other, villages=[areas.west_south])
    assert not Project.objects.filter(code="XM-2026-2").exists()
    assert rules.may_edit_project(users["township"], own).who  # townships enter no project


def test_fund_lines_are_kept_by_finance_the_lead_department_and_county_admins(project_world):
    users, road = project_world["users"], project_world["projects"]["road"]
    for role in ("finance", "department", "county_admin"):
        assert rules.may_edit_funds(users[role], road) is None, role
    for role in ("township", "village", "inspector", "other_department"):
        assert rules.may_edit_funds(users[role], road).who, role


def test_a_line_cannot_be_moved_to_a_project_whose_funds_one_does_not_keep(project_world):
    users, admin = project_world["users"], project_world["users"]["county_admin"]
    health = project(actor=admin, code="XM-2025-600", name="卫生院", kind="health",
                     villages=[project_world["areas"].west_south], department=project_world["departments"]["health"])
    line = FundLine.objects.get(project__code="XM-2025-002")  # the transport department's
    line.project = health
    with pytest.raises(PermissionDenied):
        services.fund_line_save(actor=users["department"], line=line)
    line = FundLine.objects.get(pk=line.pk)
    line.project = project_world["projects"]["road"]  # from its own project to its own other project: allowed
    services.fund_line_save(actor=users["department"], line=line)
    assert FundLine.objects.get(pk=line.pk).project.code == "XM-2025-001"


def test_the_link_form_is_for_those_who_keep_assets_or_lead_the_project(project_world):
    users, road = project_world["users"], project_world["projects"]["road"]
    for role in ("county_admin", "department", "township", "village"):
        assert rules.may_link_some(users[role], road) is None, role
    for role in ("finance", "inspector"):
        assert rules.may_link_some(users[role], road).who, role
    assert rules.may_link_some(users["other_village"], road).message == "您无权查看该项目。"


def test_linking_this_asset_needs_the_asset_or_the_lead(project_world):
    users, road, assets = project_world["users"], project_world["projects"]["road"], project_world["assets"]
    assert rules.may_link(users["village"], road, assets["unlinked"], asset_editable=True) is None
    assert rules.may_link(users["village"], road, assets["east_road"], asset_editable=False).who
    assert rules.may_link(users["department"], road, assets["clinic"], asset_editable=False) is None  # the lead
    with pytest.raises(PermissionDenied):
        services.project_asset_link(actor=users["township"], project=road, asset=assets["east_road"])


# ---------------------------------------------------------------- bounds: nothing written when refused


@pytest.mark.parametrize(("changes", "field"), [
    ({"started_on": TOMORROW}, "started_on"),
    ({"completed_on": TOMORROW}, "completed_on"),
    ({"accepted_on": datetime.date(1999, 1, 1)}, "accepted_on"),
    ({"year": 2999}, "year"),
    ({"year": 1980}, "year"),
])
def test_project_dates_and_years_are_bounded(project_world, changes, field):
    road = Project.objects.get(code="XM-2025-001")
    before = table_digests([Project])
    for name, value in changes.items():
        setattr(road, name, value)
    with pytest.raises(ValidationError) as refused:
        services.project_save(actor=project_world["users"]["county_admin"], project=road)
    assert field in refused.value.message_dict
    assert table_digests([Project]) == before


@pytest.mark.parametrize(("allocated", "disbursed", "field"), [
    ("-1", "0", "allocated"), ("100000.0001", "0", "allocated"), ("1e12", "0", "allocated"),
    ("10", "-0.5", "disbursed"), ("10", "10.5", "disbursed"), ("0.00001", "0", "allocated"),
])
def test_fund_line_amounts_are_bounded(project_world, allocated, disbursed, field):
    before = table_digests([FundLine])
    with pytest.raises(ValidationError) as refused:
        services.fund_line_save(actor=project_world["users"]["finance"], line=FundLine(
            project=project_world["projects"]["road"], source="social", year=2025, allocated=Decimal(allocated),
            disbursed=Decimal(disbursed)))
    assert field in refused.value.message_dict
    assert table_digests([FundLine]) == before


def test_a_fund_line_within_the_bounds_is_saved(project_world):
    line = fund_line(actor=project_world["users"]["finance"], project=project_world["projects"]["road"],
                     source="social", allocated="100000", disbursed="0.0001")
    assert line.pk and line.recorded_by == project_world["users"]["finance"]


# ---------------------------------------------------------------- suggestions: type ↔ kind


def test_a_road_ranks_a_road_project_above_a_health_project_of_the_same_name(project_world):
    admin, areas = project_world["users"]["county_admin"], project_world["areas"]
    road = make_asset(actor=admin, area=areas.west_south, name="西南村项目资产", year_built=2025)
    roads = project(actor=admin, code="XM-2025-700", name="西南村项目", villages=[areas.west_south])
    clinics = project(actor=admin, code="XM-2025-701", name="西南村项目", kind="health", villages=[areas.west_south])
    scores = dict(selectors.link_suggestions(road, user=admin, limit=10))
    assert scores[roads] > scores.get(clinics, 0)
    assert selectors.link_score(road, roads) - selectors.link_score(road, clinics) == pytest.approx(0.6)


def test_projects_forming_no_asset_are_never_suggested(project_world):
    admin, areas = project_world["users"]["county_admin"], project_world["areas"]
    subsidy = project(actor=admin, code="XM-2025-702", name="西南村道路硬化", kind="interest_subsidy",
                      villages=[areas.west_south])
    suggested = [p for p, _s in selectors.link_suggestions(project_world["assets"]["unlinked"], user=admin, limit=10)]
    assert subsidy not in suggested and project_world["projects"]["road"] in suggested
    assert selectors.asset_suggestions(subsidy, user=admin) == []


def test_suggestions_follow_what_the_user_sees(project_world):
    users, assets = project_world["users"], project_world["assets"]
    road = project_world["projects"]["road"]
    assert assets["unlinked"] in [a for a, _s in selectors.asset_suggestions(road, user=users["village"])]
    assert selectors.link_suggestions(assets["unlinked"], user=users["other_village"]) == []
