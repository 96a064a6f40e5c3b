"""Issue 19, "beyond one server": the precondition for distributing the register by county is that every statement a
request runs on a county-bound table filters by one county or a list. Checked here for the routes where it already
holds, as a county administrator (the most widely scoped county body): each statement that reads a county-bound table
names `county_code` in its WHERE clause. The other everyday pages do not hold yet (docs/scaling.md)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

BOUND = ("geo_assets_asset", "verification_verification", "geo_assets_maintenanceentry", "projects_project",
         "verification_campaign", "geo_assets_incomerecord", "geo_assets_disposal", "geo_assets_publicitynotice",
         "geo_assets_distributionplan", "geo_assets_operationcontract")


def unbound(sql: str) -> bool:
    reads = any(f'"{table}"' in sql for table in BOUND)
    return reads and "county_code" not in sql.partition(" WHERE ")[2]


@pytest.mark.parametrize("route", ["/api/v1/assets/?format=json", "/api/v1/assets/{code}/", "/projects/",
                                   "/ogc/collections/assets/items?f=json", "/tiles/assets/12/3309/1633.mvt",
                                   "/api/v1/search/?q=甲"])
def test_the_statements_of_these_routes_filter_by_county(county_world, route):
    client = Client()
    client.force_login(county_world.users["admin_a"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(route.format(code=county_world.assets["road_a"].code))
    assert response.status_code == 200
    assert any(any(f'"{t}"' in q["sql"] for t in BOUND) for q in queries.captured_queries), "no register read"
    assert [q["sql"][:200] for q in queries.captured_queries if unbound(q["sql"])] == []


def test_the_check_sees_a_statement_without_the_county(county_world):
    from geo_assets.models import Asset

    with CaptureQueriesContext(connection) as queries:
        list(Asset.objects.filter(pk=county_world.assets["road_a"].pk))
        list(Asset.objects.visible_to(county_world.users["admin_a"]))
    reads = [q["sql"] for q in queries.captured_queries if '"geo_assets_asset"' in q["sql"]]
    assert [unbound(sql) for sql in reads] == [True, False]
