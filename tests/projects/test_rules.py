"""The work plan's scope rules for projects and funds: each with a case it holds for and one it does not."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from projects import rules
from projects.taxonomy import ProjectKind

D = Decimal


def project(year=2025, kind=ProjectKind.INFRASTRUCTURE):
    return SimpleNamespace(year=year, kind=kind)


def test_funds_since_the_first_year_are_in_scope_and_earlier_ones_are_traced():
    assert rules.in_scope(project(2024), first_year=2024)
    assert not rules.is_traced(project(2024), first_year=2024)
    assert not rules.in_scope(project(2023), first_year=2024)
    assert rules.is_traced(project(2023), first_year=2024)


def test_relocation_is_excluded_in_any_year():
    assert rules.is_excluded(project(kind=ProjectKind.RELOCATION))
    assert not rules.in_scope(project(2025, ProjectKind.RELOCATION), first_year=2024)
    assert not rules.is_traced(project(2020, ProjectKind.RELOCATION), first_year=2024)
    assert not rules.is_excluded(project(kind=ProjectKind.PV))


@pytest.mark.parametrize("kind", [ProjectKind.INTEREST_SUBSIDY, ProjectKind.INSURANCE, ProjectKind.GUARANTEE,
                                  ProjectKind.DIRECT_SUBSIDY])
def test_subsidies_insurance_and_guarantees_form_no_asset(kind):
    assert rules.forms_no_asset(project(kind=kind))


@pytest.mark.parametrize("kind", [ProjectKind.INFRASTRUCTURE, ProjectKind.HOUSEHOLD, ProjectKind.EQUITY,
                                  ProjectKind.RELOCATION])
def test_projects_that_build_or_buy_form_assets(kind):
    assert not rules.forms_no_asset(project(kind=kind))


def test_tolerance_is_the_larger_of_the_percentage_and_the_amount():
    assert rules.tolerance(D(100), percent=D(5), amount=D("0.5")) == D(5)
    assert rules.tolerance(D(4), percent=D(5), amount=D("0.5")) == D("0.5")


def test_partly_formed_above_the_tolerance_only():
    args = {"percent": D(5), "amount": D("0.5")}
    assert rules.partly_formed(disbursed=D(100), formed=D(90), **args)
    assert not rules.partly_formed(disbursed=D(100), formed=D(96), **args)
    assert not rules.partly_formed(disbursed=D(100), formed=D(0), **args)  # nothing formed: another finding


def test_formed_beyond_the_disbursement_above_the_tolerance_only():
    args = {"percent": D(5), "amount": D("0.5")}
    assert rules.formed_beyond(disbursed=D(100), formed=D(106), **args)
    assert not rules.formed_beyond(disbursed=D(100), formed=D(104), **args)


def test_apportion_sums_exactly_to_the_total_and_skips_empty_weights():
    parts = rules.apportion(D(10), {"a": D(1), "b": D(1), "c": D(1), "d": D(0)})
    assert set(parts) == {"a", "b", "c"}
    assert sum(parts.values()) == D(10)
    assert parts["a"] == D("3.3333")
    assert rules.apportion(D(10), {"a": D(0)}) == {}
