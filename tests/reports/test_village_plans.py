"""A village report's distribution plan (reports.figures._village_plans: one hand-written statement) lists what the
township report's querysets list for that village: the plan of the year, its current items in order with their
assets, and nothing of other villages, years or withdrawn drafts."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo_assets.taxonomy import AssetType, PlanPurpose, Role
from lifecycle import services as lifecycle
from lifecycle.services import PlanLine
from reports import figures
from tests.factories import make_admin, make_areas, make_asset, make_user

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
YEAR = TODAY.year - 1


def _items(plan) -> list[tuple]:
    return [(i.pk, i.purpose, i.amount, i.recipient, i.asset.code if i.asset else None) for i in plan.item_list]


def test_the_village_plan_matches_the_township_report():
    areas = make_areas()
    admin = make_admin()
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    other = make_user("westnorth", Role.VILLAGE, area=areas.west_north)
    equity = make_asset(actor=admin, area=areas.west_south, name="西南村合作社股权", asset_type=AssetType.EQUITY)
    lifecycle.income_record(actor=clerk, asset=equity, year=YEAR, amount=Decimal("10"), received_on=TODAY)
    plan = lifecycle.plan_draft(actor=clerk, village=areas.west_south, year=YEAR, items=[
        PlanLine(PlanPurpose.COLLECTIVE, Decimal("9"))], drafted_on=TODAY - datetime.timedelta(days=3))
    # redrafted: the first draft's item stays on record, withdrawn
    lifecycle.plan_redraft(actor=clerk, plan=plan, items=[
        PlanLine(PlanPurpose.COLLECTIVE, Decimal("4")), PlanLine(PlanPurpose.NO_LABOUR, Decimal("1"), "张三丰"),
        PlanLine(PlanPurpose.EQUITY_OWNERS, Decimal("4"), "西镇人民政府", equity)])
    lifecycle.plan_draft(actor=other, village=areas.west_north, year=YEAR, items=[
        PlanLine(PlanPurpose.COLLECTIVE, Decimal("1"))], other_source="村集体结余")  # another village's

    with CaptureQueriesContext(connection) as statements:
        found = figures.income(figures.area_scope(admin, areas.west_south), YEAR)
    assert len(statements) == 2  # the income, and the plan with its items
    township = figures.income(figures.area_scope(admin, areas.west), YEAR)
    [theirs] = [p for p in township["plans"] if p.village_id == areas.west_south.pk]
    [ours] = found["plans"]
    assert ours.pk == theirs.pk == plan.pk and ours.total == theirs.total == Decimal("9")
    assert _items(ours) == _items(theirs)
    assert [(purpose, amount, code) for _pk, purpose, amount, _r, code in _items(ours)] == [
        (PlanPurpose.COLLECTIVE, Decimal("4"), None), (PlanPurpose.NO_LABOUR, Decimal("1"), None),
        (PlanPurpose.EQUITY_OWNERS, Decimal("4"), equity.code)]
    assert ours.by_purpose == theirs.by_purpose and ours.by_purpose[PlanPurpose.EQUITY_OWNERS] == Decimal("4")
    assert found["planned"] == Decimal("9") and str(ours) == f"西南村 {YEAR}"
    # no plan that year, or another village: none
    assert figures.income(figures.area_scope(admin, areas.west_south), YEAR - 1)["plans"] == []
    assert figures.income(figures.area_scope(admin, areas.east_south), YEAR)["plans"] == []
