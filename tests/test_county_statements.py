"""Issue 19, "beyond one server": the precondition for distributing the register by county is that every statement a
request runs on a county-bound table filters by one county or a list. Checked here for the everyday routes, as a
county administrator (the most widely scoped county body) — each statement that reads a county-bound table names
`county_code` in its WHERE clause — and as the prefecture's bureau, whose statements name its list of counties.
The routes not checked yet are listed in docs/scaling.md.

The same routes, with the export and the labels, read no boundary of an area they join to their rows — an asset's
village and township, a membership's county, a plan's village, an area's parent (geo_assets.querysets:
without_boundaries, with_areas, with_parent): a township's polygon came with each of its assets (a township's
export took 452 s instead of 43), and a county's with every page's header."""

import datetime
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo_assets.taxonomy import AssetType, PlanPurpose, PublicityScope, PublicityStage

# every table that carries the county code, but the histories and the memberships (who works where)
BOUND = tuple(sorted(
    m._meta.db_table for m in apps.get_models()
    if any(f.column == "county_code" for f in m._meta.concrete_fields)
    and not m._meta.db_table.split("_", 2)[-1].startswith("historical") and m._meta.model_name != "membership"))

ROUTES = [
    # the API, the map and its panels
    "/api/v1/assets/?format=json", "/api/v1/assets/{code}/", "/ogc/collections/assets/items?f=json",
    "/tiles/assets/12/3309/1633.mvt", "/api/v1/search/?q=甲", "/api/v1/areas/{village}/summary/",
    "/api/v1/areas/{township}/summary/", "/api/v1/map/projects/", "/villages/{village}/",
    # the asset page, its lifecycle page and steps, the to-do list
    "/assets/{code}/", "/assets/{code}/lifecycle/", "/assets/{code}/lifecycle/maintenance/",
    "/assets/{code}/lifecycle/handover/", "/assets/{code}/lifecycle/ownership-decide/",
    "/assets/{code}/lifecycle/contract/", "/todo/",
    # a village's plans and notices
    "/villages/{village}/plans/", "/villages/{village}/plans/{year}/", "/villages/{village}/plans/{year}/decide/",
    "/villages/{village}/annual/{year}/", "/villages/{village}/notices/", "/villages/{village}/notices/{notice}/",
    "/public/villages/{village}/",
    # reports, dashboard, alerts
    "/reports/villages/{village}/", "/reports/townships/{township}/", "/reports/county/",
    "/reports/villages/{village}.xlsx", "/reports/ledgers/villages/{village}/{year}/",
    "/dashboard/", "/dashboard/progress.geojson", "/alerts/", "/alerts.geojson", "/reconciliation/",
    # verification and projects
    "/verification/campaigns/", "/verification/campaigns/{campaign}/", "/verification/review/",
    "/verification/campaigns/{campaign}/progress.geojson", "/verification/problems/", "/field/",
    "/field/assets/{code}/", "/field/package/{village}.json", "/projects/",
]
# what the prefecture's bureau opens and reads the register on (it edits, reviews and verifies nothing)
# (its alert list builds alerts once it has chosen a county; before, it shows the tally's counts per county)
PREFECTURE_ROUTES = [r.replace("/alerts/", "/alerts/?county={county}").replace("alerts.geojson", "alerts.geojson?county={county}")
                     for r in ROUTES if not r.startswith(("/assets/{code}/lifecycle/", "/field/"))
                     and r not in ("/verification/review/", "/villages/{village}/plans/{year}/decide/",
                                   "/villages/{village}/annual/{year}/")]
PREFECTURE_ROUTES.insert(0, "/assets/{code}/lifecycle/")


def reads_bound(sql: str) -> bool:
    return any(f'"{table}"' in sql for table in BOUND)


def unbound(sql: str) -> bool:
    return reads_bound(sql) and "county_code" not in sql.partition(" WHERE ")[2]


@pytest.fixture
def lived(county_world):
    """County A's PV station through its lifecycle (custody, contract, income, a plan, a notice with an objection,
    a disposal requested), and a campaign of A: what the pages list, so that their per-record reads run too."""
    from lifecycle import services as life
    from tests.factories import make_asset
    from verification import services as verification_services

    w, today = county_world, timezone.localdate()
    admin, village = w.users["admin_a"], w.p.a.west_south
    pv = make_asset(actor=w.root, area=village, asset_type=AssetType.PV_STATION, name="甲村光伏电站")
    day = datetime.timedelta(days=1)
    life.handover_record(actor=admin, asset=pv, signed_on=today - 30 * day, handed_over_by="甲镇人民政府",
                         received_by="甲村村民委员会", custodian="甲保管员",
                         scan=("责任书.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"))
    life.ownership_submit(actor=admin, asset=pv)
    life.maintenance_record(actor=admin, asset=pv, done_on=today - 20 * day, kind="repair", cost=Decimal("0.3"),
                            done_by="甲保管员", description="更换逆变器")
    life.custodian_change(actor=admin, asset=pv, effective_on=today - 19 * day, unit="甲运维公司", person="甲负责人")
    life.welfare_post_record(actor=admin, asset=pv, holder="甲护林员", from_poor_household=True,
                             starts_on=today - 18 * day, monthly_pay=Decimal("500"))
    first = life.contract_record(actor=admin, asset=pv, operator="甲公司", number="HT-A-1",
                                 starts_on=today - 400 * day, ends_on=today - 40 * day, yearly_due=Decimal("3"),
                                 mechanism="收益归村集体")
    life.contract_record(actor=admin, asset=pv, operator="甲公司", number="HT-A-2", starts_on=today - 39 * day,
                         ends_on=today + 300 * day, yearly_due=Decimal("3"), mechanism="收益归村集体", renews=first)
    year = today.year - 1
    life.income_record(actor=admin, asset=pv, year=year, amount=Decimal("3"), received_on=today - 16 * day)
    plan = life.plan_draft(actor=admin, village=village, year=year,
                           items=[life.PlanLine(PlanPurpose.COLLECTIVE, Decimal("2"), asset=pv)])
    notice = life.notice_post(actor=admin, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                              area=village, starts_on=today, ends_on=today + 10 * day)
    life.objection_record(actor=admin, notice=notice, raised_by="甲村民", text="面积有误", raised_on=today)
    life.disposal_request(actor=admin, asset=pv, reason="end_of_life", note="已到年限")
    campaign = verification_services.campaign_create(actor=admin, name="甲县年度清查", kind="annual", year=today.year)
    return {"code": pv.code, "village": village.code, "township": w.p.a.west.code, "year": plan.year,
            "county": w.p.a.county.code,
            "notice": notice.pk, "campaign": campaign.pk}


def statements(user, route: str, values: dict, *, register: bool = True) -> list[str]:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(route.format(**values))
    assert response.status_code == 200, route
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not register or any(reads_bound(sql) for sql in sqls), f"{route}: no register read"
    return sqls


@pytest.mark.parametrize("route", ROUTES)
def test_the_statements_of_these_routes_filter_by_county(county_world, lived, route):
    sqls = statements(county_world.users["admin_a"], route, lived)
    assert [sql[:300] for sql in sqls if unbound(sql)] == []


@pytest.mark.parametrize("route", PREFECTURE_ROUTES)
def test_the_prefectures_statements_filter_by_its_counties(county_world, lived, route):
    from reports.services import alert_tally_refresh

    # the bureaus' alert counts come from the tally, counted for the whole register by its job (province-wide,
    # as docs/scaling.md plans for such aggregates), not by the request when it is fresh
    alert_tally_refresh()
    a, b = county_world.p.a.county.code, county_world.p.county_b.code
    sqls = [sql for sql in statements(county_world.users["prefecture"], route, lived) if reads_bound(sql)]
    assert [sql[:300] for sql in sqls if unbound(sql)] == []
    # bound by its list of counties, or by one county where the statement reads the records of one asset or area
    # (all of county A here)
    assert [sql[:300] for sql in sqls if f"IN ('{a}', '{b}')" not in (where := sql.partition(" WHERE ")[2])
            and f"'{a}'" not in where] == []


BOUNDARY_ROUTES = [*ROUTES, "/import/export/?format=csv&village={village}", "/verification/labels/?village={village}",
                   # the admin's lists that join areas
                   "/admin/geo_assets/asset/", "/admin/geo_assets/adminarea/", "/admin/verification/campaign/",
                   "/admin/projects/project/"]
AREA_GEOMETRY = re.compile(r'((?:"geo_assets_adminarea"|\bT\d+)\."geom(?:_web)?")')


def reads_joined_boundaries(sql: str) -> bool:
    """A statement whose select list holds the boundary of an area joined to its rows (a village, township or county
    of assets, memberships, notices, plans; an area's parent) — an area's own boundary read from its table is not."""
    select, _from, rest = sql.partition(" FROM ")
    joined = [m for m in AREA_GEOMETRY.findall(select) if not m.startswith('"')] if rest.startswith(
        '"geo_assets_adminarea"') else AREA_GEOMETRY.findall(select)
    return bool(joined)


@pytest.mark.parametrize("route", BOUNDARY_ROUTES)
def test_no_route_reads_the_boundary_of_an_area_it_joins(county_world, lived, route):
    sqls = statements(county_world.users["admin_a"], route, lived, register=False)
    assert any('"geo_assets_adminarea"' in sql for sql in sqls), f"{route}: no area read"
    assert [sql[:300] for sql in sqls if reads_joined_boundaries(sql)] == []


def test_the_boundary_check_sees_a_joined_area_and_not_an_areas_own(county_world):
    from geo_assets.models import AdminArea, Asset

    with CaptureQueriesContext(connection) as queries:
        list(Asset.objects.select_related("village", "township")[:1])
        list(Asset.objects.with_areas()[:1])
        list(AdminArea.objects.select_related("parent")[:1])
        list(AdminArea.objects.with_parent()[:1])  # its own boundary, not its parent's
    flagged = [reads_joined_boundaries(q["sql"]) for q in queries.captured_queries]
    assert flagged == [True, False, True, False]


def test_the_check_sees_a_statement_without_the_county(county_world):
    from geo_assets.models import Asset

    with CaptureQueriesContext(connection) as queries:
        list(Asset.objects.filter(pk=county_world.assets["road_a"].pk))
        list(Asset.objects.visible_to(county_world.users["admin_a"]))
    reads = [q["sql"] for q in queries.captured_queries if '"geo_assets_asset"' in q["sql"]]
    assert [unbound(sql) for sql in reads] == [True, False]


def test_the_county_bound_narrows_to_the_records_county_and_not_below(county_world):
    """The querysets' bound: a record's county keeps its own rows and drops another county's; a record not bound to
    a county (None, a one-county register granted before counties were recorded) bounds nothing."""
    from geo_assets.access import scope_for
    from geo_assets.models import Asset

    rows = Asset.objects.filter(pk__in=[county_world.assets["road_a"].pk, county_world.assets["road_b"].pk])
    road_a, road_b = rows.order_by("code")  # as read (the database writes the county)
    assert list(rows.of(road_a)) == [road_a]
    assert list(rows.of_area(county_world.p.village_b)) == [road_b]
    assert set(rows.for_scope(scope_for(county_world.users["prefecture"]))) == {road_a, road_b}
    assert list(rows.for_scope(scope_for(county_world.users["admin_b"]))) == [road_b]
    road_a.county_id = None
    assert set(rows.of(road_a)) == {road_a, road_b}
