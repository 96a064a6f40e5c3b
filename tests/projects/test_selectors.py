"""What each project put into each asset, and an asset's funding as it follows from its projects."""

from decimal import Decimal

from projects.selectors import asset_funding_derived, contributions, link_suggestions, links_of, project_summary
from tests.factories import fund_line, link, make_asset, project

D = Decimal


def test_an_asset_of_one_project_takes_its_own_investment(ledger):
    link(actor=ledger.users.admin, project=ledger.road, asset=ledger.asset)
    assert contributions(links_of(assets=[ledger.asset.pk])) == {(ledger.road.pk, ledger.asset.pk): D(12)}
    summary = project_summary(ledger.road)
    assert (summary.allocated, summary.disbursed, summary.formed, summary.asset_count) == (D(20), D(18), D(12), 1)
    assert summary.difference == D(6)


def test_an_asset_of_two_projects_is_apportioned_by_their_disbursements(ledger):
    admin = ledger.users.admin
    second = project(actor=admin, code="XM-2025-010", villages=[ledger.areas.west_south])
    fund_line(actor=admin, project=second, allocated="6", document_number="豫财〔2025〕10号")
    link(actor=admin, project=ledger.road, asset=ledger.asset)
    link(actor=admin, project=second, asset=ledger.asset)
    shares = contributions(links_of(assets=[ledger.asset.pk]))
    assert shares == {(ledger.road.pk, ledger.asset.pk): D(9), (second.pk, ledger.asset.pk): D(3)}  # 18 : 6


def test_a_stated_amount_is_kept_and_the_rest_apportioned(ledger):
    admin = ledger.users.admin
    second = project(actor=admin, code="XM-2025-011", villages=[ledger.areas.west_south])
    fund_line(actor=admin, project=second, allocated="6", document_number="豫财〔2025〕11号")
    link(actor=admin, project=second, asset=ledger.asset, amount="2")
    link(actor=admin, project=ledger.road, asset=ledger.asset)
    shares = contributions(links_of(assets=[ledger.asset.pk]))
    assert shares[(second.pk, ledger.asset.pk)] == D(2) and shares[(ledger.road.pk, ledger.asset.pk)] == D(10)


def test_derived_funding_follows_the_projects_sources_and_never_exceeds_the_disbursement(ledger):
    admin = ledger.users.admin
    fund_line(actor=admin, project=ledger.road, source="county", allocated="6", disbursed="6",
                   document_number="县财〔2025〕2号")  # road: 18 central + 6 county disbursed
    big = make_asset(actor=admin, name="西南村大桥", area=ledger.areas.west_south,
                     funding=(("central", D("40")),))
    link(actor=admin, project=ledger.road, asset=big)
    funding = dict(asset_funding_derived(big))
    assert funding == {"central": D(18), "county": D(6)}  # capped at the 24 disbursed, split 3 : 1
    assert sum(funding.values()) <= D(24)


def test_suggestions_prefer_the_same_village_year_and_name(ledger):
    admin = ledger.users.admin
    project(actor=admin, code="XM-2025-020", name="西南村道路硬化", villages=[ledger.areas.west_south])
    project(actor=admin, code="XM-2025-021", name="东南村道路", villages=[ledger.areas.east_south])
    project(actor=admin, code="XM-2019-001", name="西南村道路", year=2019, villages=[ledger.areas.west_south])
    codes = [p.code for p, _score in link_suggestions(ledger.asset, user=admin)]
    assert codes[0] == "XM-2025-020"
    assert "XM-2025-021" not in codes and "XM-2019-001" not in codes  # another village; six years apart
