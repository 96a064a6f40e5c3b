"""Writes to the project and fund ledgers: who may, the bounds of every year, date and amount, nothing half-written
and nothing deleted."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from geo_assets.errors import DeletionForbidden
from projects.models import FundLine, Project, ProjectAsset
from projects.services import project_asset_link, project_save
from projects.taxonomy import ProjectStatus
from tests.factories import fund_line, link, make_asset, project


def test_the_finance_bureau_records_funds_of_any_project(ledger):
    line = fund_line(actor=ledger.users.finance, project=ledger.water_project, allocated="5",
                          document_number="豫财农〔2025〕9号")
    assert line.recorded_by == ledger.users.finance
    assert line.history.first().history_user == ledger.users.finance


@pytest.mark.parametrize("who", ["west", "west_south", "inspector", "water"])
def test_others_may_not_record_funds(ledger, who):
    with pytest.raises(PermissionDenied):
        fund_line(actor=getattr(ledger.users, who), project=ledger.road, document_number="X-1")
    assert not FundLine.objects.filter(document_number="X-1").exists()


def test_the_lead_department_records_funds_of_its_own_projects(ledger):
    fund_line(actor=ledger.users.roads, project=ledger.road, document_number="交〔2025〕3号", allocated="1")
    assert FundLine.objects.filter(document_number="交〔2025〕3号").exists()


def test_the_finance_bureau_edits_funds_only(ledger):
    with pytest.raises(PermissionDenied):
        project(actor=ledger.users.finance, code="XM-2025-099")
    ledger.road.name = "改名"
    with pytest.raises(PermissionDenied):
        project_save(actor=ledger.users.finance, project=ledger.road)
    assert Project.objects.get(pk=ledger.road.pk).name != "改名"


def test_a_department_changes_its_own_projects_not_anothers(ledger):
    ledger.road.name = "道路项目（更正）"
    project_save(actor=ledger.users.roads, project=ledger.road)
    water = Project.objects.get(pk=ledger.water_project.pk)
    water.name = "改名"
    with pytest.raises(PermissionDenied):
        project_save(actor=ledger.users.roads, project=water)


@pytest.mark.parametrize(("allocated", "disbursed", "field"), [
    ("-1", "0", "allocated"), ("10", "11", "disbursed"), ("99999999999", "1", "allocated"), ("1.00001", "1", "allocated"),
])
def test_fund_amounts_are_bounded(ledger, allocated, disbursed, field):
    with pytest.raises(ValidationError) as error:
        fund_line(actor=ledger.users.finance, project=ledger.road, allocated=allocated, disbursed=disbursed,
                       document_number="B-1")
    assert field in error.value.message_dict
    assert not FundLine.objects.filter(document_number="B-1").exists()


def test_years_and_dates_are_bounded_on_the_county_clock(ledger):
    next_year = timezone.localdate().year + 1
    with pytest.raises(ValidationError) as error:
        fund_line(actor=ledger.users.finance, project=ledger.road, year=next_year + 1, document_number="Y-1")
    assert "year" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        project(actor=ledger.users.admin, code="XM-1899", year=1899)
    assert "year" in error.value.message_dict
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        project(actor=ledger.users.admin, code="XM-FUT", started_on=tomorrow)
    assert "started_on" in error.value.message_dict
    assert not Project.objects.filter(code__in=["XM-1899", "XM-FUT"]).exists()


def test_acceptance_needs_its_date_after_completion(ledger):
    with pytest.raises(ValidationError) as error:
        project(actor=ledger.users.admin, code="XM-A", status=ProjectStatus.ACCEPTED)
    assert "accepted_on" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        project(actor=ledger.users.admin, code="XM-B", status=ProjectStatus.ACCEPTED,
                     completed_on=datetime.date(2025, 6, 1), accepted_on=datetime.date(2025, 5, 1))
    assert "accepted_on" in error.value.message_dict
    ok = project(actor=ledger.users.admin, code="XM-C", status=ProjectStatus.ACCEPTED,
                      completed_on=datetime.date(2025, 6, 1), accepted_on=datetime.date(2025, 6, 20))
    assert ok.pk


def test_villages_served_lie_in_the_projects_township(ledger):
    a = ledger.areas
    with pytest.raises(ValidationError) as error:
        project(actor=ledger.users.admin, code="XM-X", villages=[a.west_south, a.east_south], township=a.west)
    assert "villages" in error.value.message_dict
    with pytest.raises(ValidationError):
        project(actor=ledger.users.admin, code="XM-Y", villages=[a.west], township=a.west)
    assert not Project.objects.filter(code__in=["XM-X", "XM-Y"]).exists()  # one transaction: nothing half-written


def test_one_line_per_source_and_document(ledger):
    with pytest.raises(ValidationError):
        fund_line(actor=ledger.users.finance, project=ledger.road, allocated="1")  # same 文号 and source
    fund_line(actor=ledger.users.finance, project=ledger.road, source="county", allocated="1")


def test_stated_link_amounts_never_exceed_the_disbursement(ledger):
    admin = ledger.users.admin
    link(actor=admin, project=ledger.road, asset=ledger.asset, amount="12")
    second = make_asset(actor=admin, name="西南村道路二期", area=ledger.areas.west_south)
    with pytest.raises(ValidationError) as error:
        link(actor=admin, project=ledger.road, asset=second, amount="7")  # 12 + 7 > 18 disbursed
    assert "amount" in error.value.message_dict
    assert not ProjectAsset.objects.filter(asset=second).exists()
    link(actor=admin, project=ledger.road, asset=second, amount="6")
    relinked = link(actor=admin, project=ledger.road, asset=ledger.asset, amount="10")  # corrects the amount
    assert ProjectAsset.objects.filter(asset=ledger.asset).count() == 1 and relinked.amount == Decimal("10")


def test_who_may_link_an_asset(ledger):
    users = ledger.users
    link(actor=users.west_south, project=ledger.road, asset=ledger.asset)  # the asset's own village
    with pytest.raises(PermissionDenied):
        project_asset_link(actor=users.east_south, project=ledger.road, asset=ledger.asset)  # cannot see it
    with pytest.raises(PermissionDenied):
        project_asset_link(actor=users.finance, project=ledger.road, asset=ledger.asset)  # funds only


def test_ledger_records_are_never_deleted(ledger):
    line = fund_line(actor=ledger.users.finance, project=ledger.road, source="county", allocated="1")
    with pytest.raises(DeletionForbidden):
        line.delete()
    with pytest.raises(DeletionForbidden):
        ledger.road.delete()
    # the application's role has no DELETE privilege, and the owner meets the trigger
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM projects_fundline WHERE id = %s", [line.pk])
