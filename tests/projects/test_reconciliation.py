"""projects.reconciliation (账账相符): each finding kind with a positive and a negative case, the totals against an
independent SQL aggregation written by hand over the tables, the viewer's scope, the filters and the cost."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from geo_assets.taxonomy import AssetType, Role
from projects import reconciliation as rc
from projects.models import LedgerPolicy
from tests.factories import fund_line, link, make_asset, make_department, make_user, project
from tests.projects import independent

D = Decimal
NUMBERS = itertools.count(1)


def new_project(actor, **fields):
    """A project through the factory, numbered; accepted on 1 December of its year when accepted."""
    fields.setdefault("code", f"XM-T-{next(NUMBERS):04d}")
    fields.setdefault("year", 2024)
    if fields.get("status") == "accepted":
        fields.setdefault("accepted_on", datetime.date(fields["year"], 12, 1))
    return project(actor=actor, **fields)


def new_line(actor, p, **fields):
    """A fund line with a document number unless given (central, all disbursed)."""
    fields.setdefault("document_number", f"栾财预〔{p.year}〕{next(NUMBERS)}号")
    return fund_line(actor=actor, project=p, **fields)


def found(rec, kind: str) -> set[str]:
    """The findings of a kind: project codes, or asset codes for findings about an asset alone."""
    return {i.project.code if i.project and KIND_SUBJECT[kind] != "asset" else ",".join(a.code for a in i.assets)
            for i in rec.findings[kind]}


KIND_SUBJECT = {code: kind.subject for code, kind in rc.KINDS.items()}


def code(world, key) -> str:
    return world.assets[key].code


# ---------------------------------------------------------------- every kind, positive and negative


def test_accepted_without_assets(ledger_world):
    rec = rc.reconcile(ledger_world.users["county_admin"])
    # positive: accepted, forms assets, nothing linked; negatives: explained (insurance), traced (2022), excluded
    # (relocation), accepted with its asset (road), not accepted and nothing formed (p_corrected: a link stating 0)
    assert found(rec, "accepted_without_assets") == {"LC-2024-002"}
    item = rec.findings["accepted_without_assets"][0]
    assert item.amount == D("50") and "2024-12-01" in item.text


def test_asset_without_project(ledger_world):
    rec = rc.reconcile(ledger_world.users["county_admin"])
    w = ledger_world
    # positive: built 2025, of unknown year, and one whose only link states 0 (corrected); negatives: built before
    # 2024 (traced where possible), disposed, linked
    assert found(rec, "asset_without_project") == {code(w, "orphan_ws"), code(w, "orphan_unknown"),
                                                   code(w, "clinic_en")}
    unknown = next(i for i in rec.findings["asset_without_project"] if i.assets[0].code == code(w, "orphan_unknown"))
    assert unknown.assets[0].year_built is None and unknown.amount == D("6")


def test_asset_exceeds_disbursement(ledger_world):
    rec = rc.reconcile(ledger_world.users["county_admin"])
    # positive: the water works (50) against 30 disbursed; negatives: the road shared by two projects (30 stated + 20
    # apportioned = what they disbursed), the square (97 of 100), the household asset (3 of 3)
    assert found(rec, "asset_exceeds_disbursement") == {"LC-2024-004"}
    item = rec.findings["asset_exceeds_disbursement"][0]
    assert item.amount == D("20") and [a.code for a in item.assets] == [code(ledger_world, "water_es")]


def test_partly_formed(ledger_world):
    rec = rc.reconcile(ledger_world.users["county_admin"])
    # positive: 80 disbursed, 40 formed; negatives: the square (3 short, within max(5 % × 100, 0.5)), a project that
    # formed nothing (p_no_assets: the accepted-without-assets finding instead), the insurance (explained)
    assert found(rec, "partly_formed") == {"LC-2025-003"}
    assert rec.findings["partly_formed"][0].amount == D("40")


def test_fund_line_without_document(ledger_world):
    rec = rc.reconcile(ledger_world.users["county_admin"])
    assert found(rec, "fund_line_without_document") == {"LC-2025-005"}
    line = rec.findings["fund_line_without_document"][0].fund_line
    assert (line.source, line.year, line.disbursed) == ("central", 2025, D("10"))


def test_undocumented_line_of_a_traced_or_excluded_project_is_no_finding(areas, admin_user):
    traced, excluded = new_project(admin_user, year=2020), new_project(admin_user, kind="relocation")
    new_line(admin_user, traced, document_number="", year=2020)
    new_line(admin_user, excluded, document_number="")
    rec = rc.reconcile(admin_user)
    assert rec.findings["fund_line_without_document"] == []
    assert rec.totals[rc.TRACED].disbursed == rec.totals[rc.EXCLUDED].disbursed == D("100")


def test_an_asset_of_several_projects_exceeding_what_they_disbursed_together(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, funding=(("central", D("100")),), year_built=2024)
    a, b = new_project(admin_user), new_project(admin_user)
    new_line(admin_user, a, allocated="30")
    new_line(admin_user, b, allocated="20")
    link(actor=admin_user, project=a, asset=asset)
    link(actor=admin_user, project=b, asset=asset)
    items = [i for i in rc.reconcile(admin_user).findings["asset_exceeds_disbursement"] if i.values.get("projects")]
    assert [(i.assets[0].code, i.amount) for i in items] == [(asset.code, D("50"))]
    # negative: the same asset with 50 invested (what the two disbursed)
    asset.__class__.objects.filter(pk=asset.pk).update(total_investment=D("50"))
    assert rc.reconcile(admin_user).findings["asset_exceeds_disbursement"] == []


def test_the_county_sets_the_tolerance_and_the_first_year(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, funding=(("central", D("93")),), year_built=2024)
    p = new_project(admin_user, status="accepted")
    new_line(admin_user, p, allocated="100")
    link(actor=admin_user, project=p, asset=asset)
    lonely = new_project(admin_user, status="accepted")
    new_line(admin_user, lonely, allocated="5")
    rec = rc.reconcile(admin_user)
    assert found(rec, "partly_formed") == {p.code}  # 7 short, above max(5, 0.5)
    assert found(rec, "accepted_without_assets") == {lonely.code}
    LedgerPolicy.objects.create(tolerance_percent=D("10"), tolerance_amount=D("0.5"), first_year=2025)
    rec = rc.reconcile(admin_user)
    assert rec.findings["partly_formed"] == [] and rec.findings["accepted_without_assets"] == []
    assert {x.klass for x in rec.projects} == {rc.TRACED}  # 2024 is before the county's first year now
    assert rec.findings["asset_without_project"] == []


def test_explained_spending_and_money_without_a_ledger(areas, admin_user):
    """A kind that forms no asset leaves nothing to explain; assets a project formed without any fund line are under
    "no fund line" and exceed its (zero) disbursement."""
    subsidy = new_project(admin_user, kind="interest_subsidy", status="accepted")
    new_line(admin_user, subsidy, allocated="12")
    bare = new_project(admin_user)
    link(actor=admin_user, project=bare, asset=make_asset(actor=admin_user, area=areas.east_south,
                                                          funding=(("county", D("4")),), year_built=2024))
    rec = rc.reconcile(admin_user)
    line = next(p for p in rec.projects if p.code == subsidy.code)
    assert (line.whole.no_asset, line.whole.difference, line.findings) == (D("12"), D("0"), [])
    group = next(g for g in rec.groups if g.source == rc.NO_SOURCE)
    assert (group.figures.formed, group.figures.asset_count, group.source_label) == (D("4"), 1, "无资金台账")
    assert found(rec, "asset_exceeds_disbursement") == {bare.code}


# ---------------------------------------------------------------- the figures against SQL written by hand


def test_figures_against_an_independent_sql_aggregation(ledger_world):
    rec = rc.reconcile(ledger_world.users["county_admin"])
    expected = independent.check(rec)  # every figure and finding, tests/projects/independent.py
    assert expected["shared_asset_exceeds"] == set()  # (tested on its own above)
    assert all(rec.findings.values())  # the data set has every kind of finding
    assert all(rec.totals[k].projects for k in rc.CLASSES)  # and every class
    assert rec.totals[rc.IN_SCOPE].formed == D("370") and rec.totals[rc.IN_SCOPE].difference == D("88")


# ---------------------------------------------------------------- who sees what


def test_each_role_reconciles_its_own_scope(ledger_world):
    w = ledger_world
    every = {p.code for p in rc.reconcile(w.users["county_admin"]).projects}
    assert len(every) == 13
    for role in ("finance", "inspector"):
        assert {p.code for p in rc.reconcile(w.users[role]).projects} == every
    west = rc.reconcile(w.users["township"])
    assert {p.code for p in west.projects} == {"LC-2024-001", "LC-2024-002", "LC-2025-003", "LC-2024-007",
                                               "LC-2025-009", "LC-2025-010", "LC-2024-011", "LC-2024-013"}
    assert found(west, "asset_without_project") == {code(w, "orphan_ws")}  # not the east's unlinked assets
    assert found(west, "asset_exceeds_disbursement") == set() and found(west, "fund_line_without_document") == set()
    village = rc.reconcile(w.users["village"])
    assert {p.code for p in village.projects} == {"LC-2024-001", "LC-2025-003", "LC-2025-009", "LC-2024-011",
                                                  "LC-2024-013"}
    department = rc.reconcile(w.users["department"])  # the roads department: its projects, road assets only
    assert {p.code for p in department.projects} == {"LC-2024-001", "LC-2024-002", "LC-2025-005", "LC-2022-008",
                                                     "LC-2025-009", "LC-2025-010"}
    assert found(department, "asset_without_project") == {code(w, "orphan_ws")}
    nobody = rc.reconcile(w.users["anonymous"])
    assert nobody.projects == [] and nobody.unlinked == [] and nobody.finding_count == 0


def test_an_asset_outside_the_viewers_scope_is_counted_never_named(areas, admin_user):
    roads = make_user("roads", Role.DEPARTMENT, department=make_department("交通运输局", [AssetType.ROAD]))
    p = new_project(admin_user, department=roads.memberships.get().department, status="accepted")
    new_line(admin_user, p, allocated="10")
    clinic = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.HEALTH, name="卫生室",
                        funding=(("central", D("30")),), year_built=2024)
    link(actor=admin_user, project=p, asset=clinic)
    rec = rc.reconcile(roads)
    line = rec.projects[0]
    assert (line.whole.formed, line.whole.asset_count) == (D("30"), 1)
    item = rec.findings["asset_exceeds_disbursement"][0]
    assert item.assets == () and clinic.code not in str(rc.as_json(rec))


# ---------------------------------------------------------------- filters


def test_filters_narrow_the_projects_and_split_by_source(ledger_world):
    w = ledger_world
    admin = w.users["county_admin"]
    by_year = rc.reconcile(admin, rc.Filters(year=2025))
    assert {p.year for p in by_year.projects} == {2025}
    county = rc.reconcile(admin, rc.Filters(source="county"))
    assert {p.code for p in county.projects} == {"LC-2024-001", "LC-2025-010"}
    road = next(p for p in county.projects if p.code == "LC-2024-001")
    # the road's 120 formed split 100 : 20 by what each source disbursed; the findings still judge the whole project
    assert (road.shown.disbursed, road.shown.formed, road.whole.formed) == (D("20"), D("20"), D("120"))
    assert {g.source for g in county.groups} == {"county"}
    east = rc.reconcile(admin, rc.Filters(township=w.areas.east))
    assert {p.township for p in east.projects} == {"东镇"}
    assert found(east, "asset_without_project") == {code(w, "orphan_unknown"), code(w, "clinic_en")}
    water = rc.reconcile(admin, rc.Filters(department=w.departments["water"]))
    assert {p.code for p in water.projects} == {"LC-2024-004"}
    assert found(water, "asset_without_project") == {code(w, "orphan_unknown")}


def test_filters_are_read_by_code_or_name_and_refused_clearly(ledger_world):
    w = ledger_world
    filters = rc.filters_parse({"year": "2024", "source": "财政专项扶贫资金（县级）", "department": "水利局",
                                "township": "西镇"})
    assert (filters.year, filters.source, filters.department, filters.township) == (
        2024, "county", w.departments["water"], w.areas.west)
    assert rc.filters_parse({"source": "中央", "department": str(w.departments["water"].pk),
                             "township": w.areas.east.code}).township == w.areas.east
    assert rc.filters_parse({"year": "", "source": " "}) == rc.Filters()
    with pytest.raises(ValidationError) as refused:
        rc.filters_parse({"year": "20x4", "source": "外星", "department": "无此局", "township": "410324999000"})
    errors = refused.value.message_dict
    assert set(errors) == {"year", "source", "department", "township"}
    assert "central" in errors["source"][0] and "水利局" in errors["department"][0] and "西镇" in errors["township"][0]


# ---------------------------------------------------------------- cost and the dashboard's figures


def test_a_fixed_number_of_statements_whatever_the_number_of_projects(areas, admin_user,
                                                                      django_assert_max_num_queries):
    def grow(n):
        for _ in range(n):
            p = new_project(admin_user, villages=[areas.west_south])
            new_line(admin_user, p, allocated="10")
            new_line(admin_user, p, source="county", allocated="2", document_number="")
            asset = make_asset(actor=admin_user, area=areas.west_south, funding=(("central", D("11")),),
                               year_built=2024)
            link(actor=admin_user, project=p, asset=asset)

    grow(3)
    with django_assert_max_num_queries(12) as small:
        rc.reconcile(admin_user)
    grow(12)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        rec = rc.reconcile(admin_user)
    assert len(rec.projects) == 15 and len(large.captured_queries) == len(small.captured_queries)


def test_funds_accounted_by_area(ledger_world):
    w = ledger_world
    accounted = rc.funds_accounted(w.users["county_admin"])
    # in scope 463 disbursed; accounted: formed up to each project's disbursement, and the insurance explained
    assert accounted.county == [D("463"), D("355")]
    assert accounted.townships[w.areas.west.pk] == [D("403"), D("310")]  # the shared road counts for the township
    assert accounted.villages[w.areas.west_south.pk] == [D("303"), D("260")]  # projects serving it alone
    assert rc.Accounted.rate(accounted.county) == 76.7 and rc.Accounted.rate([D(0), D(0)]) is None


def test_funding_by_asset_follows_the_projects(ledger_world):
    w = ledger_world
    from geo_assets.models import Asset

    funds = rc.funding_by_asset(Asset.objects.filter(pk__in=[w.assets[k].pk for k in (
        "road_ws", "road_shared", "water_es", "orphan_ws")]))
    assert funds[w.assets["road_ws"].pk] == {"central": D("100"), "county": D("20")}
    assert funds[w.assets["road_shared"].pk] == {"central": D("30"), "county": D("20")}
    assert funds[w.assets["water_es"].pk] == {"central": D("30")}  # never more than the project disbursed
    assert funds[w.assets["orphan_ws"].pk] == {"central": D("8")}  # no project: its own funding lines
